// Unit tests for core/base64: RFC 4648 section 10 vectors, the URL alphabet, and the decoder's
// rejection of everything that is not a canonical base64url encoding.
#include "core/base64.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace parley {
namespace {

struct Vector {
  std::string bytes;
  std::string standard;  // padded, standard alphabet
  std::string url;       // unpadded, URL alphabet
};

// RFC 4648 section 10, plus inputs that hit the two alphabet-specific characters.
const std::vector<Vector> kVectors = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {std::string("\xfb\xff", 2), "+/8=", "-_8"},
    {std::string("\xfb\xef\xbe", 3), "++++", "----"},
    {std::string("\xff\xff\xff", 3), "////", "____"},
    {std::string("\x00\x00", 2), "AAA=", "AAA"},
};

TEST(Base64, StandardEncodingMatchesRfc4648Vectors) {
  for (const Vector& v : kVectors) EXPECT_EQ(base64_encode(v.bytes), v.standard) << v.standard;
}

TEST(Base64, UrlEncodingMatchesRfc4648VectorsWithoutPadding) {
  for (const Vector& v : kVectors) EXPECT_EQ(base64url_encode(v.bytes), v.url) << v.url;
}

TEST(Base64, UrlDecodingAcceptsUnpaddedVectors) {
  for (const Vector& v : kVectors) {
    const auto decoded = base64url_decode(v.url);
    ASSERT_TRUE(decoded.has_value()) << v.url;
    EXPECT_EQ(*decoded, v.bytes) << v.url;
  }
}

TEST(Base64, UrlDecodingAcceptsCorrectPadding) {
  EXPECT_EQ(base64url_decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_EQ(base64url_decode("Zm8="), std::optional<std::string>("fo"));
  EXPECT_EQ(base64url_decode("Zm9vYg=="), std::optional<std::string>("foob"));
  EXPECT_EQ(base64url_decode("-_8="), std::optional<std::string>(std::string("\xfb\xff", 2)));
}

TEST(Base64, UrlDecodingRejectsCharactersOutsideTheUrlAlphabet) {
  for (const char* text : {"+/8", "Zm9v+", "Zm/v", "Zm9 v", "Zm9v\n", "Zm9v!", "Zg=a", "Z=g=", "Zm\x80v"}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
  EXPECT_FALSE(base64url_decode(std::string("Zm\0v", 4)).has_value());
}

TEST(Base64, UrlDecodingRejectsImpossibleLengths) {
  for (const char* text : {"Z", "Zm9vY", "Zm9vYmFyZ", "Z==="}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
}

TEST(Base64, UrlDecodingRejectsWrongPadding) {
  for (const char* text : {"Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v====", "====", "=", "Zm9vYg="}) {
    EXPECT_FALSE(base64url_decode(text).has_value()) << text;
  }
}

TEST(Base64, UrlDecodingRejectsNonZeroTrailingBits) {
  // "Zg" is the canonical encoding of "f"; "Zh".."Zv" carry the same byte plus stray bits.
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_FALSE(base64url_decode("Zh").has_value());
  EXPECT_FALSE(base64url_decode("Zv").has_value());
  // "Zm8" is canonical for "fo"; "Zm9" sets one of the two unused bits.
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
  EXPECT_FALSE(base64url_decode("Zm9").has_value());
}

TEST(Base64, EmptyInputDecodesToEmptyBytes) {
  const auto decoded = base64url_decode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  EXPECT_EQ(base64url_decode(base64url_encode(all_bytes)), std::optional<std::string>(all_bytes));

  std::mt19937 random(12345);
  for (std::size_t length = 0; length <= 70; ++length) {
    std::string bytes(length, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    const std::string url = base64url_encode(bytes);
    EXPECT_EQ(url.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(url), std::optional<std::string>(bytes)) << length;
    EXPECT_EQ(base64_encode(bytes).size(), (length + 2) / 3 * 4);
  }
}

}  // namespace
}  // namespace parley
