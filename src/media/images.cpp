#include "media/images.hpp"

#include <charconv>
#include <string_view>
#include <vector>

#include "media/subprocess.hpp"

namespace parley::media {
namespace {

// The JPEG a thumbnail may be at most (a 320 px JPEG is tens of KiB; a stdout beyond this
// is a misbehaving child).
constexpr std::size_t kMaxThumbnailBytes = 4 << 20;

bool safe_path(const std::string& path) {
  return !path.empty() && path.front() == '/' && path.find('[') == std::string::npos;
}

// "key: value" lines of `vipsheader -a`.
std::string_view header_field(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    if (line.size() > key.size() + 1 && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      return line;
    }
    at = end + 1;
  }
  return {};
}

bool parse_positive(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

std::string first_line(const std::string& text) { return text.substr(0, std::min(text.find('\n'), std::size_t{300})); }

}  // namespace

ImageTools::ImageTools(ImageLimits limits) : limits_(std::move(limits)) {}

namespace {

// The child's whole environment: libvips refuses its loaders marked untrusted (ImageMagick,
// PDF, SVG, MATLAB, FITS, ...) whatever the bytes claim to be, uses one thread, and spills to
// the scratch directory.
std::vector<std::string> child_env(const ImageLimits& limits) {
  const std::string scratch = limits.scratch_dir.empty() ? std::string("/tmp") : limits.scratch_dir;
  // VIPSHOME names a prefix without libvips' loadable modules (HEIF, JPEG XL, ImageMagick,
  // OpenSlide, Poppler): the formats thumbnailed here are built into libvips, and loading
  // those libraries cost about a third of each child's start-up and exposed their decoders.
  return {"VIPS_BLOCK_UNTRUSTED=1", "VIPS_CONCURRENCY=1", "LC_ALL=C", "TMPDIR=" + scratch,
          "VIPSHOME=" + scratch + "/no-vips-modules"};
}

SandboxLimits box(const ImageLimits& limits, std::size_t max_output) {
  SandboxLimits box;
  box.timeout_ms = limits.timeout_ms;
  box.cpu_seconds = std::max(1, (limits.timeout_ms + 999) / 1000);
  box.address_space_bytes = static_cast<std::int64_t>(limits.memory_mb) << 20;
  box.max_file_bytes = static_cast<std::int64_t>(limits.memory_mb) << 20;  // disc spill no larger than memory would be
  box.max_output_bytes = max_output;
  return box;
}

Error child_failed(const std::string& what, const SandboxOutcome& outcome) {
  std::string why = outcome.timed_out ? "timed out" : outcome.signal ? "killed by signal " + std::to_string(outcome.signal)
                                                                     : "exit " + std::to_string(outcome.exit_code);
  return field_error(ErrorCode::invalid_field, "file", what + " failed (" + why + "): " + first_line(outcome.err));
}

}  // namespace

Result<ImageInfo> ImageTools::probe(const std::string& path) const {
  if (!safe_path(path)) return make_error(ErrorCode::internal, "image path must be absolute, without '['");
  auto run = run_sandboxed({limits_.vips_dir + "/vipsheader", "-a", path}, child_env(limits_), box(limits_, 64 * 1024));
  if (!run) return run.error();
  if (!run->succeeded()) return child_failed("reading the image header", *run);
  std::int64_t width = 0, height = 0, pages = 1, orientation = 1;
  if (!parse_positive(header_field(run->out, "width"), width) || !parse_positive(header_field(run->out, "height"), height))
    return field_error(ErrorCode::invalid_field, "file", "the image header has no size");
  if (auto text = header_field(run->out, "n-pages"); !text.empty() && !parse_positive(text, pages)) pages = 1;
  if (auto text = header_field(run->out, "orientation"); !text.empty() && (!parse_positive(text, orientation) || orientation > 8))
    orientation = 1;
  // The header's size is of the first frame (libvips loads one page unless asked for more),
  // and the thumbnail decodes only that frame.
  if (width > limits_.max_pixels / height)
    return field_error(ErrorCode::too_large, "pixels",
                       std::to_string(width) + "x" + std::to_string(height) + " is more than media.max_image_pixels (" +
                           std::to_string(limits_.max_pixels) + ")");
  ImageInfo info;
  const bool swapped = orientation >= 5;
  info.width = static_cast<int>(swapped ? height : width);
  info.height = static_cast<int>(swapped ? width : height);
  info.orientation = static_cast<int>(orientation);
  info.pages = static_cast<int>(pages);
  return info;
}

Result<std::string> ImageTools::thumbnail(const std::string& path, int longest_side, int quality) const {
  if (!safe_path(path)) return make_error(ErrorCode::internal, "image path must be absolute, without '['");
  // `vips thumbnail` autorotates by default; ".jpg" as the output name writes to stdout;
  // strip drops all metadata; background flattens alpha onto white. --size down: never
  // enlarged. --export-profile srgb converts tagged images before their profile is dropped.
  const std::string side = std::to_string(longest_side);
  const std::string output = ".jpg[Q=" + std::to_string(quality) + ",strip,optimize_coding,background=255]";
  auto run = run_sandboxed({limits_.vips_dir + "/vips", "thumbnail", path, output, side, "--height", side, "--size",
                            "down", "--export-profile", "srgb"},
                           child_env(limits_), box(limits_, kMaxThumbnailBytes));
  if (!run) return run.error();
  if (!run->succeeded() || run->out.size() < 4) return child_failed("making a thumbnail", *run);
  return std::move(run->out);
}

Result<std::string> ImageTools::make_thumbnail(const std::string& path) const {
  return thumbnail(path, limits_.thumbnail_px, limits_.thumbnail_quality);
}

Result<std::string> ImageTools::make_preview(const std::string& path) const {
  for (int quality : {50, 35, 20, 10}) {
    auto jpeg = thumbnail(path, limits_.preview_px, quality);
    if (!jpeg) return jpeg;
    if (static_cast<int>(jpeg->size()) <= limits_.preview_max_bytes) return jpeg;
  }
  return field_error(ErrorCode::too_large, "preview", "no preview fits media.preview_max_bytes");
}

}  // namespace parley::media
