#include "core/config.hpp"

#include <CLI/CLI.hpp>
#include <toml.hpp>

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace parley {
namespace {

// A setting: its name, help, and how to read/write it as text.
struct Setting {
  std::string name;
  std::string help;
  std::function<void(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

void parse_into(int& target, const std::string& name, const std::string& text) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < INT32_MIN || v > INT32_MAX)
    throw std::runtime_error("setting " + name + ": not an integer: '" + text + "'");
  target = static_cast<int>(v);
}
void parse_into(std::int64_t& target, const std::string& name, const std::string& text) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), target);
  if (ec != std::errc() || end != text.data() + text.size())
    throw std::runtime_error("setting " + name + ": not an integer: '" + text + "'");
}
void parse_into(bool& target, const std::string& name, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") target = true;
  else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") target = false;
  else throw std::runtime_error("setting " + name + ": not a boolean: '" + text + "'");
}
void parse_into(std::string& target, const std::string&, const std::string& text) { target = text; }

std::string to_text(int v) { return std::to_string(v); }
std::string to_text(std::int64_t v) { return std::to_string(v); }
std::string to_text(bool v) { return v ? "true" : "false"; }
std::string to_text(const std::string& v) { return v; }

template <typename Accessor>
Setting make_setting(std::string name, std::string help, Accessor access) {
  Setting s;
  s.name = name;
  s.help = std::move(help);
  s.set = [access, name](Config& c, const std::string& text) { parse_into(access(c), name, text); };
  s.get = [access](const Config& c) { return to_text(access(const_cast<Config&>(c))); };
  return s;
}

