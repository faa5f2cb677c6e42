// Lossless metadata removal (media/metadata_strip.hpp) on real files: made by `vips` (Debian's
// libvips-tools), then given by hand what phones and editors add (an Exif block with a GPS
// position and an orientation, XMP, comments, trailers). Each output must still be read by
// libvips at the same size, keep its orientation, lose the location, and keep every byte of
// the picture.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "media/metadata_strip.hpp"
#include "media/subprocess.hpp"
#include "scratch_dir.hpp"

namespace parley::media {
namespace {

using testing_support::read_file;
using testing_support::write_file;

std::string be16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string be32(std::uint32_t v) { return be16(v >> 16) + be16(v & 0xFFFF); }
std::string le16(unsigned v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }
std::string le32(std::uint32_t v) { return le16(v & 0xFFFF) + le16(v >> 16); }

using testing_support::crc32;

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

// The GPS latitude 52 deg 31' 7" N as the rationals an Exif GPS IFD stores: what must never
// reach another user. Distinctive enough not to occur by chance in a small file.
const std::string kLatitude = be32(52) + be32(1) + be32(31) + be32(1) + be32(7) + be32(1);
const std::string kLatitudeLe = le32(52) + le32(1) + le32(31) + le32(1) + le32(7) + le32(1);

// A TIFF structure as cameras write it: IFD0 with Make, Orientation and a pointer to a GPS
// IFD holding a latitude. Big-endian ("MM") or little-endian ("II").
std::string camera_tiff(int orientation, bool big_endian) {
  auto u16 = [&](unsigned v) { return big_endian ? be16(v) : le16(v); };
  auto u32 = [&](std::uint32_t v) { return big_endian ? be32(v) : le32(v); };
  auto entry = [&](unsigned tag, unsigned type, std::uint32_t count, const std::string& value4) {
    return u16(tag) + u16(type) + u32(count) + value4;
  };
  // IFD0 at 8: 3 entries (8 + 2 + 36 + 4 = 50); GPS IFD at 50: 2 entries (50 + 2 + 24 + 4 = 80);
  // "Phone\0" at 80 (86); latitude rationals at 86.
  std::string tiff = (big_endian ? "MM" : "II") + u16(42) + u32(8);
  tiff += u16(3) + entry(0x010F, 2, 6, u32(80)) + entry(0x0112, 3, 1, u16(orientation) + u16(0)) +
          entry(0x8825, 4, 1, u32(50)) + u32(0);
  tiff += u16(2) + entry(0x0001, 2, 2, std::string("N\0\0\0", 4)) + entry(0x0002, 5, 3, u32(86)) + u32(0);
  tiff += std::string("Phone\0", 6);
  tiff += big_endian ? kLatitude : kLatitudeLe;
  return tiff;
}

std::string jpeg_segment(unsigned code, const std::string& payload) {
  return std::string{'\xFF', static_cast<char>(code)} + be16(static_cast<unsigned>(payload.size() + 2)) + payload;
}

const std::string kXmp =
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
    "<rdf:Description xmlns:exif='http://ns.adobe.com/exif/1.0/' exif:GPSLatitude='52,31.1N'/></rdf:RDF></x:xmpmeta>";

struct Header {
  int width = 0, height = 0, orientation = 1;
  bool read = false;
  std::string text;
};

// What libvips (in the sandbox parleyd uses) reads of the file at `path`.
Header vipsheader(const std::string& path) {
  Header header;
  auto run = run_sandboxed({"/usr/bin/vipsheader", "-a", path}, {"VIPS_BLOCK_UNTRUSTED=1"}, SandboxLimits{});
  if (!run.ok() || !run->succeeded()) return header;
  header.read = true;
  header.text = run->out;
  auto field = [&](const std::string& key) {
    const auto at = run->out.find("\n" + key + ": ");
    return at == std::string::npos ? -1 : std::atoi(run->out.c_str() + at + key.size() + 3);
  };
  header.width = field("width");
  header.height = field("height");
  header.orientation = std::max(field("orientation"), 1);  // absent: upright
  return header;
}

class MediaStrip : public ::testing::Test {
 protected:
  testing_support::ScratchDir dir_{"media_strip"};
  std::string at(const std::string& name) const { return dir_.path() + "/" + name; }

