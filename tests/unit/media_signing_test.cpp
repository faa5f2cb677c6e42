// The local backend's signed URLs (media/local_signer.hpp) and its key file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "media/local_signer.hpp"
#include "media/urls.hpp"
#include "scratch_dir.hpp"

namespace parley::media {
namespace {

const std::string kKey(32, 'k');
constexpr std::int64_t kNow = 1'800'000'000;

TEST(LocalUrlSigner, AcceptsWhatItSignedUntilTheExpiry) {
  LocalUrlSigner signer(kKey);
  const auto sig = signer.sign(SignedMethod::put, "m7Q2x9", kNow + 60, 1234);
  EXPECT_EQ(sig.size(), 43u);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1234, sig, kNow), UrlCheck::ok);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1234, sig, kNow + 59), UrlCheck::ok);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1234, sig, kNow + 60), UrlCheck::expired);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1234, sig, kNow + 3600), UrlCheck::expired);
}

TEST(LocalUrlSigner, RefusesEveryChangedField) {
  LocalUrlSigner signer(kKey);
  const auto sig = signer.sign(SignedMethod::put, "m7Q2x9", kNow + 60, 1234);
  EXPECT_EQ(signer.verify(SignedMethod::get, "m7Q2x9", kNow + 60, 1234, sig, kNow), UrlCheck::bad_signature);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2xA", kNow + 60, 1234, sig, kNow), UrlCheck::bad_signature);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9.thumb", kNow + 60, 1234, sig, kNow), UrlCheck::bad_signature);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 61, 1234, sig, kNow), UrlCheck::bad_signature);
  EXPECT_EQ(signer.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1235, sig, kNow), UrlCheck::bad_signature);
  // Another key.
  LocalUrlSigner other(std::string(32, 'j'));
  EXPECT_EQ(other.verify(SignedMethod::put, "m7Q2x9", kNow + 60, 1234, sig, kNow), UrlCheck::bad_signature);
}

TEST(LocalUrlSigner, ForgedUrlsAreNotToldAboutTheirExpiry) {
  LocalUrlSigner signer(kKey);
  const auto sig = signer.sign(SignedMethod::get, "abc", kNow - 10, -1);
  EXPECT_EQ(signer.verify(SignedMethod::get, "abc", kNow - 10, -1, sig, kNow), UrlCheck::expired);
  // A tampered signature on an expired URL reads as bad, not as expired.
  std::string tampered = sig;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer.verify(SignedMethod::get, "abc", kNow - 10, -1, tampered, kNow), UrlCheck::bad_signature);
}

TEST(LocalUrlSigner, RefusesMalformedSignatures) {
  LocalUrlSigner signer(kKey);
  const auto sig = signer.sign(SignedMethod::get, "abc", kNow + 10, -1);
  for (const std::string& bad : {std::string(), sig.substr(0, 42), sig + "A", sig + "=", std::string(43, '*'),
                                  sig.substr(0, 42) + (sig[42] == 'B' ? "C" : "B")}) {
    EXPECT_EQ(signer.verify(SignedMethod::get, "abc", kNow + 10, -1, bad, kNow), UrlCheck::bad_signature) << bad;
  }
  // An object name with a newline could forge the field separator: never valid.
  EXPECT_EQ(signer.verify(SignedMethod::get, "abc\n1", kNow + 10, -1, sig, kNow), UrlCheck::bad_signature);
}

