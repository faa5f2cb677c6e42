// Settings: defaults, the three sources and their precedence (flag > environment > file), and
// refusals of bad values at start-up.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "scratch_dir.hpp"

namespace parley {
namespace {

LoadResult load(std::vector<std::string> args) {
  args.insert(args.begin(), "parleyd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return load_config(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, DefaultsWithoutArguments) {
  const LoadResult r = load({});
  EXPECT_FALSE(r.exit_now);
  EXPECT_EQ(r.config.server.listen, Config{}.server.listen);
  EXPECT_EQ(r.config.store.sqlite_page_size, 1024);
  EXPECT_EQ(r.config.store.sqlite_wal_max_mb, 16);
}

TEST(Config, FlagBeatsEnvironmentBeatsFile) {
  testing_support::ScratchDir dir("config");
  const std::string file = dir.path() + "/parley.toml";
  std::ofstream(file) << "[store]\nsqlite_page_size = 2048\nmax_batch = 10\n[limits]\nmax_pins = 7\n";
  setenv("PARLEY_STORE_MAX_BATCH", "20", 1);
  setenv("PARLEY_LIMITS_MAX_PINS", "8", 1);
  const LoadResult r = load({"--config", file, "--limits.max_pins", "9", "--data-dir", "/tmp/x"});
  unsetenv("PARLEY_STORE_MAX_BATCH");
  unsetenv("PARLEY_LIMITS_MAX_PINS");
  EXPECT_EQ(r.config.store.sqlite_page_size, 2048);  // file only
  EXPECT_EQ(r.config.store.max_batch, 20);           // environment over file
  EXPECT_EQ(r.config.limits.max_pins, 9);            // flag over both
  EXPECT_EQ(r.config.server.data_dir, "/tmp/x");
}

TEST(Config, RefusesBadValues) {
  EXPECT_THROW(load({"--store.sqlite_page_size", "1000"}), std::runtime_error);  // not a power of two
  EXPECT_THROW(load({"--store.sqlite_page_size", "256"}), std::runtime_error);   // too small
  EXPECT_THROW(load({"--store.max_batch", "0"}), std::runtime_error);
  EXPECT_THROW(load({"--server.node_id", "5000"}), std::runtime_error);
  EXPECT_THROW(load({"--store.max_batch", "many"}), std::runtime_error);
  testing_support::ScratchDir dir("config");
  const std::string file = dir.path() + "/bad.toml";
  std::ofstream(file) << "[store]\nno_such_setting = 1\n";
  EXPECT_THROW(load({"--config", file}), std::runtime_error);
}

TEST(Config, MediaDefaults) {
  const LoadResult r = load({"--data-dir", "/srv/parley"});
  EXPECT_EQ(r.config.media.backend, "local");
  EXPECT_EQ(r.config.media_dir(), "/srv/parley/media");
  EXPECT_EQ(r.config.media.max_file_bytes, 100LL << 20);
  EXPECT_EQ(r.config.media.max_image_pixels, 100'000'000);
  EXPECT_EQ(load({"--media.dir", "/mnt/shared"}).config.media_dir(), "/mnt/shared");
}

TEST(Config, MediaS3FromNestedTableEnvironmentAndFlags) {
  testing_support::ScratchDir dir("config");
  const std::string file = dir.path() + "/parley.toml";
  std::ofstream(file) << "[media]\nbackend = \"s3\"\nmax_file_bytes = 5000000000\n"
                         "[media.s3]\nendpoint = \"http://127.0.0.1:4569\"\nbucket = \"parley\"\n"
                         "access_key = \"AK\"\nsecret_key = \"SK\"\npath_style = false\n";
  setenv("PARLEY_MEDIA_S3_REGION", "eu-central-1", 1);
  const LoadResult r = load({"--config", file, "--media.s3.bucket", "other"});
  unsetenv("PARLEY_MEDIA_S3_REGION");
  EXPECT_EQ(r.config.media.backend, "s3");
  EXPECT_EQ(r.config.media.max_file_bytes, 5'000'000'000);  // beyond 32 bits
  EXPECT_EQ(r.config.media.s3.endpoint, "http://127.0.0.1:4569");
  EXPECT_EQ(r.config.media.s3.bucket, "other");
  EXPECT_EQ(r.config.media.s3.region, "eu-central-1");
  EXPECT_FALSE(r.config.media.s3.path_style);
}

TEST(Config, RefusesIncompleteMediaSettings) {
  EXPECT_THROW(load({"--media.backend", "s3"}), std::runtime_error);  // no endpoint, bucket, keys
  EXPECT_THROW(load({"--media.backend", "ftp"}), std::runtime_error);
  EXPECT_THROW(load({"--media.secret", "short"}), std::runtime_error);
  EXPECT_THROW(load({"--media.user_quota_bytes", "1000", "--media.max_file_bytes", "2000"}), std::runtime_error);
  EXPECT_NO_THROW(load({"--media.user_quota_bytes", "0", "--media.max_file_bytes", "2000"}));  // no quota
  EXPECT_THROW(load({"--media.preview_px", "64", "--media.thumbnail_px", "32"}), std::runtime_error);
  // A pending upload's row must outlive its URL.
  EXPECT_THROW(load({"--media.upload_ttl_s", "600", "--media.upload_url_ttl_s", "900"}), std::runtime_error);
  testing_support::ScratchDir dir("config");
  const std::string file = dir.path() + "/bad.toml";
  std::ofstream(file) << "[media.s3]\nno_such = 1\n";
  EXPECT_THROW(load({"--config", file}), std::runtime_error);
}

}  // namespace
}  // namespace parley
