// Lossless metadata removal for JPEG, PNG, WebP and GIF: a walk over each container's
// segments (JPEG markers, PNG chunks, RIFF chunks, GIF blocks) that keeps what displays the
// picture and drops the rest whole, so the compressed image data is never touched.
//
// Written here rather than taken from a library: Debian's candidates either are GPL (exiv2,
// which must not be linked into parleyd, NOTICE), only read and write an EXIF block and not
// the file around it (libexif, LGPL), or re-encode the picture (libvips' `strip`, which the
// thumbnails use; on an original it would cost quality). Walking these containers is a few
// hundred lines of length-prefixed records, every length checked against what is left; the
// result is plain data (a StripPlan), fuzzed in tests/fuzz/metadata_strip_fuzz.cpp. Writing
// it to disc is metadata_strip_file.cpp.
//
// Keep-lists, not drop-lists: an ancillary PNG chunk, a RIFF chunk, an APPn segment or a GIF
// extension that is not known to be needed for display goes, so metadata in a container
// nobody listed here (C2PA's caBX, Apple's private chunks, a maker's APPn) goes too.
#include "media/metadata_strip.hpp"

#include <algorithm>
#include <cstring>

namespace parley::media {
namespace {

Error malformed(std::string_view format, std::string_view what, std::size_t offset) {
  return field_error(ErrorCode::invalid_field, "content_type",
                     "not a well-formed " + std::string(format) + " (" + std::string(what) + " at byte " +
                         std::to_string(offset) + "): its metadata cannot be removed");
}

unsigned byte_at(std::string_view s, std::size_t i) { return static_cast<unsigned char>(s[i]); }
std::uint32_t be16(std::string_view s, std::size_t i) { return byte_at(s, i) << 8 | byte_at(s, i + 1); }
std::uint32_t be32(std::string_view s, std::size_t i) { return be16(s, i) << 16 | be16(s, i + 2); }
std::uint32_t le32(std::string_view s, std::size_t i) {
  return byte_at(s, i) | byte_at(s, i + 1) << 8 | byte_at(s, i + 2) << 16 |
         static_cast<std::uint32_t>(byte_at(s, i + 3)) << 24;
}
std::string put_be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string put_le32(std::uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
}

std::uint32_t crc32(std::string_view bytes) {  // PNG's CRC (ISO 3309), bit by bit: chunks made here are tiny
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// Builds a StripPlan: copies of input ranges (merged when adjacent) and made bytes.
class PlanBuilder {
 public:
  explicit PlanBuilder(std::string_view input) : input_(input) {}

  void copy(std::size_t offset, std::size_t length) {
    if (length == 0) return;
    auto& pieces = plan_.pieces;
    if (!pieces.empty() && pieces.back().bytes.empty() && pieces.back().offset + pieces.back().length == offset) {
      pieces.back().length += length;
    } else {
      pieces.push_back(StripPiece{offset, length, {}});
    }
    plan_.output_size += length;
  }

  // `bytes` in place of the input's [offset, offset + length): a copy when they are the same,
  // so stripping a stripped file changes nothing.
  void replace(std::size_t offset, std::size_t length, std::string bytes) {
    if (input_.substr(offset, length) == bytes) return copy(offset, length);
    plan_.output_size += bytes.size();
    plan_.pieces.push_back(StripPiece{0, 0, std::move(bytes)});
  }

  void add(std::string bytes) {
    plan_.output_size += bytes.size();
    plan_.pieces.push_back(StripPiece{0, 0, std::move(bytes)});
  }

  void removed(std::string what) {
    if (std::find(plan_.removed.begin(), plan_.removed.end(), what) == plan_.removed.end())
      plan_.removed.push_back(std::move(what));
  }

  StripPlan finish(int orientation) {
    plan_.orientation = orientation;
    plan_.changed = !(plan_.pieces.empty() && input_.empty()) &&
                    !(plan_.pieces.size() == 1 && plan_.pieces[0].bytes.empty() && plan_.pieces[0].offset == 0 &&
                      plan_.pieces[0].length == input_.size());
    return std::move(plan_);
  }

 private:
  std::string_view input_;
  StripPlan plan_;
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// --- JPEG (ITU T.81 markers; JFIF; Exif 2.32 APP1; ICC.1 APP2; Adobe APP14) ---
//
// Kept: every marker of the picture (SOFn, DHT, DQT, DRI, SOS and its entropy-coded data, RSTn,
// DNL, ...), APP0 JFIF (its embedded thumbnail, if any, removed: a thumbnail can show what a
// crop cut away), APP2 ICC_PROFILE, APP14 Adobe, and the orientation of the first APP1 Exif
// as a minimal Exif block in that block's place. Dropped: every other APPn (Exif, XMP and
// extended XMP, MPF with its secondary images, FlashPix, Photoshop/IPTC, JPEG XT/JUMBF, makers'
// own), COM, fill bytes, and everything after EOI (Samsung's SEFT trailer, the video of a
// "motion photo", MPF's secondary images, each of which has an Exif block of its own). A file
// cut short inside its entropy-coded data is kept as far as it goes (decoders show the part
// that is there; there is no metadata in it).
Result<StripPlan> strip_jpeg(std::string_view in) {
  const std::size_t n = in.size();
  if (n < 4 || byte_at(in, 0) != 0xFF || byte_at(in, 1) != 0xD8) return malformed("JPEG", "no SOI", 0);
  PlanBuilder out(in);
  out.copy(0, 2);
  int orientation = 1;
  bool exif_seen = false;
  std::size_t pos = 2;
  while (true) {
    if (pos >= n) return malformed("JPEG", "ends before EOI", pos);
    if (byte_at(in, pos) != 0xFF) return malformed("JPEG", "no marker", pos);
    const std::size_t marker_at = pos;
    while (pos < n && byte_at(in, pos) == 0xFF) ++pos;  // fill bytes (B.1.1.2)
    if (pos >= n) return malformed("JPEG", "ends before EOI", pos);
    if (pos - marker_at > 1) out.removed("fill");
    const unsigned code = byte_at(in, pos++);
    if (code == 0xD9) {  // EOI: the end of the primary image
      out.copy(pos - 2, 2);
      if (pos < n) out.removed("trailer");
      break;
    }
    if ((code >= 0xD0 && code <= 0xD7) || code == 0x01) {  // RSTn, TEM: no length
      out.copy(pos - 2, 2);
      continue;
    }
    if (code == 0x00 || code == 0xD8) return malformed("JPEG", "unexpected marker", marker_at);
    if (n - pos < 2) return malformed("JPEG", "segment length past the end", pos);
    const std::size_t length = be16(in, pos);
    if (length < 2) return malformed("JPEG", "segment length below 2", pos);
    if (length > n - pos) return malformed("JPEG", "segment length past the end", pos);
    const std::size_t segment = pos - 2;  // FF and the code, without fill bytes
    const std::string_view payload = in.substr(pos + 2, length - 2);
    pos += length;
    const std::size_t segment_length = length + 2;

    if (code == 0xE0) {
      if (starts_with(payload, std::string_view("JFIF\0", 5)) && payload.size() >= 14) {
        if (payload.size() > 14) {  // an embedded thumbnail: the header with a 0x0 one
          std::string jfif =
              std::string("\xFF\xE0\x00\x10", 4) + std::string(payload.substr(0, 12)) + std::string(2, '\0');
          out.replace(segment, segment_length, std::move(jfif));
          out.removed("JFIF thumbnail");
        } else {
          out.copy(segment, segment_length);
        }
      } else {
        out.removed("APP0");
      }
    } else if (code == 0xE1) {
      const bool is_exif = starts_with(payload, "Exif") && payload.size() >= 6;
      if (is_exif && !exif_seen) {
        exif_seen = true;  // as viewers do, the first Exif block is the one that counts
        auto found = read_exif_orientation(payload.substr(6));
        if (found && found->orientation != 1) {
          orientation = found->orientation;
          const std::string body = std::string("Exif\0\0", 6) + minimal_exif(orientation, found->big_endian);
          std::string app1 =
              "\xFF\xE1" + std::string{static_cast<char>((body.size() + 2) >> 8), static_cast<char>(body.size() + 2)} +
              body;
          if (in.substr(segment, segment_length) != app1) out.removed("Exif");
          out.replace(segment, segment_length, std::move(app1));
          continue;
        }
      }
      out.removed(is_exif ? "Exif" : starts_with(payload, "http://ns.adobe.com/") ? "XMP" : "APP1");
    } else if (code == 0xE2 && starts_with(payload, std::string_view("ICC_PROFILE\0", 12))) {
      out.copy(segment, segment_length);
    } else if (code == 0xEE && starts_with(payload, "Adobe")) {
      out.copy(segment, segment_length);
    } else if (code >= 0xE0 && code <= 0xEF) {
      out.removed(code == 0xE2 && starts_with(payload, "MPF") ? "MPF"
                  : code == 0xED                              ? "Photoshop/IPTC"
                                                              : "APP" + std::to_string(code - 0xE0));
    } else if (code == 0xFE) {
      out.removed("COM");
    } else {
      out.copy(segment, segment_length);
    }

    if (code == 0xDA) {  // SOS: entropy-coded data up to the next marker that is not RSTn or a stuffed FF00
      const std::size_t data_start = pos;
      std::size_t scan = pos;
      while (true) {
        const void* found = scan < n ? std::memchr(in.data() + scan, 0xFF, n - scan) : nullptr;
        if (!found || static_cast<const char*>(found) - in.data() + 1 >= static_cast<std::ptrdiff_t>(n)) {
          out.copy(data_start, n - data_start);  // cut short inside the picture: kept as far as it goes
          return out.finish(orientation);
        }
        const std::size_t ff = static_cast<std::size_t>(static_cast<const char*>(found) - in.data());
        const unsigned next = byte_at(in, ff + 1);
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
          scan = ff + 2;
        } else if (next == 0xFF) {
          scan = ff + 1;
        } else {
          // Fill bytes before the marker stay with the data (dropped by the marker loop
          // when they come first; here they are part of the run up to `ff`).
          std::size_t marker = ff;
          while (marker > data_start && byte_at(in, marker - 1) == 0xFF) --marker;
          out.copy(data_start, marker - data_start);
          pos = marker;
          break;
        }
      }
    }
  }
  return out.finish(orientation);
}

// --- PNG (PNG 3rd edition) ---
//
// Kept: every critical chunk (IHDR, PLTE, IDAT, IEND and any other whose type starts with a
// capital letter: a decoder must understand it to show the picture), the ancillary chunks of
// colour, transparency and animation (tRNS cHRM gAMA iCCP sBIT sRGB cICP mDCV cLLI bKGD hIST
// pHYs sPLT acTL fcTL fdAT), and the orientation of the first eXIf as a minimal eXIf in its
// place. Dropped: tEXt, zTXt, iTXt (XMP lives there, and ImageMagick's "Raw profile type exif"),
// tIME, eXIf, every other ancillary chunk, and anything after IEND. A chunk running past the
// end, or no IEND, is malformed. Whole chunks go, so every CRC kept stays valid.
Result<StripPlan> strip_png(std::string_view in) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  static constexpr std::string_view kKept[] = {"tRNS", "cHRM", "gAMA", "iCCP", "sBIT", "sRGB", "cICP",
                                               "mDCV", "cLLI", "mDCv", "cLLi",  // the HDR chunks' names before PNG 3
                                               "bKGD", "hIST", "pHYs", "sPLT", "acTL", "fcTL", "fdAT"};
  const std::size_t n = in.size();
  if (!starts_with(in, kSignature)) return malformed("PNG", "no signature", 0);
  PlanBuilder out(in);
  out.copy(0, kSignature.size());
  int orientation = 1;
  bool exif_seen = false;
  std::size_t pos = kSignature.size();
  while (true) {
    if (n - pos < 12) return malformed("PNG", "ends before IEND", pos);
    const std::size_t length = be32(in, pos);
    if (length > 0x7FFFFFFFu) return malformed("PNG", "chunk length beyond 2^31-1", pos);
    if (length > n - pos - 12) return malformed("PNG", "chunk length past the end", pos);
    const std::string_view type = in.substr(pos + 4, 4);
    for (char c : type)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        return malformed("PNG", "chunk type not letters", pos + 4);
    const std::size_t chunk = pos;
    const std::size_t chunk_length = length + 12;
    pos += chunk_length;
    if (type == "IEND") {
      out.copy(chunk, chunk_length);
      if (pos < n) out.removed("trailer");
      break;
    }
    const bool critical = type[0] >= 'A' && type[0] <= 'Z';
    if (critical || std::find(std::begin(kKept), std::end(kKept), type) != std::end(kKept)) {
      out.copy(chunk, chunk_length);
      continue;
    }
    if (type == "eXIf" && !exif_seen) {
      exif_seen = true;
      auto found = read_exif_orientation(in.substr(chunk + 8, length));
      if (found && found->orientation != 1) {
        orientation = found->orientation;
        const std::string data = "eXIf" + minimal_exif(orientation, found->big_endian);
        std::string made = put_be32(static_cast<std::uint32_t>(data.size() - 4)) + data + put_be32(crc32(data));
        if (in.substr(chunk, chunk_length) != made) out.removed("eXIf");
        out.replace(chunk, chunk_length, std::move(made));
        continue;
      }
    }
    out.removed(std::string(type));
  }
  return out.finish(orientation);
}

// --- WebP (RIFF container, RFC 9649) ---
//
// Kept: VP8, VP8L, VP8X, ALPH, ANIM, ANMF (frames, copied whole), ICCP, and the orientation of
// the first EXIF chunk as a minimal EXIF chunk in its place (only in the extended format,
// the only one that may carry EXIF). Dropped: EXIF, XMP, every other chunk, anything after
// the RIFF size. The RIFF size and VP8X's EXIF and XMP flags are set to what is left. A chunk
// running past the RIFF size, or a RIFF size past the end, is malformed.
Result<StripPlan> strip_webp(std::string_view in) {
  static constexpr std::string_view kKept[] = {"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"};
  constexpr unsigned kExifFlag = 0x08, kXmpFlag = 0x04;
  const std::size_t n = in.size();
  if (n < 12 || !starts_with(in, "RIFF") || in.substr(8, 4) != "WEBP")
    return malformed("WebP", "no RIFF WEBP header", 0);
  const std::size_t riff_size = le32(in, 4);
  if (riff_size < 4 || riff_size > n - 8) return malformed("WebP", "RIFF size past the end", 4);
  const std::size_t riff_end = 8 + riff_size;

  // First what becomes of each chunk, then the RIFF size and VP8X's flags from what is left.
  struct Kept {
    std::size_t offset, length;  // in the input, with its padding byte if present
    std::string made;            // in place of the input's bytes, when not empty
  };
  std::vector<Kept> kept;
  std::optional<std::size_t> vp8x;  // index in `kept`
  std::vector<std::string> removed;
  bool exif_seen = false;
  int orientation = 1;
  std::size_t pos = 12;
  while (pos < riff_end) {
    if (riff_end - pos < 8) return malformed("WebP", "chunk header past the RIFF size", pos);
    const std::string_view fourcc = in.substr(pos, 4);
    const std::size_t length = le32(in, pos + 4);
    if (length > riff_end - pos - 8) return malformed("WebP", "chunk size past the RIFF size", pos + 4);
    Kept chunk{pos, 8 + length, {}};
    // An odd final chunk without its padding byte is kept as it is: no worse than it came.
    if (length % 2 == 1 && chunk.length < riff_end - pos) ++chunk.length;
    pos += chunk.length;
    if (std::find(std::begin(kKept), std::end(kKept), fourcc) != std::end(kKept)) {
      if (fourcc == "VP8X" && length >= 10 && !vp8x) vp8x = kept.size();
      kept.push_back(std::move(chunk));
      continue;
    }
    if (fourcc == "EXIF" && !exif_seen) {
      exif_seen = true;
      std::string_view body = in.substr(chunk.offset + 8, length);
      if (starts_with(body, std::string_view("Exif\0\0", 6))) body.remove_prefix(6);  // some writers add it
      auto found = read_exif_orientation(body);
      if (found && found->orientation != 1) {
        orientation = found->orientation;
        const std::string tiff = minimal_exif(orientation, found->big_endian);
        chunk.made = "EXIF" + put_le32(static_cast<std::uint32_t>(tiff.size())) + tiff;  // 26 bytes: no padding
        if (in.substr(chunk.offset, chunk.length) != chunk.made) removed.emplace_back("EXIF");
        kept.push_back(std::move(chunk));
        continue;
      }
    }
    removed.emplace_back(fourcc == "XMP " ? "XMP" : std::string(fourcc));
  }
  const bool exif_kept =
      !kept.empty() && std::any_of(kept.begin(), kept.end(), [](const Kept& k) { return !k.made.empty(); });
  if (exif_kept && !vp8x) {  // the simple format may not carry EXIF: the orientation cannot stay
    std::erase_if(kept, [](const Kept& k) { return !k.made.empty(); });
    orientation = 1;
    removed.emplace_back("EXIF");
  }
  if (vp8x) {
    Kept& chunk = kept[*vp8x];
    chunk.made = std::string(in.substr(chunk.offset, chunk.length));
    unsigned flags = static_cast<unsigned char>(chunk.made[8]) & ~(kExifFlag | kXmpFlag);
    if (exif_kept) flags |= kExifFlag;
    chunk.made[8] = static_cast<char>(flags);
  }
  std::size_t body_size = 4;  // "WEBP"
  for (const auto& chunk : kept) body_size += chunk.made.empty() ? chunk.length : chunk.made.size();
  if (riff_end < n) removed.emplace_back("trailer");

  PlanBuilder out(in);
  out.replace(0, 12, "RIFF" + put_le32(static_cast<std::uint32_t>(body_size)) + "WEBP");
  for (auto& chunk : kept) {
    if (chunk.made.empty())
      out.copy(chunk.offset, chunk.length);
    else
      out.replace(chunk.offset, chunk.length, std::move(chunk.made));
  }
  for (auto& what : removed) out.removed(std::move(what));
  return out.finish(orientation);
}

// --- GIF (GIF89a) ---
//
// Kept: the header, screen descriptor and colour tables, images, graphic control and plain
// text extensions, and the application extensions NETSCAPE2.0 and ANIMEXTS1.0 (looping) and
// ICCRGBG1012 (an ICC profile). Dropped: comment extensions, every other application
// extension (XMP DataXMP, makers' own), unknown extensions, anything after the trailer. A
// block running past the end is malformed; a file ending between blocks is kept so.
// GIF has no orientation.
Result<StripPlan> strip_gif(std::string_view in) {
  const std::size_t n = in.size();
  if (n < 13 || !(starts_with(in, "GIF87a") || starts_with(in, "GIF89a"))) return malformed("GIF", "no GIF header", 0);
  std::size_t pos = 13;
  if (byte_at(in, 10) & 0x80) pos += 3u << ((byte_at(in, 10) & 7) + 1);
  if (pos > n) return malformed("GIF", "colour table past the end", 13);
  PlanBuilder out(in);
  out.copy(0, pos);
  // The end of the data sub-blocks starting at `at` (after the terminating empty block); 0 if
  // they run past the end.
  auto sub_blocks_end = [&](std::size_t at) -> std::size_t {
    while (at < n) {
      const std::size_t size = byte_at(in, at);
      ++at;
      if (size == 0) return at;
      if (size > n - at) return 0;
      at += size;
    }
    return 0;
  };
  while (true) {
    if (pos >= n) break;  // ended between blocks, without a trailer: kept so (decoders show it)
    const unsigned introducer = byte_at(in, pos);
    if (introducer == 0x3B) {
      out.copy(pos, 1);
      if (pos + 1 < n) out.removed("trailer");
      break;
    }
    if (introducer == 0x2C) {  // image descriptor, local colour table, LZW code size, data
      if (n - pos < 11) return malformed("GIF", "image descriptor past the end", pos);
      std::size_t at = pos + 10;
      if (byte_at(in, pos + 9) & 0x80) at += 3u << ((byte_at(in, pos + 9) & 7) + 1);
      if (at >= n) return malformed("GIF", "colour table past the end", pos);
      const std::size_t end = sub_blocks_end(at + 1);
      if (end == 0) return malformed("GIF", "image data past the end", pos);
      out.copy(pos, end - pos);
      pos = end;
      continue;
    }
    if (introducer != 0x21 || n - pos < 3) return malformed("GIF", "unknown block", pos);
    const unsigned label = byte_at(in, pos + 1);
    const std::size_t end = sub_blocks_end(pos + 2);
    if (end == 0) return malformed("GIF", "extension past the end", pos);
    bool keep = label == 0xF9 || label == 0x01;  // graphic control, plain text
    if (label == 0xFF) {
      const std::string_view id = byte_at(in, pos + 2) == 11 ? in.substr(pos + 3, 11) : std::string_view();
      keep = id == "NETSCAPE2.0" || id == "ANIMEXTS1.0" || id == "ICCRGBG1012";
      if (!keep) out.removed(id == "XMP DataXMP" ? "XMP" : "application extension");
    } else if (!keep) {
      out.removed(label == 0xFE ? "comment" : "extension");
    }
    if (keep) out.copy(pos, end - pos);
    pos = end;
  }
  return out.finish(1);
}

}  // namespace

std::optional<StripFormat> strip_format_of(std::string_view mime_type) {
  if (mime_type == "image/jpeg") return StripFormat::jpeg;
  if (mime_type == "image/png" || mime_type == "image/apng") return StripFormat::png;
  if (mime_type == "image/webp") return StripFormat::webp;
  if (mime_type == "image/gif") return StripFormat::gif;
  return std::nullopt;
}

std::optional<ExifOrientation> read_exif_orientation(std::string_view tiff) {
  if (tiff.size() < 8) return std::nullopt;
  bool big_endian;
  if (starts_with(tiff, "MM"))
    big_endian = true;
  else if (starts_with(tiff, "II"))
    big_endian = false;
  else
    return std::nullopt;
  auto u16 = [&](std::size_t at) -> std::uint32_t {
    return big_endian ? be16(tiff, at) : (byte_at(tiff, at) | byte_at(tiff, at + 1) << 8);
  };
  auto u32 = [&](std::size_t at) -> std::uint32_t { return big_endian ? be32(tiff, at) : le32(tiff, at); };
  if (u16(2) != 42) return std::nullopt;
  const std::size_t ifd = u32(4);
  if (ifd < 8 || ifd > tiff.size() || tiff.size() - ifd < 2) return std::nullopt;
  const std::size_t count = u16(ifd);
  if (count * 12 + 4 > tiff.size() - ifd - 2) return std::nullopt;  // the entries and the next IFD's offset
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t entry = ifd + 2 + i * 12;
    if (u16(entry) != 0x0112) continue;
    if (u16(entry + 2) != 3 || u32(entry + 4) != 1) return std::nullopt;  // SHORT, one value
    const int orientation = static_cast<int>(u16(entry + 8));
    if (orientation < 1 || orientation > 8) return std::nullopt;
    return ExifOrientation{orientation, big_endian};
  }
  return ExifOrientation{1, big_endian};
}