TEST(LocalUrlSigner, RefusesShortKeys) {
  EXPECT_THROW(LocalUrlSigner(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(load_or_create_media_key(std::string(31, 'k'), "/nonexistent"), std::runtime_error);
}

TEST(MediaKey, CreatedOncePrivateThenReused) {
  testing_support::ScratchDir dir("media_key");
  const std::string first = load_or_create_media_key("", dir.path());
  EXPECT_GE(first.size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/media.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_or_create_media_key("", dir.path()), first);
  // A configured key wins over the file.
  const std::string configured(40, 'c');
  EXPECT_EQ(load_or_create_media_key(configured, dir.path()), configured);
  // A truncated file is a start-up error, not a silently weaker key.
  std::ofstream(dir.path() + "/media.key", std::ios::trunc) << "short\n";
  EXPECT_THROW(load_or_create_media_key("", dir.path()), std::runtime_error);
}

// The query parameter `name` of a URL.
std::string param(const std::string& url, const std::string& name) {
  auto start = url.find("?" + name + "=");
  if (start == std::string::npos) start = url.find("&" + name + "=");
  if (start == std::string::npos) return {};
  start += name.size() + 2;
  return url.substr(start, url.find('&', start) - start);
}

TEST(MediaUrls, LocalUrlsCarryWhatTheirSignatureCovers) {
  testing_support::ScratchDir dir("media_urls");
  Config config;
  config.server.data_dir = dir.path();
  const MediaUrls urls(config);
  EXPECT_TRUE(urls.local());
  const std::string id = "AbCdEfGhIjKlMnOpQrStUv";
  const std::string put = urls.upload_url(id, 1234, kNow, kNow + 900);
  EXPECT_EQ(put.rfind("/v1/media/" + id + "/content?size=1234&expires=" + std::to_string(kNow + 900) + "&sig=", 0), 0u) << put;
  const std::string sig = param(put, "sig");
  EXPECT_EQ(urls.verify_local(SignedMethod::put, id, MediaVariant::original, kNow + 900, 1234, sig, kNow), UrlCheck::ok);
  EXPECT_EQ(urls.verify_local(SignedMethod::put, id, MediaVariant::original, kNow + 900, 1235, sig, kNow),
            UrlCheck::bad_signature);
  EXPECT_EQ(urls.verify_local(SignedMethod::get, id, MediaVariant::original, kNow + 900, -1, sig, kNow),
            UrlCheck::bad_signature);

  const std::string get = urls.download_url(id, MediaVariant::original, kNow, kNow + 300);
  const std::string thumb = urls.download_url(id, MediaVariant::thumbnail, kNow, kNow + 300);
  EXPECT_EQ(get.rfind("/v1/media/" + id + "/content?expires=", 0), 0u) << get;
  EXPECT_EQ(thumb.rfind("/v1/media/" + id + "/thumbnail?expires=", 0), 0u) << thumb;
  EXPECT_EQ(urls.verify_local(SignedMethod::get, id, MediaVariant::original, kNow + 300, -1, param(get, "sig"), kNow),
            UrlCheck::ok);
  // A thumbnail's URL does not open the original, nor the other way round.
  EXPECT_EQ(urls.verify_local(SignedMethod::get, id, MediaVariant::original, kNow + 300, -1, param(thumb, "sig"), kNow),
            UrlCheck::bad_signature);
  EXPECT_EQ(urls.verify_local(SignedMethod::get, id, MediaVariant::thumbnail, kNow + 300, -1, param(get, "sig"), kNow),
            UrlCheck::bad_signature);
  // The key was made once in the data dir, and a second instance signs alike.
  EXPECT_EQ(MediaUrls(config).upload_url(id, 1234, kNow, kNow + 900), put);
}

TEST(MediaUrls, S3UploadsAndDownloadsArePresignedForTheirOwnObjects) {
  Config config;
  config.media.backend = "s3";
  config.media.s3 = {"http://127.0.0.1:4569", "parley-media", "us-east-1", "AK", "SK", true};
  const MediaUrls urls(config);
  EXPECT_FALSE(urls.local());
  const std::string id = "AbCdEfGhIjKlMnOpQrStUv";
  const std::string put = urls.upload_url(id, 1234, kNow, kNow + 900);
  // Clients write uploads/ID; downloads read media/ID, which only parleyd writes.
  EXPECT_EQ(put.rfind("http://127.0.0.1:4569/parley-media/uploads/" + id + "?", 0), 0u) << put;
  const std::string original = urls.download_url(id, MediaVariant::original, kNow, kNow + 300);
  EXPECT_EQ(original.rfind("http://127.0.0.1:4569/parley-media/media/" + id + "?", 0), 0u) << original;
  EXPECT_EQ(param(put, "X-Amz-Expires"), "900");
  EXPECT_EQ(param(put, "X-Amz-SignedHeaders"), "content-length%3Bhost");
  const std::string thumb = urls.download_url(id, MediaVariant::thumbnail, kNow, kNow + 300);
  EXPECT_EQ(thumb.rfind("http://127.0.0.1:4569/parley-media/media/" + id + ".thumb?", 0), 0u) << thumb;
  config.media.s3.endpoint = "ftp://nope";
  EXPECT_THROW(MediaUrls{config}, std::runtime_error);
}

}  // namespace
}  // namespace parley::media
