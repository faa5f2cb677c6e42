// Media in the client library (docs/protocol.md media.upload, media.complete, media.urls and
// attachments): the local helpers (content types, SHA-256, URLs), and against a real parleyd a
// file uploaded, attached to a message, seen by the recipient and downloaded byte for byte;
// refusals carry the server's code.

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <mutex>
#include <random>

#include "client/client.hpp"
#include "client/media.hpp"
#include "test_support.hpp"

namespace parley::client {
namespace {

using testing::eventually;
using testing::Loop;
using testing::Server;

std::string temp_dir() {
  char dir[] = "/tmp/parley-media-test-XXXXXX";
  return mkdtemp(dir);
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(MediaHelpers, ContentTypesNamesDigestsAndUrls) {
  EXPECT_EQ(guess_content_type("IMG_0042.JPG"), "image/jpeg");
  EXPECT_EQ(guess_content_type("dir.d/report.pdf"), "application/pdf");
  EXPECT_EQ(guess_content_type("notes"), "application/octet-stream");
  EXPECT_EQ(guess_content_type(".bashrc"), "application/octet-stream");
  EXPECT_EQ(base_name("a/b/c.txt"), "c.txt");
  EXPECT_EQ(base_name("c.txt"), "c.txt");

  const std::string dir = temp_dir();
  write_file(dir + "/abc", "abc");
  std::string error;
  auto digest = digest_file(dir + "/abc", error);
  ASSERT_TRUE(digest) << error;
  EXPECT_EQ(digest->size, 3u);
  EXPECT_EQ(digest->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(digest_file(dir + "/none", error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_FALSE(digest_file(dir, error));  // a directory
  std::filesystem::remove_all(dir);

  auto url = resolve_media_url("http://127.0.0.1:8080/chat/", "/v1/media/X/content?sig=s");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/chat/v1/media/X/content?sig=s");
  url = resolve_media_url("http://ignored:1", "https://bucket.s3.example.com/k?X-Amz-Signature=1");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->authority, "bucket.s3.example.com");
  url = parse_transfer_url("http://[::1]:9000/b/k");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->authority, "[::1]:9000");
  EXPECT_FALSE(parse_transfer_url("ftp://x/y"));
  EXPECT_FALSE(parse_transfer_url("http://user@host/"));
  EXPECT_FALSE(resolve_media_url("http://h:1", "v1/media"));
}

// A started client and the events it saw.
struct User {
  std::shared_ptr<Client> client;
  std::mutex mutex;
  std::vector<Event> events;

  User(Loop& loop, const Server& server, const std::string& token) {
    ClientOptions options;
    options.endpoint = server.endpoint();
    options.token = token;
    client = Client::create(loop.io, options);
    client->on_event = [this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
    loop.run([this] {
      client->start();
      return 0;
    });
  }
  bool live(Loop& loop) {
    return eventually([&] { return loop.run([&] { return client->state() == State::live; }); });
  }
};

struct Uploaded {
  Reply reply;
  Media media;
};

Uploaded upload(Loop& loop, Client& client, const std::string& path, UploadOptions options = {}) {
  std::promise<Uploaded> promise;
  loop.run([&] {
    client.upload_file(path, std::move(options),
                       [&promise](const Reply& r, const Media& m) { promise.set_value(Uploaded{r, m}); });
    return 0;
  });
  return promise.get_future().get();
}

std::pair<Reply, std::uint64_t> download(Loop& loop, Client& client, const std::string& media_id,
                                         const std::string& out_path, DownloadOptions options = {}) {
  std::promise<std::pair<Reply, std::uint64_t>> promise;
  loop.run([&] {
    client.download(media_id, out_path, std::move(options),
                    [&promise](const Reply& r, std::uint64_t bytes) { promise.set_value({r, bytes}); });
    return 0;
  });
  return promise.get_future().get();
}

DownloadOptions expecting(std::int64_t size) {
  DownloadOptions options;
  options.expected_size = size;
  return options;
}

TEST(ClientMedia, UploadAttachAndDownloadByteForByte) {
  Server server;
  server.start();
  auto [alice_id, alice_token] = server.user("alice-media");
  auto [bob_id, bob_token] = server.user("bob-media");
  auto [carol_id, carol_token] = server.user("carol-media");
  Loop loop;
  User alice(loop, server, alice_token), bob(loop, server, bob_token), carol(loop, server, carol_token);
  ASSERT_TRUE(alice.live(loop) && bob.live(loop) && carol.live(loop));

  // Several pieces of the transfer (64 KiB each) and a partial last one.
  const std::string dir = temp_dir();
  const std::string bytes = random_bytes(300 * 1024 + 17, 42);
  write_file(dir + "/data.bin", bytes);
  std::uint64_t last_progress = 0;
  int progress_calls = 0;
  UploadOptions options;
  options.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, bytes.size());
    EXPECT_GE(done, last_progress);
    last_progress = done;
    ++progress_calls;
  };
  const Uploaded up = upload(loop, *alice.client, dir + "/data.bin", std::move(options));
  ASSERT_TRUE(up.reply.ok) << up.reply.code << ": " << up.reply.message;
  EXPECT_EQ(up.media.id.size(), 22u);
  EXPECT_EQ(up.media.file_name, "data.bin");
  EXPECT_EQ(up.media.size, static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(up.media.content_type, "application/octet-stream");
  EXPECT_FALSE(up.media.thumbnail);
  EXPECT_EQ(last_progress, bytes.size());
  EXPECT_GE(progress_calls, 5);

  // Attached to a message without text: the own event and bob's carry the media.
  std::promise<Reply> sent;
  loop.run([&, bob_id = bob_id] {
    SendOptions send_options;
    send_options.attachments = {up.media};
    alice.client->send_to_user(bob_id, "", send_options, [&sent](const Reply& r) { sent.set_value(r); });
    return 0;
  });
  const Reply ack = sent.get_future().get();
  ASSERT_TRUE(ack.ok) << ack.code << ": " << ack.message;
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(bob.mutex);
    return !bob.events.empty();
  }));
  Event received;
  {
    std::lock_guard lock(bob.mutex);
    received = bob.events.back();
  }
  EXPECT_EQ(received.text, "");
  ASSERT_EQ(received.attachments.size(), 1u);
  EXPECT_EQ(received.attachments[0].id, up.media.id);
  EXPECT_EQ(received.attachments[0].size, up.media.size);
  EXPECT_EQ(received.attachments[0].file_name, "data.bin");
  {
    std::lock_guard lock(alice.mutex);
    ASSERT_FALSE(alice.events.empty());
    ASSERT_EQ(alice.events.back().attachments.size(), 1u);
    EXPECT_EQ(alice.events.back().attachments[0].id, up.media.id);
  }