  // Runs `vips ARGS` and returns the file `name` it wrote. ("[strip]": without the Exif block
  // libvips otherwise writes.)
  std::string made_by_vips(const std::string& name, const std::string& args) {
    const std::string command = "vips " + args + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read_file(at(name));
  }

  // Strips `file` as `format` and checks what holds for every format: the output is no
  // larger, libvips reads it at the size it read the input, and stripping it again changes
  // nothing. Returns the output.
  std::string strip(const std::string& file, StripFormat format, const std::string& name) {
    auto plan = plan_metadata_strip(file, format);
    EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
    if (!plan.ok()) return {};
    const std::string out = apply_strip_plan(file, *plan);
    EXPECT_EQ(out.size(), plan->output_size);
    EXPECT_LE(out.size(), file.size());
    write_file(at("in-" + name), file);
    write_file(at("out-" + name), out);
    const Header before = vipsheader(at("in-" + name)), after = vipsheader(at("out-" + name));
    EXPECT_TRUE(before.read && after.read) << name;
    EXPECT_EQ(after.width, before.width) << name;
    EXPECT_EQ(after.height, before.height) << name;
    EXPECT_EQ(after.orientation, before.orientation) << name << after.text;
    EXPECT_EQ(after.text.find("GPS"), std::string::npos) << after.text;
    EXPECT_EQ(after.text.find("xmp"), std::string::npos) << after.text;
    auto again = plan_metadata_strip(out, format);
    EXPECT_TRUE(again.ok() && !again->changed) << name << ": stripping twice changed it again";
    if (again.ok()) {
      EXPECT_EQ(again->orientation, plan->orientation);
    }
    return out;
  }
};

TEST(MetadataStripExif, ReadsAndWritesTheOrientationInBothByteOrders) {
  for (bool big_endian : {true, false}) {
    auto found = read_exif_orientation(camera_tiff(6, big_endian));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->orientation, 6);
    EXPECT_EQ(found->big_endian, big_endian);
    const std::string minimal = minimal_exif(8, big_endian);
    EXPECT_EQ(minimal.size(), 26u);
    auto back = read_exif_orientation(minimal);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->orientation, 8);
    EXPECT_EQ(back->big_endian, big_endian);
  }
  EXPECT_EQ(read_exif_orientation(minimal_exif(1, true).substr(0, 8) + be16(0) + be32(0))->orientation, 1);  // no tag
  EXPECT_FALSE(read_exif_orientation("MM\x00\x2a").has_value());                         // cut short
  EXPECT_FALSE(read_exif_orientation(camera_tiff(9, true)).has_value());                 // out of range
  EXPECT_FALSE(read_exif_orientation(minimal_exif(6, true).substr(0, 24)).has_value());  // IFD past the end
  EXPECT_EQ(strip_format_of("image/jpeg"), StripFormat::jpeg);
  EXPECT_EQ(strip_format_of("image/webp"), StripFormat::webp);
  EXPECT_FALSE(strip_format_of("image/svg+xml").has_value());
  EXPECT_FALSE(strip_format_of("video/mp4").has_value());
}

