// Dimensions, thumbnails and inline previews of JPEG, PNG, WebP and GIF images, made by
// libvips' command-line tools (Debian's libvips-tools: `vipsheader`, `vips thumbnail`) in a
// sandboxed child process (subprocess.hpp). libvips is never linked into parleyd: Debian's
// libvips42 links GPL libraries, and a decoder that crashes or hangs on a hostile file must
// take down only its child (docs/architecture.md, "Media").
//
// Every call blocks its thread for up to `timeout_ms`: call from a worker thread. All methods
// are const and safe from any thread at once.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace parley::media {

struct ImageLimits {
  std::string vips_dir = "/usr/bin";      // holds vipsheader and vips
  std::int64_t max_pixels = 100'000'000;  // width x height of the first frame; checked from the header, before decoding
  int timeout_ms = 15000;                 // per child process (wall clock)
  int memory_mb = 1024;                   // address space of the child
  int thumbnail_px = 320;                 // longest side of a thumbnail (never enlarged)
  int thumbnail_quality = 80;             // JPEG quality of thumbnails
  int preview_px = 32;                    // longest side of the inline preview
  int preview_max_bytes = 1024;           // the preview's JPEG is at most this big (quality lowered until it fits)
  std::string scratch_dir;                // TMPDIR of the children (libvips spills huge images to disc); empty = /tmp
};

struct ImageInfo {
  int width = 0;   // as displayed: EXIF orientation applied (5..8 swap width and height)
  int height = 0;
  int orientation = 1;  // EXIF orientation of the file, 1 when absent
  int pages = 1;        // frames of an animated GIF/WebP (thumbnails show the first)
};

class ImageTools {
 public:
  explicit ImageTools(ImageLimits limits);

  // Reads the header only (vipsheader) and returns the displayed size. too_large (field
  // "pixels") when width x height exceeds max_pixels: a decompression bomb is refused here,
  // before anything decodes it. invalid_field when the file is not an image libvips reads.
  // `path` must be absolute and free of '[' (libvips reads options from brackets).
  Result<ImageInfo> probe(const std::string& path) const;

  // A JPEG of the image with its longest side at most `longest_side` pixels (never enlarged),
  // rotated upright by its EXIF orientation, the first frame of an animation, transparency
  // flattened onto white, and every piece of metadata stripped (EXIF, with GPS position and
  // camera serials; XMP; IPTC; ICC after conversion to sRGB). Call probe() first: this
  // does not check max_pixels. invalid_field when libvips cannot make it.
  Result<std::string> thumbnail(const std::string& path, int longest_side, int quality) const;

  // thumbnail() at thumbnail_px and thumbnail_quality.
  Result<std::string> make_thumbnail(const std::string& path) const;

  // A tiny JPEG (preview_px, at most preview_max_bytes) for an event's inline preview;
  // quality is lowered step by step until it fits. too_large if even the lowest does not.
  Result<std::string> make_preview(const std::string& path) const;

  const ImageLimits& limits() const { return limits_; }

 private:
  ImageLimits limits_;
};

}  // namespace parley::media
