// Parley's SigV4 pre-signed S3 URLs (media/s3_presign.hpp) against the AWS SDK's: for every
// case of tests/s3presign/cases.json, tests/s3presign/presign.mjs prints the URL that
// @aws-sdk/s3-request-presigner makes (fixed clock), and Parley's must be the same bytes.
// Needs `npm ci --prefix tests/s3presign` (scripts/test.sh runs it).
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <netinet/in.h>
#include <sys/socket.h>

#include "media/s3_client.hpp"
#include "media/s3_presign.hpp"
#include "scratch_dir.hpp"

namespace parley::media {
namespace {

const std::string kDir = std::string(PARLEY_SOURCE_DIR) + "/tests/s3presign";

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) out.clear();
  return out;
}

S3Location location_of(simdjson::dom::element c) {
  S3Location l;
  l.endpoint = std::string(c["endpoint"].get_string().value());
  l.bucket = std::string(c["bucket"].get_string().value());
  l.region = std::string(c["region"].get_string().value());
  l.access_key = std::string(c["access_key"].get_string().value());
  l.secret_key = std::string(c["secret_key"].get_string().value());
  l.path_style = c["path_style"].get_bool().value();
  return l;
}

S3PresignRequest request_of(simdjson::dom::element c) {
  S3PresignRequest r;
  const std::string_view method = c["method"].get_string().value();
  r.method = method == "PUT"      ? S3Method::put
             : method == "HEAD"   ? S3Method::head
             : method == "DELETE" ? S3Method::del
                                  : S3Method::get;
  r.key = std::string(c["key"].get_string().value());
  r.expires_in_s = c["expires_in"].get_int64().value();
  r.now_s = c["now"].get_int64().value();
  if (auto length = c["content_length"].get_int64(); !length.error()) r.content_length = length.value();
  return r;
}

TEST(S3Presign, SameUrlsAsTheAwsSdk) {
  ASSERT_TRUE(std::filesystem::exists(kDir + "/node_modules/@aws-sdk/s3-request-presigner"))
      << "run: npm ci --prefix tests/s3presign";
  const std::string reference = run("node " + kDir + "/presign.mjs 2>/dev/null");
  ASSERT_FALSE(reference.empty()) << "presign.mjs failed";
  simdjson::dom::parser reference_parser, cases_parser;
  std::map<std::string, std::string> sdk_urls;
  // Each result is held in a variable: a range-for over a temporary simdjson_result's value()
  // would iterate a destroyed array.
  simdjson::dom::array reference_array, cases;
  ASSERT_EQ(reference_parser.parse(reference).get_array().get(reference_array), simdjson::SUCCESS);
  for (auto entry : reference_array)
    sdk_urls[std::string(entry["name"].get_string().value())] = std::string(entry["url"].get_string().value());
  ASSERT_EQ(cases_parser.load(kDir + "/cases.json").get_array().get(cases), simdjson::SUCCESS);
  std::size_t compared = 0;
  for (auto c : cases) {
    const std::string name(c["name"].get_string().value());
    auto url = presign_s3_url(location_of(c), request_of(c));
    ASSERT_TRUE(url.ok()) << name << ": " << url.error().message;
    EXPECT_EQ(*url, sdk_urls[name]) << name;
    ++compared;
  }
  EXPECT_GE(compared, 6u);
}