TEST_F(MediaStrip, JpegLosesLocationKeepsOrientationColourAndEveryPictureByte) {
  const std::string plain = made_by_vips("plain.jpg", "black " + at("plain.jpg") + "[strip] 200 100");
  ASSERT_GT(plain.size(), 100u);
  const std::string icc = jpeg_segment(0xE2, std::string("ICC_PROFILE\0\x01\x01", 14) + std::string(64, 'c'));
  // What a phone writes after SOI: Exif (orientation 6, GPS), XMP, Photoshop/IPTC, MPF, a
  // comment; then the picture; then a trailer with a second image of its own.
  const std::string photo = plain.substr(0, 2) + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(6, true)) +
                            jpeg_segment(0xE1, std::string("http://ns.adobe.com/xap/1.0/\0", 29) + kXmp) +
                            jpeg_segment(0xED, "Photoshop 3.0\0008BIM" + kLatitude) +
                            jpeg_segment(0xE2, "MPF\0MM\0\x2a" + std::string(8, '\0')) + icc +
                            jpeg_segment(0xFE, "taken at home") + plain.substr(2) + "SEFT" +
                            jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(1, true));
  ASSERT_NE(photo.find(kLatitude), std::string::npos);
  ASSERT_EQ(vipsheader((write_file(at("photo.jpg"), photo), at("photo.jpg"))).orientation, 6);

  auto plan = plan_metadata_strip(photo, StripFormat::jpeg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->changed);
  EXPECT_EQ(plan->orientation, 6);
  for (const char* what : {"Exif", "XMP", "Photoshop/IPTC", "MPF", "COM", "trailer"})
    EXPECT_NE(std::find(plan->removed.begin(), plan->removed.end(), what), plan->removed.end()) << what;

  const std::string out = strip(photo, StripFormat::jpeg, "photo.jpg");
  EXPECT_EQ(out.find(kLatitude), std::string::npos);
  EXPECT_EQ(out.find("Phone"), std::string::npos);
  EXPECT_EQ(out.find("\x88\x25"), std::string::npos);  // the GPS IFD's tag
  EXPECT_EQ(out.find("xmpmeta"), std::string::npos);
  EXPECT_EQ(out.find("taken at home"), std::string::npos);
  EXPECT_EQ(out.find("SEFT"), std::string::npos);
  // Exactly: SOI, the Exif block with the orientation only (in the byte order it came in),
  // the colour profile, then vips' JPEG byte for byte.
  const std::string minimal = jpeg_segment(0xE1, std::string("Exif\0\0", 6) + minimal_exif(6, true));
  EXPECT_EQ(out, plain.substr(0, 2) + minimal + icc + plain.substr(2));
  auto kept = read_exif_orientation(out.substr(2 + 4 + 6, 26));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->orientation, 6);
}

TEST_F(MediaStrip, JpegWithoutOrientationLosesItsExifWhole) {
  const std::string plain = made_by_vips("plain.jpg", "black " + at("plain.jpg") + "[strip] 64 48");
  const std::string photo =
      plain.substr(0, 2) + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(1, false)) + plain.substr(2);
  const std::string out = strip(photo, StripFormat::jpeg, "upright.jpg");
  EXPECT_EQ(out, plain);
  EXPECT_EQ(out.find(kLatitudeLe), std::string::npos);
}

TEST_F(MediaStrip, JpegMadeByLibvipsFromAPhotoKeepsItsProgressiveScans) {
  // A progressive JPEG (markers between scans) that libvips itself wrote from a photo with
  // Exif: libvips copies the Exif, GPS included, into what it writes.
  const std::string plain = made_by_vips("plain.jpg", "black " + at("plain.jpg") + "[strip] 300 200");
  write_file(
      at("photo.jpg"),
      plain.substr(0, 2) + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(3, true)) + plain.substr(2));
  const std::string progressive =
      made_by_vips("progressive.jpg", "copy " + at("photo.jpg") + " " + at("progressive.jpg") + "[interlace]");
  ASSERT_NE(vipsheader(at("progressive.jpg")).text.find("GPS"), std::string::npos) << "the fixture has no GPS";
  const std::string out = strip(progressive, StripFormat::jpeg, "progressive.jpg");
  EXPECT_EQ(vipsheader(at("out-progressive.jpg")).orientation, 3);
  EXPECT_EQ(out.find("Phone"), std::string::npos);
  // The picture decodes to the same pixels.
  ASSERT_EQ(std::system(("vips copy " + at("in-progressive.jpg") + " " + at("a.png[strip]") + " && vips copy " +
                         at("out-progressive.jpg") + " " + at("b.png[strip]") + " && cmp -s " + at("a.png") + " " +
                         at("b.png"))
                            .c_str()),
            0);
}