#define PARLEY_SETTING(section, key, help) \
  make_setting(#section "." #key, help, [](Config& c) -> auto& { return c.section.key; })

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      PARLEY_SETTING(server, listen, "HOST:PORT to serve HTTP and WebSocket (/ws) on"),
      PARLEY_SETTING(server, data_dir, "directory for the database, keys and media"),
      PARLEY_SETTING(server, io_threads, "I/O threads; 0 = one per CPU core"),
      PARLEY_SETTING(server, reader_threads, "store reader threads (history, sync, lists)"),
      PARLEY_SETTING(server, node_id, "node id 0..1023, embedded in message ids; unique per node"),
      PARLEY_SETTING(server, log_level, "trace | debug | info | warn | error"),
      PARLEY_SETTING(server, log_format, "text (key=value) | json"),
      PARLEY_SETTING(server, web_root, "directory served at /; empty = web/dist beside the binary's source tree"),
      PARLEY_SETTING(server, shutdown_grace_ms, "on SIGTERM, time allowed to flush sessions before closing"),
      PARLEY_SETTING(store, url, "store engine URL: sqlite:PATH; empty = sqlite:<data_dir>/parley.db"),
      PARLEY_SETTING(store, sqlite_synchronous, "full (fsync every group commit) | normal (survives process crash, not power loss)"),
      PARLEY_SETTING(store, sqlite_cache_mb, "SQLite page cache per connection, MiB"),
      PARLEY_SETTING(store, sqlite_wal_max_mb, "WAL size (MiB) past which a truncating checkpoint runs; checkpoints run on their own thread"),
      PARLEY_SETTING(store, sqlite_page_size, "page size in bytes of a new database file (512..65536, a power of two); an existing file keeps its own"),
      PARLEY_SETTING(store, max_batch, "most write operations in one group commit"),
      PARLEY_SETTING(store, max_queue, "write operations waiting for the writer; beyond, requests fail with 'unavailable'"),
      PARLEY_SETTING(auth, token_ttl_s, "lifetime of access tokens issued by login/register, seconds"),
      PARLEY_SETTING(auth, secret, "HMAC-SHA256 key for Parley tokens; empty = generated once into data_dir/token.key"),
      PARLEY_SETTING(auth, jwt_secret, "HS256 key of a host application's JWTs; empty = host tokens disabled"),
      PARLEY_SETTING(auth, jwt_issuer, "if set, host JWTs must carry this 'iss'"),
      PARLEY_SETTING(auth, jwt_audience, "if set, host JWTs must carry this 'aud'"),
      PARLEY_SETTING(auth, argon2_opslimit, "argon2id passes (libsodium opslimit); 2 = interactive"),
      PARLEY_SETTING(auth, argon2_memlimit_kb, "argon2id memory, KiB; 65536 = interactive"),
      PARLEY_SETTING(auth, allow_registration, "allow POST /v1/auth/register"),
      PARLEY_SETTING(auth, hash_threads, "threads that hash passwords"),
      PARLEY_SETTING(auth, admin_token, "bearer token for the admin API (/v1/admin/*); empty = admin API disabled"),
      PARLEY_SETTING(limits, max_frame_bytes, "largest WebSocket message accepted; larger: close 1009"),
      PARLEY_SETTING(limits, max_json_depth, "deepest JSON nesting accepted"),
      PARLEY_SETTING(limits, max_text_bytes, "largest message text, UTF-8 bytes"),
      PARLEY_SETTING(limits, max_client_msg_id_bytes, "longest client_msg_id"),
      PARLEY_SETTING(limits, max_title_bytes, "longest group or channel title"),
      PARLEY_SETTING(limits, max_username_bytes, "longest username"),
      PARLEY_SETTING(limits, max_outbound_bytes, "bytes queued to one session; beyond: close 4002 (slow consumer)"),
      PARLEY_SETTING(limits, auth_timeout_ms, "time for a new connection to authenticate; then close 4001"),
      PARLEY_SETTING(limits, idle_timeout_ms, "a connection silent this long is closed (4000)"),
      PARLEY_SETTING(limits, ping_interval_ms, "the server pings a connection silent this long"),
      PARLEY_SETTING(limits, write_timeout_ms, "a socket write pending this long closes the connection"),
      PARLEY_SETTING(limits, frames_per_second, "frames a session may send per second, sustained"),
      PARLEY_SETTING(limits, frames_burst, "frames a session may send in a burst"),
      PARLEY_SETTING(limits, flood_close_after, "consecutive rate-limited frames before close 4029"),
      PARLEY_SETTING(limits, max_group_members, "largest group"),
      PARLEY_SETTING(limits, max_channel_members, "largest channel"),
      PARLEY_SETTING(limits, max_members_per_request, "users in one create/add-members request"),
      PARLEY_SETTING(limits, max_users_per_admin_request, "users in one admin bulk-create request"),
      PARLEY_SETTING(limits, max_history_page, "most events in one history page"),
      PARLEY_SETTING(limits, max_sync_page, "most events in one sync page"),
      PARLEY_SETTING(limits, max_page_bytes, "history and sync pages end early (has_more) past about this many bytes"),
      PARLEY_SETTING(limits, max_http_body_bytes, "largest REST request body"),
      PARLEY_SETTING(limits, max_http_header_bytes, "largest HTTP request header block"),
      PARLEY_SETTING(limits, http_idle_timeout_ms, "idle keep-alive HTTP connections are closed after this"),
      PARLEY_SETTING(limits, max_connections, "most open client connections per process"),
      PARLEY_SETTING(limits, max_reactions_per_message, "distinct emoji one user may put on one message"),
      PARLEY_SETTING(limits, max_pins, "pinned messages per conversation"),
      PARLEY_SETTING(limits, max_mentions_per_message, "mentions recognised in one message (counting @all); further ones stay plain text"),
      PARLEY_SETTING(limits, max_unread_count, "unread counts are counted up to this (a conversation with more shows this number)"),
      PARLEY_SETTING(limits, receipt_flush_ms, "receipts are coalesced this long before they are stored and sent"),
      PARLEY_SETTING(limits, typing_throttle_ms, "typing events from one user in one conversation: at most one per this"),
      PARLEY_SETTING(limits, typing_ttl_ms, "a typing indicator ends this long after its last refresh"),
      PARLEY_SETTING(presence, heartbeat_ms, "clients should ping this often (announced in the hello reply)"),
      PARLEY_SETTING(presence, ttl_ms, "a session with no ping for this long no longer counts as online"),
      PARLEY_SETTING(presence, batch_ms, "presence changes are gathered and sent at most this often"),
  };
  return table;
}

const Setting* find_setting(const std::string& name) {
  for (const auto& s : settings())
    if (s.name == name) return &s;
  return nullptr;
}

