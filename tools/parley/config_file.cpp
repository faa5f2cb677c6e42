#include "config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_writer.hpp"
#include "json_doc.hpp"

namespace parley::cli {

namespace fs = std::filesystem;

std::string default_config_path() {
  if (const char* path = std::getenv("PARLEY_CONFIG"); path && *path) return path;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/parley/cli.json";
}

Outcome<CliConfig> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return CliConfig{};
    return usage_error("cannot read the config file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  CliConfig config;
  if (contents.str().find_first_not_of(" \t\r\n") == std::string::npos) return config;
  auto doc = JsonDoc::parse(contents.str());
  if (!doc || !doc->root().is_object())
    return usage_error("the config file " + path + " is not a JSON object; fix or delete it");
  const JsonElement root = doc->root();
  config.server = json_string(root, "server");
  config.username = json_string(root, "username");
  config.user_id = json_int(root, "user_id");
  config.token = json_string(root, "token");
  config.expires_at = json_int(root, "expires_at");
  return config;
}

Status save_config(const std::string& path, const CliConfig& config) {
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  if (!config.server.empty()) w.field("server", config.server);
  if (!config.username.empty()) w.field("username", config.username);
  if (config.user_id) w.field("user_id", config.user_id);
  if (!config.token.empty()) w.field("token", config.token);
  if (config.expires_at) w.field("expires_at", config.expires_at);
  w.end_object();
  text.push_back('\n');

  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path() && !fs::exists(target.parent_path(), ec)) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return usage_error("cannot create " + target.parent_path().string() + ": " + ec.message());
    ::chmod(target.parent_path().c_str(), 0700);
  }
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return usage_error("cannot write " + temporary + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // O_CREAT's mode does not apply to a file left over from an earlier run
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      return usage_error("cannot write " + temporary + ": " + reason);
    }
    written += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    return usage_error("cannot replace " + path + ": " + reason);
  }
  return Done{};
}

}  // namespace parley::cli