TEST_F(MediaStrip, MalformedJpegIsRefusedCutShortPictureKept) {
  const std::string plain =
      made_by_vips("plain.jpg", "gaussnoise " + at("plain.jpg") + "[strip] 64 48");  // noise: kilobytes of picture data
  const std::string exif = jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(6, true));
  const std::string photo = plain.substr(0, 2) + exif + plain.substr(2);
  auto refused = [](const std::string& bytes) {
    auto plan = plan_metadata_strip(bytes, StripFormat::jpeg);
    if (plan.ok()) return std::string("accepted");
    EXPECT_EQ(plan.error().code, ErrorCode::invalid_field);
    EXPECT_EQ(plan.error().field, "content_type");
    return plan.error().message;
  };
  EXPECT_NE(refused(photo.substr(0, 2 + exif.size() / 2)).find("past the end"),
            std::string::npos);  // cut inside the Exif
  std::string too_long = photo;
  too_long[4] = '\x7F';  // the Exif segment's length now runs past the end
  EXPECT_NE(refused(too_long).find("past the end"), std::string::npos);
  std::string short_length = photo;
  short_length[4] = 0;
  short_length[5] = 1;
  EXPECT_NE(refused(short_length).find("below 2"), std::string::npos);
  EXPECT_NE(refused("\xFF\xD8").find("no SOI"), std::string::npos);
  EXPECT_NE(refused("GIF89a....").find("no SOI"), std::string::npos);
  EXPECT_NE(refused(photo.substr(0, 2) + "garbage").find("no marker"), std::string::npos);
  // Cut short inside the entropy-coded data: no metadata there; kept as far as it goes.
  const std::string cut = photo.substr(0, photo.size() - 20);
  auto plan = plan_metadata_strip(cut, StripFormat::jpeg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = apply_strip_plan(cut, *plan);
  EXPECT_EQ(out.find(kLatitude), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 100), cut.substr(cut.size() - 100));
}

TEST_F(MediaStrip, PngLosesTextTimeAndPrivateChunksKeepsAMinimalExif) {
  const std::string plain = made_by_vips("plain.png", "black " + at("plain.png") + " 120 80");
  ASSERT_EQ(plain.substr(12, 4), "IHDR");
  const std::size_t after_ihdr = 8 + 12 + 13;
  const std::string exif = png_chunk("eXIf", camera_tiff(6, false));
  const std::string text_after = png_chunk("tEXt", std::string("Comment\0at home", 15));
  std::string photo = plain.substr(0, after_ihdr) + png_chunk("tEXt", std::string("Author\0Someone", 14)) + exif +
                      png_chunk("iTXt", std::string("XML:com.adobe.xmp\0\0\0\0\0", 22) + kXmp) +
                      png_chunk("tIME", std::string("\x07\xEA\x0C\x07\x03\x04\x05", 7)) +
                      png_chunk("zTXt", std::string("Raw profile type exif\0\0", 23) + "x") +
                      png_chunk("prVt", kLatitude) + plain.substr(after_ihdr);
  const std::size_t iend = photo.size() - 12;
  photo = photo.substr(0, iend) + text_after + photo.substr(iend) + "trailing" + kLatitude;
  ASSERT_EQ(vipsheader((write_file(at("photo.png"), photo), at("photo.png"))).width, 120);

  auto plan = plan_metadata_strip(photo, StripFormat::png);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->orientation, 6);
  const std::string out = strip(photo, StripFormat::png, "photo.png");
  EXPECT_EQ(out.find(kLatitudeLe), std::string::npos);
  EXPECT_EQ(out.find(kLatitude), std::string::npos);
  EXPECT_EQ(out.find("xmpmeta"), std::string::npos);
  EXPECT_EQ(out.find("Someone"), std::string::npos);
  EXPECT_EQ(out.find("at home"), std::string::npos);
  EXPECT_EQ(out, plain.substr(0, after_ihdr) + png_chunk("eXIf", minimal_exif(6, false)) + plain.substr(after_ihdr));
}

TEST_F(MediaStrip, MalformedPngIsRefused) {
  const std::string plain = made_by_vips("plain.png", "black " + at("plain.png") + " 16 16");
  EXPECT_TRUE(plan_metadata_strip(plain, StripFormat::png).ok());
  EXPECT_FALSE(plan_metadata_strip(plain, StripFormat::png)->changed);
  EXPECT_EQ(plan_metadata_strip(plain.substr(0, plain.size() - 12), StripFormat::png).error().field,
            "content_type");  // no IEND
  std::string long_chunk = plain;
  long_chunk[8] = '\x01';  // IHDR's length now 16 MiB past the end
  EXPECT_FALSE(plan_metadata_strip(long_chunk, StripFormat::png).ok());
  std::string huge_chunk = plain;
  huge_chunk[8] = '\xFF';  // beyond 2^31 - 1
  EXPECT_FALSE(plan_metadata_strip(huge_chunk, StripFormat::png).ok());
  EXPECT_FALSE(plan_metadata_strip("\x89PNG\r\n\x1a", StripFormat::png).ok());
}

