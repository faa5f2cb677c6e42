// Media ids, file-name sanitizing, Content-Disposition (media/names.hpp), the local backend's
// paths and Range requests (media/local_files.hpp).
#include <gtest/gtest.h>

#include <set>

#include "media/local_files.hpp"
#include "media/names.hpp"

namespace parley::media {
namespace {

TEST(MediaIds, AreRandomAndTheOnlyNamesAccepted) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_media_id();
    EXPECT_TRUE(is_media_id(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
  for (const char* bad : {"", "short", "../../../../etc/passwd", "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAA.",
                          "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA%2", "AAAAAAAAAAAAAAAAAAAAA\n"})
    EXPECT_FALSE(is_media_id(bad)) << bad;
}

TEST(SanitizeFileName, KeepsOrdinaryNames) {
  EXPECT_EQ(sanitize_file_name("holiday photo.jpg"), "holiday photo.jpg");
  EXPECT_EQ(sanitize_file_name("Übersicht – Q3 (final).pdf"), "Übersicht – Q3 (final).pdf");
  EXPECT_EQ(sanitize_file_name("写真.png"), "写真.png");
}

TEST(SanitizeFileName, NeverAPath) {
  EXPECT_EQ(sanitize_file_name("../../etc/passwd"), "passwd");
  EXPECT_EQ(sanitize_file_name("..\\..\\windows\\system.ini"), "system.ini");
  EXPECT_EQ(sanitize_file_name("/"), "file");
  EXPECT_EQ(sanitize_file_name(".."), "file");
  EXPECT_EQ(sanitize_file_name(""), "file");
  EXPECT_EQ(sanitize_file_name(".bashrc"), "bashrc");
  EXPECT_EQ(sanitize_file_name("name. . ."), "name");
}

TEST(SanitizeFileName, ReplacesWhatCouldMislead) {
  EXPECT_EQ(sanitize_file_name("a\nb\tc\x7f.txt"), "a_b_c_.txt");
  EXPECT_EQ(sanitize_file_name("invoice\xE2\x80\xAEgpj.exe"), "invoice_gpj.exe");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(sanitize_file_name("bad\xFF\xFEutf8.txt"), "bad__utf8.txt");
  EXPECT_EQ(sanitize_file_name("\xC0\xAF.txt"), "__.txt");  // an overlong '/'
  EXPECT_EQ(sanitize_file_name("what?<is>:this*|\".txt"), "what__is__this___.txt");
  EXPECT_EQ(sanitize_file_name("CON"), "_CON");
  EXPECT_EQ(sanitize_file_name("com1.txt"), "_com1.txt");
  EXPECT_EQ(sanitize_file_name("console.txt"), "console.txt");
}

TEST(SanitizeFileName, CutsLongNamesKeepingTheExtension) {
  const std::string long_name = std::string(300, 'a') + ".jpeg";
  const std::string cut = sanitize_file_name(long_name);
  EXPECT_EQ(cut.size(), 255u);
  EXPECT_TRUE(cut.ends_with(".jpeg"));
  // Never in the middle of a character: 'é' is two bytes.
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "é";
  const std::string cut_accents = sanitize_file_name(accents + ".txt", 101);
  EXPECT_EQ(cut_accents, std::string(accents.substr(0, 96)) + ".txt");
  EXPECT_LE(sanitize_file_name(std::string(300, 'b'), 10).size(), 10u);
}

TEST(ContentDisposition, HasAnAsciiFallbackAndTheExactName) {
  EXPECT_EQ(content_disposition("report.pdf", true), "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  EXPECT_EQ(content_disposition("é \"x\".png", false),
            "inline; filename=\"__ _x_.png\"; filename*=UTF-8''%C3%A9%20%22x%22.png");
}

TEST(LocalMediaDir, PathsComeFromIdsOnly) {
  LocalMediaDir dir("/srv/parley/media/");
  const std::string id = "AbCdEfGhIjKlMnOpQrStUv";
  EXPECT_EQ(dir.path_of(id, MediaVariant::original).value(), "/srv/parley/media/Ab/AbCdEfGhIjKlMnOpQrStUv");
  EXPECT_EQ(dir.path_of(id, MediaVariant::thumbnail).value(), "/srv/parley/media/Ab/AbCdEfGhIjKlMnOpQrStUv.thumb.jpg");
  EXPECT_EQ(dir.upload_path(id).value(), "/srv/parley/media/tmp/AbCdEfGhIjKlMnOpQrStUv.part");
  EXPECT_FALSE(dir.path_of("../../../etc/passwd", MediaVariant::original).has_value());
  EXPECT_FALSE(dir.path_of("..%2F..%2Fetc%2Fpasswd", MediaVariant::original).has_value());
  EXPECT_FALSE(dir.upload_path("../x").has_value());
}

TEST(ParseRange, OneRangeClampedToTheFile) {
  using Kind = RangeRequest::Kind;
  auto check = [](std::string_view header, std::int64_t size, Kind kind, std::int64_t first = 0, std::int64_t last = 0) {
    const RangeRequest r = parse_range(header, size);
    EXPECT_EQ(r.kind, kind) << header;
    if (kind == Kind::partial) {
      EXPECT_EQ(r.first, first) << header;
      EXPECT_EQ(r.last, last) << header;
    }
  };
  check("", 1000, Kind::whole);
  check("bytes=0-99", 1000, Kind::partial, 0, 99);
  check("bytes=900-", 1000, Kind::partial, 900, 999);
  check("bytes=900-5000", 1000, Kind::partial, 900, 999);
  check("bytes=-100", 1000, Kind::partial, 900, 999);
  check("bytes=-5000", 1000, Kind::partial, 0, 999);
  check("bytes=999-999", 1000, Kind::partial, 999, 999);
  check("bytes=1000-", 1000, Kind::unsatisfiable);
  check("bytes=-0", 1000, Kind::unsatisfiable);
  check("bytes=0-", 0, Kind::unsatisfiable);
  // Ignored (served whole): other units, several ranges, nonsense, overflow, reversed.
  check("items=0-1", 1000, Kind::whole);
  check("bytes=0-1,5-6", 1000, Kind::whole);
  check("bytes=abc", 1000, Kind::whole);
  check("bytes=99999999999999999999-", 1000, Kind::whole);
  check("bytes=5-1", 1000, Kind::whole);
  check("bytes=-", 1000, Kind::whole);
}

}  // namespace
}  // namespace parley::media
