// Where the local backend keeps media, and the byte ranges it serves. Paths are built only
// from media ids (names.hpp: is_media_id), never from anything else a client sends, so
// nothing outside the media directory can be named. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::media {

enum class MediaVariant { original, thumbnail };

class LocalMediaDir {
 public:
  // `root` is media.dir (Config::media_dir()).
  explicit LocalMediaDir(std::string root);

  // ROOT/XY/ID for the original, ROOT/XY/ID.thumb.jpg for its thumbnail, where XY are the
  // id's first two characters (4096 folders at most, so no folder grows huge). nullopt if `id`
  // is not a media id.
  std::optional<std::string> path_of(std::string_view id, MediaVariant variant) const;

  // ROOT/tmp/ID.part: where an upload is written until it is complete (then renamed into
  // place, so a reader never sees a partial file). nullopt if `id` is not a media id.
  std::optional<std::string> upload_path(std::string_view id) const;

  // ROOT/tmp: the scratch folder (uploads in progress, libvips' disc spill).
  std::string scratch_dir() const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// What a GET's Range header asks of a file of `size` bytes (RFC 9110, section 14): the whole
// file (no header, a header that is malformed, not "bytes", or asks for several ranges, which
// a server may ignore), one range (clamped to the file), or nothing it has (416).
struct RangeRequest {
  enum class Kind { whole, partial, unsatisfiable } kind = Kind::whole;
  std::int64_t first = 0;  // partial: first and last byte, inclusive
  std::int64_t last = 0;
};
RangeRequest parse_range(std::string_view header, std::int64_t size);

}  // namespace parley::media