// The chunk `fourcc` of a RIFF file, header and padding included; empty if there is none.
std::string riff_find(const std::string& file, const std::string& fourcc) {
  for (std::size_t at = 12; at + 8 <= file.size();) {
    const std::size_t length = static_cast<unsigned char>(file[at + 4]) |
                               static_cast<unsigned char>(file[at + 5]) << 8 |
                               static_cast<unsigned char>(file[at + 6]) << 16;
    const std::size_t whole = 8 + length + length % 2;
    if (file.compare(at, 4, fourcc) == 0) return file.substr(at, whole);
    at += whole;
  }
  return {};
}

std::string riff_chunk(const std::string& fourcc, const std::string& data) {
  return fourcc + le32(static_cast<std::uint32_t>(data.size())) + data + (data.size() % 2 ? std::string(1, '\0') : "");
}

// A WebP of the given chunks; the RIFF size is what it should be.
std::string webp_of(const std::string& chunks) {
  return "RIFF" + le32(static_cast<std::uint32_t>(chunks.size() + 4)) + "WEBP" + chunks;
}

// The extended format: VP8X (flags as given), the picture's `vp8` chunk, then `chunks`.
std::string extended_webp(const std::string& vp8, unsigned flags, int width, int height, const std::string& chunks) {
  auto u24 = [](unsigned v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16)};
  };
  const std::string vp8x_data = static_cast<char>(flags) + std::string(3, '\0') +
                                u24(static_cast<unsigned>(width - 1)) + u24(static_cast<unsigned>(height - 1));
  return webp_of(riff_chunk("VP8X", vp8x_data) + vp8 + chunks);
}

TEST_F(MediaStrip, WebpLosesExifAndXmpChunksAndItsFlagsFollow) {
  // libvips 8.14 writes VP8X and an EXIF chunk of its own even with [strip]: keep only its picture.
  const std::string vp8 = riff_find(made_by_vips("plain.webp", "black " + at("plain.webp") + "[strip] 90 60"), "VP8 ");
  ASSERT_FALSE(vp8.empty());
  const std::string photo =
      extended_webp(vp8, 0x0C, 90, 60,
                    riff_chunk("EXIF", camera_tiff(6, false)) + riff_chunk("XMP ", kXmp) + riff_chunk("prVt", "odd"));
  ASSERT_EQ(vipsheader((write_file(at("photo.webp"), photo), at("photo.webp"))).orientation, 6);
  const std::string out = strip(photo, StripFormat::webp, "photo.webp");
  EXPECT_EQ(out.find(kLatitudeLe), std::string::npos);
  EXPECT_EQ(out.find("xmpmeta"), std::string::npos);
  EXPECT_EQ(out, extended_webp(vp8, 0x08, 90, 60, riff_chunk("EXIF", minimal_exif(6, false))));

  // Without an orientation to keep, the EXIF flag goes too; the simple format is left alone.
  const std::string upright = extended_webp(vp8, 0x08, 90, 60, riff_chunk("EXIF", camera_tiff(1, true)));
  EXPECT_EQ(strip(upright, StripFormat::webp, "upright.webp"), extended_webp(vp8, 0x00, 90, 60, ""));
  auto unchanged = plan_metadata_strip(webp_of(vp8), StripFormat::webp);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_FALSE(unchanged->changed);
  // The simple format may not carry EXIF: one there goes, orientation and all.
  EXPECT_EQ(strip(webp_of(vp8 + riff_chunk("EXIF", camera_tiff(1, true))), StripFormat::webp, "simple.webp"),
            webp_of(vp8));

  std::string cut = photo.substr(0, photo.size() - 10);  // the RIFF size now past the end
  EXPECT_EQ(plan_metadata_strip(cut, StripFormat::webp).error().field, "content_type");
  std::string bad_chunk = photo;
  bad_chunk[19] = '\x7F';  // VP8X's size past the RIFF size
  EXPECT_FALSE(plan_metadata_strip(bad_chunk, StripFormat::webp).ok());
}

