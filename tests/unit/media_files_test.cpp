// Content sniffing (media/sniff.hpp), the sandboxed child process (media/subprocess.hpp) and
// images through libvips' command-line tools (media/images.hpp), on real files made by
// `vips` (Debian's libvips-tools) and by hand where a file must be hostile.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "media/images.hpp"
#include "media/sniff.hpp"
#include "media/subprocess.hpp"
#include "scratch_dir.hpp"

namespace parley::media {
namespace {

using testing_support::read_file;
using testing_support::write_file;

void vips(const std::string& args) {
  ASSERT_EQ(std::system(("vips " + args + " >/dev/null 2>&1").c_str()), 0) << "vips " << args;
}

// What `vipsheader -a` says about a JPEG given as bytes.
std::string header_of(const std::string& dir, const std::string& jpeg) {
  const std::string path = dir + "/probe.jpg";
  write_file(path, jpeg);
  auto run = run_sandboxed({"/usr/bin/vipsheader", "-a", path}, {}, SandboxLimits{});
  return run.ok() ? run->out : std::string();
}

using testing_support::crc32;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG of a few dozen bytes whose header claims 50000 x 50000 pixels (2.5 gigapixels,
// 2.5 GB once decoded): a decompression bomb. Its IDAT is a stub; only a decoder would notice.
std::string bomb_png() {
  std::string ihdr = be32(50000) + be32(50000) + std::string("\x01\x00\x00\x00\x00", 5);  // 1-bit grey
  std::string idat("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) + png_chunk("IEND", "");
}

// The JPEG at `jpeg` with an EXIF block (APP1) put after its SOI: orientation 6 (the camera
// was turned: display rotated 90 degrees clockwise) and a GPS latitude of 52 deg 31' N.
std::string with_exif(const std::string& jpeg) {
  auto u16 = [](unsigned v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v)}; };
  auto entry = [&](unsigned tag, unsigned type, std::uint32_t count, const std::string& value4) {
    return u16(tag) + u16(type) + be32(count) + value4;
  };
  std::string tiff = "MM" + u16(42) + be32(8);
  tiff += u16(2) + entry(0x0112, 3, 1, u16(6) + u16(0)) + entry(0x8825, 4, 1, be32(38)) + be32(0);  // IFD0 at 8
  tiff += u16(2) + entry(0x0001, 2, 2, std::string("N\0\0\0", 4)) + entry(0x0002, 5, 3, be32(68)) + be32(0);  // GPS at 38
  tiff += be32(52) + be32(1) + be32(31) + be32(1) + be32(0) + be32(1);  // at 68
  const std::string app1 = std::string("Exif\0\0", 6) + tiff;
  return jpeg.substr(0, 2) + "\xFF\xE1" + u16(static_cast<unsigned>(app1.size() + 2)) + app1 + jpeg.substr(2);
}

class MediaFiles : public ::testing::Test {
 protected:
  testing_support::ScratchDir dir_{"media_files"};
  std::string at(const std::string& name) const { return dir_.path() + "/" + name; }
  ImageTools tools() const {
    ImageLimits limits;
    limits.max_pixels = 10'000'000;
    limits.scratch_dir = dir_.path();
    return ImageTools(limits);
  }
};

TEST_F(MediaFiles, SniffsTheBytesNotTheName) {
  vips("black " + at("a.png") + " 40 30");
  vips("copy " + at("a.png") + " " + at("a.jpg"));
  vips("copy " + at("a.png") + " " + at("a.webp"));
  vips("copy " + at("a.png") + " " + at("a.gif"));
  EXPECT_EQ(sniff_file(at("a.png")).value(), "image/png");
  EXPECT_EQ(sniff_file(at("a.jpg")).value(), "image/jpeg");
  EXPECT_EQ(sniff_file(at("a.webp")).value(), "image/webp");
  EXPECT_EQ(sniff_file(at("a.gif")).value(), "image/gif");
  // HTML under a .png name.
  write_file(at("evil.png"), "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>");
  EXPECT_EQ(sniff_file(at("evil.png")).value(), "text/html");
  EXPECT_EQ(sniff_bytes("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").value(), "application/pdf");
  EXPECT_EQ(sniff_bytes("").value(), "application/x-empty");
  EXPECT_EQ(sniff_file(at("missing")).error().code, ErrorCode::not_found);
}

TEST(MediaTypes, DeclaredInlineTypesMustMatchTheBytes) {
  EXPECT_TRUE(check_declared_type("image/png", "image/png").ok());
  EXPECT_TRUE(check_declared_type("image/png", "image/jpeg").ok());  // a mislabelled photo is still a photo
  auto refused = check_declared_type("image/png", "text/html");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::invalid_field);
  EXPECT_EQ(refused.error().field, "content_type");
  EXPECT_FALSE(check_declared_type("video/mp4", "image/png").ok());
  EXPECT_FALSE(check_declared_type("image/gif", "image/svg+xml").ok());
  // Not shown inline: whatever the bytes are, they are served as a download of their own type.
  EXPECT_TRUE(check_declared_type("application/pdf", "text/html").ok());
  EXPECT_TRUE(check_declared_type("image/svg+xml", "image/svg+xml").ok());
  EXPECT_FALSE(is_inline_type("image/svg+xml"));
  EXPECT_FALSE(is_inline_type("text/html"));
  EXPECT_TRUE(is_inline_type("video/webm"));
  EXPECT_TRUE(is_thumbnail_type("image/webp"));
  EXPECT_FALSE(is_thumbnail_type("image/tiff"));
}

TEST_F(MediaFiles, SandboxReportsExitSignalAndTimeout) {
  auto ok = run_sandboxed({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, {}, SandboxLimits{});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->out, "out\n");
  EXPECT_EQ(ok->err, "err\n");
  EXPECT_EQ(ok->exit_code, 3);
  EXPECT_FALSE(ok->succeeded());

  auto crashed = run_sandboxed({"/bin/sh", "-c", "kill -SEGV $$"}, {}, SandboxLimits{});
  ASSERT_TRUE(crashed.ok());
  EXPECT_EQ(crashed->signal, SIGSEGV);

  SandboxLimits quick;
  quick.timeout_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  auto hung = run_sandboxed({"/bin/sleep", "30"}, {}, quick);
  ASSERT_TRUE(hung.ok());
  EXPECT_TRUE(hung->timed_out);
  EXPECT_EQ(hung->signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  EXPECT_FALSE(run_sandboxed({"sh", "-c", "true"}, {}, SandboxLimits{}).ok());  // no PATH lookup
}

TEST_F(MediaFiles, SandboxPassesOnlyTheGivenEnvironmentAndNoDescriptors) {
  auto env = run_sandboxed({"/usr/bin/env"}, {"ONLY=this"}, SandboxLimits{});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->out, "ONLY=this\n");
  std::ofstream held(at("held"));  // an open descriptor of ours
  auto fds = run_sandboxed({"/bin/ls", "/proc/self/fd"}, {}, SandboxLimits{});
  ASSERT_TRUE(fds.ok());
  EXPECT_EQ(fds->out, "0\n1\n2\n3\n");  // 3: ls's own directory handle
  SandboxLimits small;
  small.address_space_bytes = 64LL << 20;
  auto big = run_sandboxed({"/usr/bin/python3", "-c", "x = bytearray(256 * 1024 * 1024)"}, {}, small);
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(big->succeeded());
}

TEST_F(MediaFiles, ProbesAndThumbnailsEveryImageType) {
  vips("black " + at("a.png") + " 640 480 --bands 4");  // with an alpha channel
  vips("copy " + at("a.png") + " " + at("a.jpg"));
  vips("copy " + at("a.png") + " " + at("a.webp"));
  vips("copy " + at("a.png") + " " + at("a.gif"));
  const ImageTools images = tools();
  for (const std::string name : {"a.png", "a.jpg", "a.webp", "a.gif"}) {
    auto info = images.probe(at(name));
    ASSERT_TRUE(info.ok()) << name << ": " << info.error().message;
    EXPECT_EQ(info->width, 640) << name;
    EXPECT_EQ(info->height, 480) << name;
    auto thumb = images.make_thumbnail(at(name));
    ASSERT_TRUE(thumb.ok()) << name << ": " << thumb.error().message;
    EXPECT_EQ(sniff_bytes(*thumb).value(), "image/jpeg") << name;
    const std::string header = header_of(dir_.path(), *thumb);
    EXPECT_NE(header.find("width: 320\n"), std::string::npos) << name << header;
    EXPECT_NE(header.find("height: 240\n"), std::string::npos) << name << header;
    auto preview = images.make_preview(at(name));
    ASSERT_TRUE(preview.ok()) << name << ": " << preview.error().message;
    EXPECT_LE(preview->size(), 1024u) << name;
    EXPECT_NE(header_of(dir_.path(), *preview).find("width: 32\n"), std::string::npos) << name;
  }
}

TEST_F(MediaFiles, SmallImagesAreNotEnlarged) {
  vips("black " + at("s.png") + " 100 50");
  auto thumb = tools().make_thumbnail(at("s.png"));
  ASSERT_TRUE(thumb.ok());
  EXPECT_NE(header_of(dir_.path(), *thumb).find("width: 100\n"), std::string::npos);
}

TEST_F(MediaFiles, OrientationIsAppliedAndLocationStripped) {
  vips("black " + at("plain.jpg") + " 200 100");
  write_file(at("photo.jpg"), with_exif(read_file(at("plain.jpg"))));
  // The fixture really carries what must go: an orientation and a GPS position.
  auto original = run_sandboxed({"/usr/bin/vipsheader", "-a", at("photo.jpg")}, {}, SandboxLimits{});
  ASSERT_TRUE(original.ok());
  ASSERT_NE(original->out.find("orientation: 6"), std::string::npos) << original->out;
  ASSERT_NE(original->out.find("GPSLatitude"), std::string::npos) << original->out;

  const ImageTools images = tools();
  auto info = images.probe(at("photo.jpg"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->orientation, 6);
  EXPECT_EQ(info->width, 100);  // as displayed: turned upright
  EXPECT_EQ(info->height, 200);
  for (auto made : {images.make_thumbnail(at("photo.jpg")), images.make_preview(at("photo.jpg"))}) {
    ASSERT_TRUE(made.ok());
    const std::string header = header_of(dir_.path(), *made);
    const auto width = std::stoi(header.substr(header.find("width: ") + 7));
    const auto height = std::stoi(header.substr(header.find("height: ") + 8));
    EXPECT_LT(width, height) << header;  // upright
    EXPECT_EQ(header.find("exif"), std::string::npos) << header;
    EXPECT_EQ(header.find("GPS"), std::string::npos) << header;
    EXPECT_EQ(header.find("orientation"), std::string::npos) << header;
    EXPECT_EQ(made->find("Exif"), std::string::npos);
  }
}

TEST_F(MediaFiles, DecompressionBombIsRefusedFromItsHeader) {
  write_file(at("bomb.png"), bomb_png());
  EXPECT_LT(read_file(at("bomb.png")).size(), 100u);
  const auto start = std::chrono::steady_clock::now();
  auto info = tools().probe(at("bomb.png"));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::too_large);
  EXPECT_EQ(info.error().field, "pixels");
  EXPECT_NE(info.error().message.find("50000x50000"), std::string::npos) << info.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // nothing was decoded
}

TEST_F(MediaFiles, NonImagesAndBadPathsAreRefused) {
  write_file(at("evil.png"), "<html><script>alert(1)</script></html>");
  auto info = tools().probe(at("evil.png"));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::invalid_field);
  // SVG (and PDF, ImageMagick, .vips, ...) are loaders libvips marks untrusted: blocked in
  // the child even though vipsheader could read this one.
  write_file(at("x.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>");
  auto svg = tools().probe(at("x.svg"));
  ASSERT_FALSE(svg.ok());
  EXPECT_NE(svg.error().message.find("blocked"), std::string::npos) << svg.error().message;
  EXPECT_FALSE(tools().probe("relative.png").ok());
  EXPECT_FALSE(tools().probe(at("x.png[shrink=2]")).ok());
}

}  // namespace
}  // namespace parley::media