std::string env_name(const std::string& setting_name) {
  std::string out = "PARLEY_";
  for (char c : setting_name) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

void apply_toml_file(Config& config, const std::string& path) {
  toml::value root;
  try {
    root = toml::parse(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("config file " + path + ": " + e.what());
  }
  for (const auto& [section, table] : root.as_table()) {
    if (!table.is_table()) throw std::runtime_error("config file " + path + ": '" + section + "' is not a [section]");
    for (const auto& [key, value] : table.as_table()) {
      const std::string name = section + "." + key;
      const Setting* setting = find_setting(name);
      if (!setting) throw std::runtime_error("config file " + path + ": unknown setting '" + name + "'");
      std::string text;
      if (value.is_string()) text = value.as_string().str;
      else if (value.is_integer()) text = std::to_string(value.as_integer());
      else if (value.is_boolean()) text = value.as_boolean() ? "true" : "false";
      else throw std::runtime_error("config file " + path + ": '" + name + "' must be a string, integer or boolean");
      setting->set(config, text);
    }
  }
}

}  // namespace

std::string Config::store_url() const {
  if (!store.url.empty()) return store.url;
  return "sqlite:" + server.data_dir + "/parley.db";
}

std::vector<SettingInfo> describe_settings() {
  std::vector<SettingInfo> out;
  const Config defaults;
  for (const auto& s : settings()) out.push_back({s.name, s.get(defaults), s.help});
  return out;
}

LoadResult load_config(int argc, const char* const* argv) {
  LoadResult result;
  const Config defaults;

  CLI::App app{"parleyd: the Parley chat server.\n"
               "Every setting can be given as a flag (--section.key VALUE), in the TOML file given by\n"
               "--config ([section] key = value) or as an environment variable PARLEY_SECTION_KEY.\n"
               "Precedence: flag > environment > file > default.",
               "parleyd"};
  app.set_version_flag("--version", std::string(PARLEY_VERSION));
  std::string config_path;
  app.add_option("--config", config_path, "TOML configuration file");
  bool settings_markdown = false;
  app.add_flag("--settings-markdown", settings_markdown, "print every setting as a Markdown table and exit");
  std::string listen_alias, data_dir_alias;
  app.add_option("--listen", listen_alias, "alias of --server.listen");
  app.add_option("--data-dir", data_dir_alias, "alias of --server.data_dir");

  std::vector<std::pair<const Setting*, std::string>> flag_values;
  flag_values.reserve(settings().size());
  for (const auto& s : settings()) flag_values.emplace_back(&s, std::string());
  for (auto& [setting, text] : flag_values) {
    app.add_option("--" + setting->name, text, setting->help + "  [env " + env_name(setting->name) + "]")
        ->default_str(setting->get(defaults))
        ->group("Settings");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    result.exit_now = true;
    result.exit_code = app.exit(e);
    return result;
  }

  if (settings_markdown) {
    std::printf("| setting | default | environment | meaning |\n|---|---|---|---|\n");
    for (const auto& s : settings())
      std::printf("| `%s` | `%s` | `%s` | %s |\n", s.name.c_str(), s.get(defaults).c_str(), env_name(s.name).c_str(),
                  s.help.c_str());
    result.exit_now = true;
    return result;
  }

  Config config;
  if (!config_path.empty()) apply_toml_file(config, config_path);
  for (const auto& s : settings()) {
    if (const char* value = std::getenv(env_name(s.name).c_str())) s.set(config, value);
  }
  for (const auto& [setting, text] : flag_values) {
    if (app.count("--" + setting->name) > 0) setting->set(config, text);
  }
  if (app.count("--listen") > 0) config.server.listen = listen_alias;
  if (app.count("--data-dir") > 0) config.server.data_dir = data_dir_alias;

  if (config.server.node_id < 0 || config.server.node_id > 1023)
    throw std::runtime_error("server.node_id must be within 0..1023");
  if (config.limits.max_frame_bytes < 1024) throw std::runtime_error("limits.max_frame_bytes must be at least 1024");
  if (config.limits.max_history_page < 1 || config.limits.max_sync_page < 1)
    throw std::runtime_error("page limits must be positive");
  {
    const int size = config.store.sqlite_page_size;
    if (size < 512 || size > 65536 || (size & (size - 1)) != 0)
      throw std::runtime_error("store.sqlite_page_size must be a power of two in 512..65536");
  }
  if (config.limits.max_mentions_per_message < 0 || config.limits.max_unread_count < 1)
    throw std::runtime_error("limits.max_mentions_per_message must be >= 0 and limits.max_unread_count >= 1");
  if (config.store.max_batch < 1) throw std::runtime_error("store.max_batch must be positive");

  result.config = std::move(config);
  return result;
}

}  // namespace parley