TEST_F(MediaStrip, WebpWrittenByLibvipsFromAPhoto) {
  const std::string plain = made_by_vips("plain.jpg", "black " + at("plain.jpg") + "[strip] 80 40");
  write_file(
      at("photo.jpg"),
      plain.substr(0, 2) + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(8, true)) + plain.substr(2));
  const std::string webp = made_by_vips("photo.webp", "copy " + at("photo.jpg") + " " + at("photo.webp"));
  ASSERT_NE(webp.find("EXIF"), std::string::npos) << "libvips wrote no EXIF chunk";
  const std::string out = strip(webp, StripFormat::webp, "vips.webp");
  EXPECT_EQ(out.find("Phone"), std::string::npos);
  EXPECT_EQ(vipsheader(at("out-vips.webp")).orientation, 8);
}

TEST_F(MediaStrip, GifLosesCommentsAndForeignApplicationExtensions) {
  const std::string plain = made_by_vips("plain.gif", "black " + at("plain.gif") + " 30 20");
  std::size_t blocks = 13;
  if (static_cast<unsigned char>(plain[10]) & 0x80) blocks += 3u << ((plain[10] & 7) + 1);
  auto extension = [](unsigned label, const std::string& first, const std::string& data) {
    std::string e{'\x21', static_cast<char>(label), static_cast<char>(first.size())};
    e += first;
    if (!data.empty()) e += static_cast<char>(data.size()) + data;
    return e + '\0';
  };
  const std::string looping = extension(0xFF, "NETSCAPE2.0", std::string("\x01\x00\x00", 3));
  const std::string photo = plain.substr(0, blocks) + extension(0xFE, "made at home", "") + looping +
                            extension(0xFF, "XMP DataXMP", kXmp.substr(0, 200)) + plain.substr(blocks) + "after";
  const std::string out = strip(photo, StripFormat::gif, "photo.gif");
  EXPECT_EQ(out, plain.substr(0, blocks) + looping + plain.substr(blocks));
  EXPECT_FALSE(plan_metadata_strip(photo.substr(0, blocks + 5), StripFormat::gif).ok());  // cut inside a block
  EXPECT_FALSE(plan_metadata_strip("GIF89a", StripFormat::gif).ok());
}

TEST_F(MediaStrip, RewritesTheFileInPlaceThroughATemporaryFile) {
  const std::string plain = made_by_vips("plain.jpg", "black " + at("plain.jpg") + "[strip] 64 48");
  const std::string photo =
      plain.substr(0, 2) + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + camera_tiff(6, true)) + plain.substr(2);
  const std::string path = at("original");
  write_file(path, photo);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_FALSE(is_stripped_image(path, "image/jpeg"));
  write_file(at("left-by-a-crash"), "junk");
  auto outcome = strip_metadata_in_place(path, StripFormat::jpeg, at("left-by-a-crash"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome->changed);
  EXPECT_EQ(outcome->orientation, 6);
  const std::string stored = read_file(path);
  EXPECT_EQ(static_cast<std::int64_t>(stored.size()), outcome->size);
  EXPECT_EQ(stored.find(kLatitude), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
  EXPECT_NE(::stat(at("left-by-a-crash").c_str(), &info), 0);  // renamed into place
  EXPECT_TRUE(is_stripped_image(path, "image/jpeg"));
  EXPECT_FALSE(is_stripped_image(path, "application/pdf"));

  // Nothing to remove: nothing written (the same inode).
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  const ino_t inode = info.st_ino;
  auto again = strip_metadata_in_place(path, StripFormat::jpeg, at("tmp"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_ino, inode);

  write_file(at("bad"), photo.substr(0, 30));
  auto bad = strip_metadata_in_place(at("bad"), StripFormat::jpeg, at("tmp"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_field);
  EXPECT_EQ(read_file(at("bad")), photo.substr(0, 30));  // left as it was (the caller deletes it)
  EXPECT_EQ(strip_metadata_in_place(at("missing"), StripFormat::jpeg, at("tmp")).error().code, ErrorCode::internal);
}

}  // namespace
}  // namespace parley::media
