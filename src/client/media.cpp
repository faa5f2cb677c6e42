#include "client/media.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "client/media_json.hpp"

namespace parley::client {

std::string guess_content_type(std::string_view file_name) {
  // What clients commonly send; the server describes the file by its bytes in the end.
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},      {"png", "image/png"},
      {"gif", "image/gif"},         {"webp", "image/webp"},      {"heic", "image/heic"},
      {"svg", "image/svg+xml"},     {"bmp", "image/bmp"},        {"tif", "image/tiff"},
      {"tiff", "image/tiff"},       {"mp4", "video/mp4"},        {"m4v", "video/mp4"},
      {"mov", "video/quicktime"},   {"webm", "video/webm"},      {"mkv", "video/x-matroska"},
      {"mp3", "audio/mpeg"},        {"m4a", "audio/mp4"},        {"ogg", "audio/ogg"},
      {"opus", "audio/ogg"},        {"wav", "audio/wav"},        {"flac", "audio/flac"},
      {"txt", "text/plain"},        {"log", "text/plain"},       {"md", "text/markdown"},
      {"csv", "text/csv"},          {"html", "text/html"},       {"htm", "text/html"},
      {"json", "application/json"}, {"pdf", "application/pdf"},  {"zip", "application/zip"},
      {"gz", "application/gzip"},   {"tar", "application/x-tar"}, {"7z", "application/x-7z-compressed"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
  };
  const std::string name = base_name(file_name);
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "application/octet-stream";
  std::string extension = name.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [known, type] : kTypes)
    if (known == extension) return std::string(type);
  return "application/octet-stream";
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::optional<FileDigest> digest_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    error = path + " is not a regular file";
    return std::nullopt;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    error = "SHA-256 is not available";
    return std::nullopt;
  }
  FileDigest digest;
  std::vector<char> piece(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    EVP_DigestUpdate(context.get(), piece.data(), static_cast<std::size_t>(n));
    digest.size += static_cast<std::uint64_t>(n);
  }
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), hash, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    digest.sha256.push_back(kHex[hash[i] >> 4]);
    digest.sha256.push_back(kHex[hash[i] & 15]);
  }
  return digest;
}

Media parse_media(simdjson::dom::element object) {
  Media media;
  media.id = text_of(object, "id");
  media.file_name = text_of(object, "file_name");
  media.size = int_of(object, "size");
  media.content_type = text_of(object, "content_type");
  media.width = int_of(object, "width");
  media.height = int_of(object, "height");
  bool thumbnail = false;
  media.thumbnail = object["thumbnail"].get_bool().get(thumbnail) == simdjson::SUCCESS && thumbnail;
  media.preview = text_of(object, "preview");
  return media;
}

std::vector<Media> parse_attachments(simdjson::dom::element event) {
  std::vector<Media> attachments;
  simdjson::dom::array array;
  if (event["attachments"].get_array().get(array) != simdjson::SUCCESS) return attachments;
  for (simdjson::dom::element entry : array) attachments.push_back(parse_media(entry));
  return attachments;
}

MediaUrls parse_media_urls(simdjson::dom::element reply) {
  MediaUrls urls;
  simdjson::dom::array array;
  if (reply["media"].get_array().get(array) == simdjson::SUCCESS)
    for (simdjson::dom::element entry : array)
      urls.media.push_back(MediaUrl{text_of(entry, "id"), text_of(entry, "url"), text_of(entry, "thumbnail_url")});
  if (reply["missing"].get_array().get(array) == simdjson::SUCCESS)
    for (simdjson::dom::element entry : array) {
      std::string_view id;
      if (entry.get_string().get(id) == simdjson::SUCCESS) urls.missing.emplace_back(id);
    }
  urls.url_expires_at = int_of(reply, "url_expires_at");
  return urls;
}

std::optional<TransferUrl> resolve_media_url(const std::string& base_url, const std::string& url) {
  if (!url.empty() && url.front() == '/') {
    std::string base = base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return parse_transfer_url(base + url);
  }
  return parse_transfer_url(url);
}

}  // namespace parley::client
