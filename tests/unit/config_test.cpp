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

}  // namespace
}  // namespace parley
