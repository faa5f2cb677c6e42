// PUT and GET /v1/media/ID/content, GET /v1/media/ID/thumbnail (docs/protocol.md, "Uploading
// and downloading with the local backend"): the signature check of a local URL.
#include "chat/media_files.hpp"

#include <charconv>

#include "core/clock.hpp"
#include "media/names.hpp"
#include "media/sniff.hpp"

namespace parley::chat {
namespace {

constexpr std::string_view kPrefix = "/v1/media/";

struct MediaPath {
  std::string_view id;
  media::MediaVariant variant = media::MediaVariant::original;
};

// "/v1/media/ID/content" or "/v1/media/ID/thumbnail"; nullopt for anything else.
std::optional<MediaPath> parse_path(std::string_view path) {
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  MediaPath out;
  out.id = path.substr(0, slash);
  const std::string_view rest = path.substr(slash + 1);
  if (rest == "content")
    out.variant = media::MediaVariant::original;
  else if (rest == "thumbnail")
    out.variant = media::MediaVariant::thumbnail;
  else
    return std::nullopt;
  return out;
}

std::optional<std::int64_t> decimal(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

const std::string* query_value(const gateway::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.query)
    if (key == name) return &value;  // the first one counts (8.1)
  return nullptr;
}

gateway::MediaGrant refused(int status, const char* code, std::string message) {
  gateway::MediaGrant grant;
  grant.status = status;
  grant.error_code = code;
  grant.error_message = std::move(message);
  return grant;
}

}  // namespace

MediaFiles::MediaFiles(const Config& config, const media::MediaUrls& urls) : urls_(urls), dir_(config.media_dir()) {}

bool MediaFiles::is_media_path(std::string_view path) const {
  if (!path.starts_with(kPrefix)) return false;
  return path.ends_with("/content") || path.ends_with("/thumbnail");
}

gateway::MediaGrant MediaFiles::authorize(const gateway::HttpRequest& request) const {
  const auto parsed = parse_path(request.path);
  if (!parsed || !media::is_media_id(parsed->id)) return refused(404, "not_found", "no such media file");
  const bool upload = request.method == "PUT";
  if (!upload && request.method != "GET" && request.method != "HEAD")
    return refused(405, "bad_request", "method not allowed");
  if (upload && parsed->variant != media::MediaVariant::original)
    return refused(405, "bad_request", "method not allowed");
  const std::string* expires = query_value(request, "expires");
  const std::string* signature = query_value(request, "sig");
  const std::string* size_text = query_value(request, "size");
  if (!expires || !signature || (upload && !size_text))
    return refused(403, "forbidden", "this URL is not signed (see media.upload and media.url)");
  const auto expires_at = decimal(*expires);
  const auto size = upload ? decimal(*size_text) : std::optional<std::int64_t>(-1);
  if (!expires_at || !size) return refused(403, "forbidden", "this URL's signature does not match");
  const auto check = urls_.verify_local(upload ? media::SignedMethod::put : media::SignedMethod::get, parsed->id,
                                        parsed->variant, *expires_at, *size, *signature, wall_clock_ms() / 1000);
  if (check == media::UrlCheck::bad_signature) return refused(403, "forbidden", "this URL's signature does not match");
  if (check == media::UrlCheck::expired) return refused(403, "expired", "this URL has expired; ask for a new one");
  gateway::MediaGrant grant;
  grant.path = *dir_.path_of(parsed->id, parsed->variant);
  if (upload) {
    grant.part_path = *dir_.upload_path(parsed->id);
    grant.declared_size = *size;
  }
  return grant;
}

std::string MediaFiles::content_type_of(const std::string& path) const {
  auto type = media::sniff_file(path);
  return type ? *type : std::string("application/octet-stream");
}

bool MediaFiles::is_inline_type(std::string_view content_type) const { return media::is_inline_type(content_type); }

gateway::ByteRange MediaFiles::range_of(std::string_view header, std::int64_t size) const {
  const media::RangeRequest range = media::parse_range(header, size);
  gateway::ByteRange out;
  out.first = range.first;
  out.last = range.last;
  if (range.kind == media::RangeRequest::Kind::partial) out.kind = gateway::ByteRange::Kind::partial;
  if (range.kind == media::RangeRequest::Kind::unsatisfiable) out.kind = gateway::ByteRange::Kind::unsatisfiable;
  return out;
}

}  // namespace parley::chat