TEST(S3Presign, PutSignsTheDeclaredLength) {
  S3Location l{"http://127.0.0.1:9000", "parley", "us-east-1", "AK", "SECRET", true};
  S3PresignRequest r{S3Method::put, "a", 60, 1'800'000'000, 100};
  auto first = presign_s3_url(l, r);
  r.content_length = 101;
  auto second = presign_s3_url(l, r);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_NE(first->find("X-Amz-SignedHeaders=content-length%3Bhost"), std::string::npos);
}

TEST(S3Presign, RefusesBadInputs) {
  S3Location good{"http://127.0.0.1:9000", "parley", "us-east-1", "AK", "SECRET", true};
  S3PresignRequest r{S3Method::get, "a", 60, 1'800'000'000, 0};
  EXPECT_TRUE(presign_s3_url(good, r).ok());
  for (const std::string endpoint : {"ftp://x", "http://", "http://host/path", "127.0.0.1:9000", "http://a b"}) {
    S3Location l = good;
    l.endpoint = endpoint;
    auto url = presign_s3_url(l, r);
    ASSERT_FALSE(url.ok()) << endpoint;
    EXPECT_EQ(url.error().field, "media.s3.endpoint");
  }
  S3Location dotted = good;
  dotted.bucket = "chat.media";
  EXPECT_TRUE(check_s3_location(dotted).ok());
  dotted.path_style = false;  // a dotted bucket cannot be a TLS host label
  EXPECT_EQ(check_s3_location(dotted).error().field, "media.s3.bucket");
  S3PresignRequest bad = r;
  bad.key = "";
  EXPECT_FALSE(presign_s3_url(good, bad).ok());
  bad = r;
  bad.expires_in_s = 604801;
  EXPECT_FALSE(presign_s3_url(good, bad).ok());
  bad.expires_in_s = 0;
  EXPECT_FALSE(presign_s3_url(good, bad).ok());
}

TEST(S3Presign, DefaultPortsAreLeftOutOfTheHost) {
  S3Location l{"https://s3.example.com:443", "parley", "us-east-1", "AK", "SECRET", true};
  S3PresignRequest r{S3Method::head, "k", 60, 1'800'000'000, 0};
  auto url = presign_s3_url(l, r);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("https://s3.example.com/parley/k?", 0), 0u) << *url;
}

TEST(Sigv4Encode, KeepsUnreservedOnly) {
  EXPECT_EQ(sigv4_encode("aZ09-._~", false), "aZ09-._~");
  EXPECT_EQ(sigv4_encode("a b/c+é", true), "a%20b/c%2B%C3%A9");
  EXPECT_EQ(sigv4_encode("a/b", false), "a%2Fb");
}

// s3rver (tests/s3presign/s3rver.mjs) as a child process, stopped with the test.
class S3rverProcess {
 public:
  explicit S3rverProcess(const std::string& directory) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      execlp("node", "node", (kDir + "/s3rver.mjs").c_str(), directory.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const auto at = line.find("\"port\":");
    if (at != std::string::npos) port_ = std::atoi(line.c_str() + at + 7);
  }
  ~S3rverProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// curl's HTTP status for METHOD URL, sending the file `body` (PUT) or writing the response
// body to `save` (GET).
int http_status(const std::string& method, const std::string& url, const std::string& body = {},
                const std::string& save = "/dev/null") {
  std::string command = "curl -s -g -o '" + save + "' -w '%{http_code}' ";
  if (method == "HEAD") command += "-I ";
  else command += "-X " + method + " ";
  if (!body.empty()) command += "--data-binary @'" + body + "' ";
  command += "'" + url + "'";
  const std::string out = run(command);
  return out.empty() ? -1 : std::atoi(out.c_str());
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A round trip through s3rver with Parley's URLs: path-style addressing, key encoding and
// the expiry as a real server reads them. s3rver 3.7.1 does not check V4 signatures (its
// authentication.js: "Signature version 4 calculation is unimplemented"), so it cannot show
// that a wrong signature or a body of another size is refused; the byte-for-byte comparison
// with the AWS SDK above is what checks the signatures.
TEST(S3Presign, RoundTripThroughS3rver) {
  ASSERT_TRUE(std::filesystem::exists(kDir + "/node_modules/s3rver")) << "run: npm ci --prefix tests/s3presign";
  testing_support::ScratchDir dir("s3rver");
  std::filesystem::create_directories(dir.path() + "/store");
  S3rverProcess s3(dir.path() + "/store");
  ASSERT_GT(s3.port(), 0);
  const S3Location location{"http://127.0.0.1:" + std::to_string(s3.port()), "parley-media", "us-east-1", "S3RVER",
                            "S3RVER", true};
  const std::int64_t now = std::time(nullptr);
  std::string payload;
  for (int i = 0; i < 100'000; ++i) payload.push_back(static_cast<char>(i * 7919 % 251));
  std::ofstream(dir.path() + "/body", std::ios::binary) << payload;
  auto url = [&](S3Method method, const std::string& key, std::int64_t length = 0, std::int64_t at = 0) {
    return presign_s3_url(location, {method, key, 60, at ? at : now, length}).value();
  };
  const std::string key = "m/2026/a b+é.bin";  // needs encoding in the path
  EXPECT_EQ(http_status("HEAD", url(S3Method::head, key)), 404);
  EXPECT_EQ(http_status("PUT", url(S3Method::put, key, 100'000), dir.path() + "/body"), 200);
  EXPECT_EQ(http_status("HEAD", url(S3Method::head, key)), 200);
  EXPECT_EQ(http_status("GET", url(S3Method::get, key), {}, dir.path() + "/got"), 200);
  EXPECT_EQ(slurp(dir.path() + "/got"), payload);
  EXPECT_EQ(http_status("GET", url(S3Method::get, key, 0, now - 3600)), 403);  // expired an hour ago
}

// The server's own client (media/s3_client.hpp) against s3rver: PUT, HEAD, GET streamed into
// a file (and refused past its limit), DELETE (twice: absent counts as deleted).
TEST(S3Client, PutHeadGetDeleteThroughS3rver) {
  ASSERT_TRUE(std::filesystem::exists(kDir + "/node_modules/s3rver")) << "run: npm ci --prefix tests/s3presign";
  testing_support::ScratchDir dir("s3client");
  std::filesystem::create_directories(dir.path() + "/store");
  S3rverProcess s3(dir.path() + "/store");
  ASSERT_GT(s3.port(), 0);
  const S3Client client({"http://127.0.0.1:" + std::to_string(s3.port()), "parley-media", "us-east-1", "S3RVER",
                         "S3RVER", true},
                        10000);
  std::string payload;
  for (std::int64_t i = 0; i < 300'000; ++i) payload.push_back(static_cast<char>(i * 7919 % 251));
  const std::string key = "media/AbCdEfGhIjKlMnOpQrStUv";
  EXPECT_EQ(client.size_of(key).error().code, ErrorCode::not_found);
  EXPECT_EQ(client.download(key, dir.path() + "/none", 10).error().code, ErrorCode::not_found);
  ASSERT_TRUE(client.upload(key, payload, "application/octet-stream"));
  auto size = client.size_of(key);
  ASSERT_TRUE(size) << size.error().message;
  EXPECT_EQ(*size, 300'000);
  auto got = client.download(key, dir.path() + "/got", 300'000);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(slurp(dir.path() + "/got"), payload);
  EXPECT_EQ(std::filesystem::status(dir.path() + "/got").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(client.download(key, dir.path() + "/small", 299'999).error().code, ErrorCode::too_large);
  // A PUT streamed from a file replaces the object.
  std::ofstream(dir.path() + "/other", std::ios::binary) << payload.substr(1000);
  auto replaced = client.upload_file(key, dir.path() + "/other", "image/jpeg");
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_EQ(*client.size_of(key), 299'000);
  ASSERT_TRUE(client.download(key, dir.path() + "/again", 300'000));
  EXPECT_EQ(slurp(dir.path() + "/again"), payload.substr(1000));
  EXPECT_EQ(client.upload_file(key, dir.path() + "/missing", "image/jpeg").error().code, ErrorCode::internal);
  EXPECT_TRUE(client.remove(key));
  EXPECT_EQ(client.size_of(key).error().code, ErrorCode::not_found);
  EXPECT_TRUE(client.remove(key));
}

// A store that accepts the connection and never answers: the request fails with unavailable
// once a step has waited the timeout; one where nothing listens fails at once.
TEST(S3Client, SilentOrClosedStoreIsUnavailable) {
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(silent, 8), 0);  // the kernel completes handshakes; nobody reads
  socklen_t length = sizeof address;
  getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length);
  const S3Client client({"http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)), "parley-media", "us-east-1",
                         "S3RVER", "S3RVER", true},
                        200);
  auto size = client.size_of("media/x");
  ASSERT_FALSE(size);
  EXPECT_EQ(size.error().code, ErrorCode::unavailable);
  EXPECT_NE(size.error().message.find("timed out"), std::string::npos) << size.error().message;
  close(silent);  // now nothing listens there
  auto refused = client.remove("media/x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace parley::media
