#include "media/local_files.hpp"

#include <charconv>

#include "media/names.hpp"

namespace parley::media {

LocalMediaDir::LocalMediaDir(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::optional<std::string> LocalMediaDir::path_of(std::string_view id, MediaVariant variant) const {
  if (!is_media_id(id)) return std::nullopt;
  std::string path = root_ + "/" + std::string(id.substr(0, 2)) + "/" + std::string(id);
  if (variant == MediaVariant::thumbnail) path += ".thumb.jpg";
  return path;
}

std::optional<std::string> LocalMediaDir::upload_path(std::string_view id) const {
  if (!is_media_id(id)) return std::nullopt;
  return scratch_dir() + "/" + std::string(id) + ".part";
}

std::string LocalMediaDir::scratch_dir() const { return root_ + "/tmp"; }

namespace {

// A non-negative decimal of at most 18 digits (so no overflow), or nullopt.
std::optional<std::int64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::int64_t size) {
  using Kind = RangeRequest::Kind;
  RangeRequest whole;
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return whole;
  std::string_view spec = header.substr(kUnit.size());
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: served whole
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
  RangeRequest out;
  out.kind = Kind::partial;
  if (first_text.empty()) {  // "-N": the last N bytes
    const auto suffix = decimal(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) return RangeRequest{Kind::unsatisfiable, 0, 0};
    out.first = *suffix >= size ? 0 : size - *suffix;
    out.last = size - 1;
    return out;
  }
  const auto first = decimal(first_text);
  if (!first) return whole;
  std::int64_t last = size - 1;
  if (!last_text.empty()) {
    const auto parsed = decimal(last_text);
    if (!parsed || *parsed < *first) return whole;
    last = std::min(*parsed, size - 1);
  }
  if (*first >= size) return RangeRequest{Kind::unsatisfiable, 0, 0};
  out.first = *first;
  out.last = last;
  return out;
}

}  // namespace parley::media