std::string minimal_exif(int orientation, bool big_endian) {
  auto u16 = [&](unsigned v) {
    return big_endian ? std::string{static_cast<char>(v >> 8), static_cast<char>(v)}
                      : std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  auto u32 = [&](std::uint32_t v) { return big_endian ? put_be32(v) : put_le32(v); };
  return (big_endian ? "MM" : "II") + u16(42) + u32(8)  // header, IFD0 at 8
         + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(static_cast<unsigned>(orientation)) + u16(0)  // one entry
         + u32(0);                                                                                    // no IFD1
}

Result<StripPlan> plan_metadata_strip(std::string_view file, StripFormat format) {
  switch (format) {
    case StripFormat::jpeg:
      return strip_jpeg(file);
    case StripFormat::png:
      return strip_png(file);
    case StripFormat::webp:
      return strip_webp(file);
    case StripFormat::gif:
      return strip_gif(file);
  }
  return make_error(ErrorCode::internal, "unknown format");
}

std::string apply_strip_plan(std::string_view file, const StripPlan& plan) {
  std::string out;
  out.reserve(plan.output_size);
  for (const auto& piece : plan.pieces) {
    if (piece.bytes.empty())
      out.append(file.substr(piece.offset, piece.length));
    else
      out.append(piece.bytes);
  }
  return out;
}

}  // namespace parley::media