  // Bob downloads it: the same bytes, and nothing left beside the file.
  auto [got, count] = download(loop, *bob.client, up.media.id, dir + "/copy.bin", expecting(up.media.size));
  ASSERT_TRUE(got.ok) << got.code << ": " << got.message;
  EXPECT_EQ(count, bytes.size());
  EXPECT_TRUE(read_file(dir + "/copy.bin") == bytes);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);

  // A size other than the expected one fails, and leaves no file.
  auto [short_of, ignored] = download(loop, *bob.client, up.media.id, dir + "/wrong.bin", expecting(5));
  EXPECT_EQ(short_of.code, "size_mismatch");
  EXPECT_FALSE(std::filesystem::exists(dir + "/wrong.bin"));

  // Carol sees no message carrying it.
  auto [refused, none] = download(loop, *carol.client, up.media.id, dir + "/stolen.bin");
  EXPECT_EQ(refused.code, "not_found") << refused.message;
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);

  for (User* user : {&alice, &bob, &carol})
    loop.run([user] {
      user->client->stop();
      return 0;
    });
  std::filesystem::remove_all(dir);
}

TEST(ClientMedia, RefusalsCarryTheServersCode) {
  Server server({"--media.max_file_bytes", "1000"});
  server.start();
  auto [alice_id, alice_token] = server.user("alice-refused");
  Loop loop;
  User alice(loop, server, alice_token);
  ASSERT_TRUE(alice.live(loop));
  const std::string dir = temp_dir();
  write_file(dir + "/big.txt", std::string(1001, 'x'));
  Uploaded up = upload(loop, *alice.client, dir + "/big.txt");
  EXPECT_FALSE(up.reply.ok);
  EXPECT_EQ(up.reply.code, "too_large") << up.reply.message;

  up = upload(loop, *alice.client, dir + "/missing.txt");
  EXPECT_EQ(up.reply.code, "file_error");
  EXPECT_NE(up.reply.message.find("No such file"), std::string::npos) << up.reply.message;

  // A declared image whose bytes are text: media.complete refuses it, with the field.
  write_file(dir + "/fake.png", "not a png at all");
  up = upload(loop, *alice.client, dir + "/fake.png");
  EXPECT_EQ(up.reply.code, "invalid_field") << up.reply.message;
  EXPECT_NE(up.reply.json.find("content_type"), std::string::npos) << up.reply.json;

  loop.run([&] {
    alice.client->stop();
    return 0;
  });
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::client
