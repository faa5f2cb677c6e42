#include "media/sniff.hpp"

#include <magic.h>

#include <array>
#include <fstream>
#include <memory>

namespace parley::media {
namespace {

struct MagicCloser {
  void operator()(magic_t handle) const { magic_close(handle); }
};
using MagicHandle = std::unique_ptr<std::remove_pointer_t<magic_t>, MagicCloser>;

// One handle per thread: a magic_t is not safe to share. Loaded on first use (the compiled
// database is mapped, not parsed). Compressed files are not looked into: the type is the
// container's.
magic_t thread_magic() {
  thread_local MagicHandle handle = [] {
    MagicHandle h(magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_ERROR));
    if (h && magic_load(h.get(), nullptr) != 0) h.reset();
    return h;
  }();
  return handle.get();
}

constexpr std::array<std::string_view, 4> kThumbnailTypes = {"image/jpeg", "image/png", "image/webp", "image/gif"};

constexpr std::array<std::string_view, 18> kInlineTypes = {
    "image/jpeg", "image/png",  "image/webp",  "image/gif",   "video/mp4",   "video/webm",
    "video/ogg",  "video/quicktime", "audio/mpeg", "audio/ogg", "audio/wav", "audio/x-wav",
    "audio/webm", "audio/mp4",  "audio/flac",  "audio/x-flac", "audio/aac", "audio/x-m4a"};

std::string_view major_type(std::string_view mime) { return mime.substr(0, mime.find('/')); }

}  // namespace

Result<std::string> sniff_bytes(std::string_view bytes) {
  magic_t magic = thread_magic();
  if (!magic) return make_error(ErrorCode::internal, "libmagic could not load its database");
  if (bytes.empty()) return std::string("application/x-empty");
  const char* type = magic_buffer(magic, bytes.data(), bytes.size());
  if (!type) return std::string("application/octet-stream");
  return std::string(type);
}

Result<std::string> sniff_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "cannot open " + path);
  std::string head(kSniffBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return sniff_bytes(head);
}

bool is_inline_type(std::string_view mime_type) {
  for (auto t : kInlineTypes)
    if (t == mime_type) return true;
  return false;
}

bool is_thumbnail_type(std::string_view mime_type) {
  for (auto t : kThumbnailTypes)
    if (t == mime_type) return true;
  return false;
}

Status check_declared_type(std::string_view declared, std::string_view sniffed) {
  // Only a type that would be shown inline is a promise worth checking: anything else is
  // served as a download of whatever the bytes are.
  if (!is_inline_type(declared)) return Ok{};
  if (major_type(sniffed) == major_type(declared) && is_inline_type(sniffed)) return Ok{};
  return field_error(ErrorCode::invalid_field, "content_type",
                     "declared " + std::string(declared) + " but the bytes are " + std::string(sniffed));
}

}  // namespace parley::media
