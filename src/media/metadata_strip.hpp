// Removes location and other identifying metadata from an image file losslessly: whole
// segments, chunks or blocks are dropped from the container, the compressed picture is
// copied byte for byte. What stays is what a viewer needs to show the picture as it was shown
// before: its colour (ICC profile, JPEG's Adobe transform) and its EXIF orientation, written
// back as an EXIF block holding that one tag. The rules per format are in
// docs/architecture.md ("Media", "What other users download") and in metadata_strip.cpp.
//
// Pure functions over bytes (plan_metadata_strip) plus one that rewrites a file in place;
// all safe from any thread. The file functions block on disk I/O: call them from a worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::media {

enum class StripFormat { jpeg, png, webp, gif };

// The format whose metadata Parley removes for a sniffed MIME type (image/jpeg, image/png,
// image/webp, image/gif); nullopt for every other type (served as uploaded).
std::optional<StripFormat> strip_format_of(std::string_view mime_type);

// One piece of the stripped file: either `length` bytes of the input from `offset` (when
// `bytes` is empty) or `bytes` made by the stripper (then `length` is 0).
struct StripPiece {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string bytes;
};

struct StripPlan {
  std::vector<StripPiece> pieces;  // the output, in order; adjacent copies merged
  std::size_t output_size = 0;
  bool changed = false;              // false: the output is exactly the input (nothing to remove)
  int orientation = 1;               // the EXIF orientation kept (1..8; 1 when none or unreadable)
  std::vector<std::string> removed;  // what went, for logs and tests ("Exif", "XMP", "tEXt", "trailer", ...)
};

// What stripping `file` (the whole file, in `format`) produces. The output is never larger
// than the input (in practice smaller whenever it changed), and stripping an output again
// changes nothing.
// invalid_field (field "content_type") when the bytes are not a well-formed file of that
// format as far as the container goes (a segment or chunk running past the end, a missing
// end marker where one is required): its metadata cannot be found with certainty, so the
// caller refuses the file rather than serve it with a location inside.
Result<StripPlan> plan_metadata_strip(std::string_view file, StripFormat format);

// The bytes `plan` describes (tests and the fuzz target; files go through
// strip_metadata_in_place, which never holds them in memory).
std::string apply_strip_plan(std::string_view file, const StripPlan& plan);

struct StripOutcome {
  std::int64_t size = 0;  // of the file afterwards
  bool changed = false;
  int orientation = 1;
  std::vector<std::string> removed;
};

// Rewrites the file at `path` without its metadata: the output is written to
// `temporary_path` (on the same file system; created exclusively, with the original's mode),
// synced, renamed over `path`, and the folder synced. Nothing is written when there is
// nothing to remove. The input is mapped, not read into memory. invalid_field (field
// "content_type") as plan_metadata_strip; internal when the file cannot be read or written
// (the original is then left as it was and the temporary file removed).
Result<StripOutcome> strip_metadata_in_place(const std::string& path, StripFormat format,
                                             const std::string& temporary_path);

// True when the file at `path` is of a strippable type and has nothing left to remove: what
// strip_metadata_in_place leaves. Lets a repeated media.complete recognise its own output.
bool is_stripped_image(const std::string& path, std::string_view mime_type);

// The EXIF orientation (1..8) in the IFD0 of a TIFF structure (an EXIF block's body after
// "Exif\0\0", or a PNG eXIf / WebP EXIF chunk), and whether it is big-endian; nullopt when
// there is none or the structure cannot be read.
struct ExifOrientation {
  int orientation = 1;
  bool big_endian = true;
};
std::optional<ExifOrientation> read_exif_orientation(std::string_view tiff);

// A TIFF structure holding only IFD0 with one entry, the Orientation tag (26 bytes).
std::string minimal_exif(int orientation, bool big_endian);

}  // namespace parley::media
