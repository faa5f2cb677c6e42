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

// A setting: its name, help, the values it allows (for --help and the docs), how to read and
// write it as text, and how to check a value.
struct Setting {
  std::string name;
  std::string help;
  std::string allowed;
  std::function<void(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
  // An error message if the value in `config` is not allowed; empty if it is.
  std::function<std::string(const Config&)> check;
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
Setting make_setting(std::string name, std::string help, std::string allowed, Accessor access,
                     std::function<std::string(const Config&)> check) {
  Setting s;
  s.name = name;
  s.help = std::move(help);
  s.allowed = std::move(allowed);
  s.set = [access, name](Config& c, const std::string& text) { parse_into(access(c), name, text); };
  s.get = [access](const Config& c) { return to_text(access(const_cast<Config&>(c))); };
  s.check = std::move(check);
  return s;
}

// An integer in [min, max].
template <typename Accessor>
Setting integer_setting(std::string name, std::int64_t min, std::int64_t max, std::string help, Accessor access) {
  auto check = [access, min, max](const Config& c) -> std::string {
    const std::int64_t v = access(const_cast<Config&>(c));
    if (v < min || v > max) return "must be within " + std::to_string(min) + ".." + std::to_string(max);
    return {};
  };
  return make_setting(std::move(name), std::move(help), std::to_string(min) + ".." + std::to_string(max), access, check);
}

// One of a fixed list of words ("a|b|c").
template <typename Accessor>
Setting choice_setting(std::string name, std::string choices, std::string help, Accessor access) {
  auto check = [access, choices](const Config& c) -> std::string {
    const std::string& v = access(const_cast<Config&>(c));
    std::string_view rest = choices;
    while (!rest.empty()) {
      const auto bar = rest.find('|');
      if (rest.substr(0, bar) == v) return {};
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    return "must be one of " + choices;
  };
  return make_setting(std::move(name), std::move(help), choices, access, check);
}

// A key or bearer token: empty (feature off / generated) or at least kMinSecretBytes bytes, so
// that it cannot be guessed or recovered from what it signs.
constexpr std::size_t kMinSecretBytes = 32;
template <typename Accessor>
Setting secret_setting(std::string name, std::string help, Accessor access) {
  auto check = [access](const Config& c) -> std::string {
    const std::string& v = access(const_cast<Config&>(c));
    if (!v.empty() && v.size() < kMinSecretBytes)
      return "must be empty or at least " + std::to_string(kMinSecretBytes) + " bytes (it is " + std::to_string(v.size()) + ")";
    return {};
  };
  return make_setting(std::move(name), std::move(help), "empty or >= 32 bytes", access, check);
}

template <typename Accessor>
Setting text_setting(std::string name, std::string help, Accessor access) {
  return make_setting(std::move(name), std::move(help), "text", access, nullptr);
}

template <typename Accessor>
Setting bool_setting(std::string name, std::string help, Accessor access) {
  return make_setting(std::move(name), std::move(help), "true|false", access, nullptr);
}

#define PARLEY_ACCESS(section, key) [](Config& c) -> auto& { return c.section.key; }
#define PARLEY_INT(section, key, min, max, help) integer_setting(#section "." #key, min, max, help, PARLEY_ACCESS(section, key))
#define PARLEY_CHOICE(section, key, choices, help) choice_setting(#section "." #key, choices, help, PARLEY_ACCESS(section, key))
#define PARLEY_SECRET(section, key, help) secret_setting(#section "." #key, help, PARLEY_ACCESS(section, key))
#define PARLEY_TEXT(section, key, help) text_setting(#section "." #key, help, PARLEY_ACCESS(section, key))
#define PARLEY_BOOL(section, key, help) bool_setting(#section "." #key, help, PARLEY_ACCESS(section, key))

constexpr std::int64_t kDay_ms = 24LL * 3600 * 1000;
constexpr std::int64_t kGiB = 1LL << 30;

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      PARLEY_TEXT(server, listen, "HOST:PORT to serve HTTP and WebSocket (/ws) on"),
      PARLEY_TEXT(server, data_dir, "directory for the database, keys and media"),
      PARLEY_INT(server, io_threads, 0, 256, "I/O threads; 0 = one per CPU core"),
      PARLEY_INT(server, reader_threads, 1, 64, "store reader threads (history, sync, lists)"),
      PARLEY_INT(server, node_id, 0, 1023, "node id, embedded in message ids; unique per node"),
      PARLEY_CHOICE(server, log_level, "trace|debug|info|warn|error", "least severe log lines written"),
      PARLEY_CHOICE(server, log_format, "text|json", "text (key=value) or one JSON object per line"),
      PARLEY_TEXT(server, web_root, "directory served at /; empty = web/dist beside the binary's source tree"),
      PARLEY_INT(server, drain_ms, 0, 600000, "on SIGTERM, /readyz answers 503 for this long while everything else keeps serving, so a load balancer stops sending new clients before sessions close (behind HAProxy: more than its check interval x fall)"),
      PARLEY_INT(server, shutdown_grace_ms, 0, 600000, "on SIGTERM, time allowed to flush sessions before closing"),
      PARLEY_TEXT(server, tls_cert, "PEM certificate chain (leaf first) for TLS on server.listen; reloaded on SIGHUP; empty = plain HTTP"),
      PARLEY_TEXT(server, tls_key, "PEM private key of server.tls_cert"),
      PARLEY_INT(server, hsts_max_age_s, 0, 63072000, "max-age of the Strict-Transport-Security header sent with TLS on; 0 = not sent"),
      PARLEY_TEXT(server, allowed_origins, "browser origins (scheme://host[:port], comma-separated) allowed to open /ws and read the API; empty = the server's own host only; * = any"),
      PARLEY_BOOL(server, ws_query_token, "accept the token as ?token= on /ws (it then appears in proxy and access logs)"),
      PARLEY_TEXT(server, trusted_proxies, "addresses and CIDR ranges (comma-separated) of proxies trusted to name the client (X-Forwarded-For or PROXY protocol)"),
      PARLEY_BOOL(server, proxy_protocol, "connections to server.listen must come from a trusted proxy and start with a PROXY protocol v1/v2 header"),
      PARLEY_TEXT(server, metrics_listen, "HOST:PORT of the operator port serving /metrics, /healthz and /readyz only; empty = none"),
      PARLEY_SECRET(server, metrics_token, "bearer token that /metrics on server.listen requires; empty = /metrics is not served there"),
      PARLEY_TEXT(store, url, "store engine URL: sqlite:PATH or postgresql://USER:PASSWORD@HOST:PORT/DB?PARAMS (libpq URI); empty = sqlite:<data_dir>/parley.db"),
      PARLEY_CHOICE(store, sqlite_synchronous, "full|normal", "full (fsync every group commit) or normal (survives process crash, not power loss)"),
      PARLEY_INT(store, sqlite_cache_mb, 1, 65536, "SQLite page cache of each reader connection, MiB"),
      PARLEY_INT(store, sqlite_writer_cache_mb, 1, 65536, "SQLite page cache of the writer connection, MiB; small on purpose: a commit after a page split that renumbered pages scans all of it"),
      PARLEY_INT(store, sqlite_wal_max_mb, 1, 65536, "WAL size (MiB) past which the WAL starts over from its beginning (a RESTART checkpoint; the file keeps this size); checkpoints run on their own thread"),
      PARLEY_INT(store, sqlite_page_size, 512, 65536, "page size in bytes of a new database file (a power of two); an existing file keeps its own"),
      PARLEY_INT(store, postgres_connect_timeout_s, 1, 600, "PostgreSQL: seconds one connection attempt may take (a connect_timeout in the URL wins)"),
      PARLEY_INT(store, postgres_statement_timeout_ms, 0, 3600000, "PostgreSQL: the server cancels a statement running longer (0 = no limit)"),
      PARLEY_INT(store, postgres_network_timeout_ms, 1000, 600000, "PostgreSQL: a connection silent this long (a network partition) is dropped by parleyd, and the server rolls back what it left open, releasing its locks"),
      PARLEY_INT(store, postgres_start_timeout_s, 0, 3600, "PostgreSQL: how long start-up waits for the server before giving up"),
      PARLEY_INT(store, max_batch, 1, 1000000, "most write operations in one group commit"),
      PARLEY_INT(store, max_queue, 1, 100000000, "write operations waiting for the writer; beyond, requests fail with 'unavailable'"),
      PARLEY_INT(auth, token_ttl_s, 1, 31536000, "lifetime of access tokens issued by login/register, seconds (at most a year)"),
      PARLEY_SECRET(auth, secret, "HMAC-SHA256 key for Parley tokens; empty = generated once into data_dir/token.key"),
      PARLEY_SECRET(auth, jwt_secret, "HS256 key of a host application's JWTs; empty = host tokens disabled"),
      PARLEY_TEXT(auth, jwt_issuer, "if set, host JWTs must carry this 'iss'"),
      PARLEY_TEXT(auth, jwt_audience, "if set, host JWTs must carry this 'aud'"),
      PARLEY_INT(auth, argon2_opslimit, 1, 100, "argon2id passes (libsodium opslimit); 2 = interactive"),
      PARLEY_INT(auth, argon2_memlimit_kb, 8, 4194304, "argon2id memory, KiB; 65536 = interactive"),
      PARLEY_INT(auth, hash_threads, 1, 256, "threads that hash passwords"),
      PARLEY_SECRET(auth, admin_token, "bearer token for the admin API (/v1/admin/*); empty = admin API disabled"),
      PARLEY_INT(auth, jwt_max_lifetime_s, 60, 31536000, "host JWTs whose exp lies further ahead (or further after their iat) are refused"),
      PARLEY_CHOICE(auth, registration, "open|invite|closed", "who may create an account with POST /v1/auth/register: anyone, holders of an invite code (admin API), nobody"),
      PARLEY_INT(auth, min_password_bytes, 8, 1024, "shortest password accepted"),
      PARLEY_INT(auth, min_password_entropy_bits, 0, 200, "least estimated strength of a new password in bits (zxcvbn: common passwords, names, patterns score low); 0 = length only"),
      PARLEY_INT(auth, login_free_failures, 1, 1000, "failed sign-ins of one account before each further attempt waits (1 s, doubling)"),
      PARLEY_INT(auth, login_address_free_failures, 1, 1000000, "failed sign-ins from one client address before each further attempt waits (1 s, doubling)"),
      PARLEY_INT(auth, login_max_delay_s, 1, 86400, "longest wait imposed after failed sign-ins"),
      PARLEY_INT(auth, login_failure_window_s, 60, 604800, "failed sign-ins are forgotten after this long without another"),
      PARLEY_INT(auth, signups_per_address_per_hour, 1, 1000000, "accounts one client address may register per hour (burst of the same size)"),
      PARLEY_INT(auth, max_pending_hashes_per_address, 1, 1024, "password hashes (sign-ins, sign-ups, password changes) one client address may have queued or running"),
      PARLEY_INT(auth, password_checks_per_address_per_minute, 1, 1000000, "POST /v1/auth/password_check calls per client address per minute"),
      PARLEY_INT(limits, max_frame_bytes, 1024, 64 << 20, "largest WebSocket message accepted; larger: close 1009"),
      PARLEY_INT(limits, max_json_depth, 2, 128, "deepest JSON nesting accepted (containers: objects and arrays)"),
      PARLEY_INT(limits, max_text_bytes, 1, 16 << 20, "largest message text, UTF-8 bytes"),
      PARLEY_INT(limits, max_client_msg_id_bytes, 1, 1024, "longest client_msg_id"),
      PARLEY_INT(limits, max_title_bytes, 1, 65536, "longest group or channel title"),
      PARLEY_INT(limits, max_username_bytes, 3, 255, "longest username"),
      PARLEY_INT(limits, max_display_name_bytes, 1, 1024, "longest display name, UTF-8 bytes after normalization"),
      PARLEY_INT(limits, max_outbound_bytes, 4096, kGiB, "bytes queued to one session; beyond: close 4002 (slow consumer)"),
      PARLEY_INT(limits, auth_timeout_ms, 100, 3600000, "time for a new connection to authenticate; then close 4001"),
      PARLEY_INT(limits, idle_timeout_ms, 1000, kDay_ms, "a connection silent this long is closed (4000)"),
      PARLEY_INT(limits, ping_interval_ms, 100, kDay_ms, "the server pings a connection silent this long"),
      PARLEY_INT(limits, write_timeout_ms, 100, 3600000, "a socket write pending this long closes the connection"),
      PARLEY_INT(limits, frames_per_second, 1, 100000000, "frames a session may send per second, sustained"),
      PARLEY_INT(limits, frames_burst, 1, 100000000, "frames a session may send in a burst"),
      PARLEY_INT(limits, flood_close_after, 1, 100000000, "consecutive rate-limited frames before close 4029"),
      PARLEY_INT(limits, max_group_members, 2, 1000000, "largest group"),
      PARLEY_INT(limits, max_channel_members, 1, 1000000000, "largest channel"),
      PARLEY_INT(limits, max_members_per_request, 1, 100000, "users in one create/add-members request"),
      PARLEY_INT(limits, max_users_per_admin_request, 1, 1000000, "users in one admin bulk-create request"),
      PARLEY_INT(limits, max_history_page, 1, 10000, "most events in one history page"),
      PARLEY_INT(limits, max_sync_page, 1, 100000, "most events in one sync page"),
      PARLEY_INT(limits, max_page_bytes, 1024, kGiB, "history and sync pages end early (has_more) past about this many bytes"),
      PARLEY_INT(limits, max_http_body_bytes, 1024, kGiB, "largest REST request body"),
      PARLEY_INT(limits, max_http_header_bytes, 1024, 1 << 20, "largest HTTP request header block"),
      PARLEY_INT(limits, http_idle_timeout_ms, 100, 3600000, "idle keep-alive HTTP connections are closed after this"),
      PARLEY_INT(limits, max_connections, 1, 10000000, "most open client connections per process"),
      PARLEY_INT(limits, max_connections_per_address, 1, 10000000, "most open connections of one client address; beyond: 429, closed"),
      PARLEY_INT(limits, max_pending_per_address, 1, 10000000, "most connections of one client address that have not completed a request or a hello; beyond: 429, closed"),
      PARLEY_INT(limits, max_sessions_per_user, 1, 1000000, "most authenticated WebSocket sessions of one user; beyond, hello gets limit_reached and close 4003"),
      PARLEY_INT(limits, user_requests_per_second, 1, 100000000, "commands per user per second, sustained, across all its sessions and REST (ping excluded)"),
      PARLEY_INT(limits, user_requests_burst, 1, 100000000, "commands per user in a burst (token-bucket size)"),
      PARLEY_INT(limits, max_reactions_per_message, 1, 1000, "distinct emoji one user may put on one message"),
      PARLEY_INT(limits, max_pins, 1, 100000, "pinned messages per conversation"),
      PARLEY_INT(limits, max_pinned_conversations, 1, 1000, "conversations one user may pin (conversation.settings)"),
      PARLEY_INT(limits, max_hide_batch, 1, 10000, "messages one message.hide may name (its seqs); beyond: too_large"),
      PARLEY_INT(limits, max_attachments, 1, 100, "attachments (media ids) one message may carry; beyond: too_large"),
      PARLEY_INT(limits, max_media_urls, 1, 1000, "media ids one media.urls may name; beyond: too_large"),
      PARLEY_INT(limits, max_search_results, 1, 1000, "users.search: the most users one page may hold (its limit)"),
      PARLEY_INT(limits, default_search_results, 1, 1000, "users.search: users per page without a limit (at most max_search_results)"),
      PARLEY_INT(limits, profile_changes_per_hour, 1, 1000000, "account.update_profile calls per user per hour, counted on each node (burst of the same size)"),
      PARLEY_INT(limits, max_mentions_per_message, 0, 10000, "mentions recognised in one message (counting @all); further ones stay plain text"),
      PARLEY_INT(limits, max_unread_count, 1, 1000000, "unread counts are counted up to this (a conversation with more shows this number)"),
      PARLEY_INT(limits, receipt_flush_ms, 0, 60000, "receipts are coalesced this long before they are stored and sent"),
      PARLEY_INT(limits, typing_throttle_ms, 0, 600000, "typing events from one user in one conversation: at most one per this"),
      PARLEY_INT(limits, typing_ttl_ms, 100, 600000, "a typing indicator ends this long after its last refresh"),
      PARLEY_TEXT(bus, url, "message bus between nodes: empty = a single node; nats://HOST:PORT[,nats://HOST2:PORT2...] = a NATS server or cluster (needs a PostgreSQL store.url shared by every node)"),
      PARLEY_TEXT(bus, subject_prefix, "first token of every bus subject (clusters sharing one NATS need different prefixes)"),
      PARLEY_INT(bus, gap_wait_ms, 1, 60000, "a missing commit position waits this long for the bus before it is read from the store"),
      PARLEY_INT(bus, ping_interval_ms, 100, 600000, "how often the node pings its NATS server; after two unanswered pings (a network partition) it drops the connection and connects to another server"),
      PARLEY_INT(bus, gather_ms, 10, 60000, "how long GET /v1/admin/sessions waits for every node's answer over the bus (nodes that answer later are left out and not named in its 'nodes')"),
      PARLEY_INT(bus, probe_ms, 10, 60000, "how often the store's newest commit position is checked against what this node delivered (finds batches a dead node committed but never published)"),
      PARLEY_TEXT(directory, url, "what the nodes of a cluster share about connected users (presence, the session cap, the request rate): empty = a single node; redis://[:PASSWORD@]HOST:PORT[/DB] = a Redis server (needed with bus.url)"),
      PARLEY_TEXT(directory, key_prefix, "first part of every Redis key (clusters sharing one Redis need different prefixes)"),
      PARLEY_INT(directory, timeout_ms, 10, 60000, "longest wait for Redis on one round trip or connect; beyond, the call fails and is retried later"),
      PARLEY_INT(directory, sync_ms, 10, 10000, "how often a node adds its users' request counts to Redis and reads the cluster's totals (limits.user_requests_per_second across nodes holds within this delay)"),
      PARLEY_INT(presence, heartbeat_ms, 100, 3600000, "clients should ping this often (announced in the hello reply)"),
      PARLEY_INT(presence, ttl_ms, 100, kDay_ms, "a session with no ping for this long no longer counts as online"),
      PARLEY_INT(presence, auto_away_ms, 0, kDay_ms, "a session from which no request but ping, sync or a receipt that only moves delivered_seq came for this long counts as away (0 = never): an untouched open tab neither shows its user online nor keeps notifications from their phone"),
      PARLEY_INT(presence, batch_ms, 10, 60000, "presence changes are gathered and sent at most this often; lapsed heartbeats are noticed at this interval too"),
      PARLEY_CHOICE(media, backend, "local|s3", "where uploaded files live: local = media.dir, served by parleyd at signed URLs (a cluster's nodes need it shared, and the same media.secret); s3 = an S3-compatible store (media.s3.*) that clients reach with pre-signed URLs"),
      PARLEY_TEXT(media, dir, "directory of the local backend's files; empty = <data_dir>/media"),
      PARLEY_SECRET(media, secret, "HMAC-SHA256 key of the local backend's signed URLs; empty = generated once into data_dir/media.key (a cluster needs the same key on every node)"),
      PARLEY_INT(media, max_file_bytes, 1, 1LL << 40, "largest file one upload may declare, bytes"),
      PARLEY_INT(media, user_quota_bytes, 0, 1LL << 50, "bytes of uploads one user may have stored (completed and pending); 0 = no quota"),
      PARLEY_INT(media, max_pending_uploads, 1, 100000, "uploads one user may have requested and not yet completed"),
      PARLEY_INT(media, upload_url_ttl_s, 10, 604800, "how long a signed upload (PUT) URL is valid, seconds"),
      PARLEY_INT(media, download_url_ttl_s, 10, 604800, "how long a signed download (GET) URL is valid, seconds"),
      PARLEY_INT(media, upload_ttl_s, 10, 31536000, "an upload no message carries is deleted this long after its request (never completed) or its completion (never attached), seconds"),
      PARLEY_INT(media, cleanup_interval_s, 1, 86400, "how often each node looks for uploads past media.upload_ttl_s and files of deleted messages, and deletes them (files and rows), seconds"),
      PARLEY_INT(media, max_image_pixels, 1, 1LL << 40, "largest image (width x height of its first frame) that gets a thumbnail; checked from the header before anything is decoded (decompression bombs)"),
      PARLEY_INT(media, image_timeout_ms, 100, 600000, "wall-clock limit of each image child process (vipsheader, vips thumbnail); then it is killed"),
      PARLEY_INT(media, image_memory_mb, 64, 65536, "address-space limit of each image child process, MiB"),
      PARLEY_INT(media, thumbnail_px, 16, 4096, "longest side of thumbnails, pixels (images are never enlarged)"),
      PARLEY_INT(media, preview_px, 4, 256, "longest side of the tiny inline preview carried in events, pixels"),
      PARLEY_INT(media, preview_max_bytes, 128, 65536, "largest inline preview (JPEG bytes, before base64)"),
      PARLEY_TEXT(media, vips_dir, "directory holding libvips' vipsheader and vips programs (Debian's libvips-tools)"),
      PARLEY_TEXT(media, s3.endpoint, "media.backend = s3: the store's http(s)://HOST[:PORT], no path"),
      PARLEY_TEXT(media, s3.bucket, "media.backend = s3: the bucket"),
      PARLEY_TEXT(media, s3.region, "media.backend = s3: the region signatures are scoped to (S3-compatible stores mostly accept any)"),
      PARLEY_TEXT(media, s3.access_key, "media.backend = s3: access key id"),
      PARLEY_TEXT(media, s3.secret_key, "media.backend = s3: secret access key"),
      PARLEY_BOOL(media, s3.path_style, "media.backend = s3: address objects as ENDPOINT/BUCKET/KEY (true) or BUCKET.HOST/KEY (false)"),
      PARLEY_INT(media, s3.timeout_ms, 100, 600000, "media.backend = s3: parleyd's own requests to the store (media.complete's HEAD, GET and PUT, deletions) fail when connecting, sending or one read of the answer takes longer than this, milliseconds"),
      PARLEY_INT(push, max_subscriptions_per_user, 1, 1000, "push subscriptions one user may hold (all devices together); push.subscribe beyond it is limit_reached"),
      PARLEY_INT(push, max_endpoint_bytes, 64, 65536, "longest push subscription URL (Web Push, webhook) or device token (FCM, APNs), bytes"),
      PARLEY_BOOL(push, allow_http_endpoints, "accept http:// (not only https://) URLs for Web Push and webhook subscriptions: for a push service on a private network, and tests"),
      PARLEY_BOOL(push, allow_private_networks, "deliver to push services and webhooks whose address is loopback, private, link-local or unique-local (off: a user cannot make parleyd call into the operator's network); for an internal UnifiedPush server, and tests"),
      PARLEY_SECRET(push, vapid_private_key, "the VAPID key Web Push requests are signed with (RFC 8292): a P-256 private key in PEM, or the base64url private key `web-push generate-vapid-keys` prints; empty = generated once into data_dir/vapid.pem (a cluster needs the same key on every node: browsers' subscriptions are bound to it)"),
      PARLEY_TEXT(push, vapid_subject, "the contact push services see in VAPID requests: a mailto: or https: URI (Apple's service requires a real one)"),
      PARLEY_INT(push, ttl_s, 0, 2419200, "how long a push service keeps a Web Push notification for a device that is off, seconds (the TTL header)"),
      PARLEY_CHOICE(push, content, "full|sender|none|encrypted", "what a notification carries to the push service: full = sender, conversation and text; sender = sender and conversation, no text; none = only that something arrived (the device syncs); encrypted = full, sealed to the key the device registered (keys.p256dh/auth), and none for devices that registered no key"),
      PARLEY_INT(push, grace_ms, 0, 60000, "a user who is active (presence online) is notified of an event only if no device of theirs reported it delivered (receipt) within this time"),
      PARLEY_INT(push, timeout_ms, 100, 120000, "one delivery to a push service or webhook fails when it takes longer than this, milliseconds"),
      PARLEY_INT(push, max_in_flight, 1, 10000, "deliveries under way at once, all push services together"),
      PARLEY_INT(push, max_in_flight_per_host, 1, 10000, "deliveries under way at once to one host (a slow push service does not hold up the others)"),
      PARLEY_INT(push, retry_min_ms, 10, 3600000, "first wait before retrying a delivery that failed (429, 5xx, timeout); doubled each attempt; Retry-After wins when longer"),
      PARLEY_INT(push, retry_max_ms, 10, 86400000, "longest wait between two attempts"),
      PARLEY_INT(push, max_attempts, 1, 1000, "a notification is dropped after this many failed deliveries"),
      PARLEY_INT(push, lease_ms, 1000, 3600000, "a node that claimed a notification has this long to deliver it before another node may (a node that died)"),
      PARLEY_INT(push, poll_ms, 10, 600000, "how often a node looks for notifications due (retries, other nodes' events) when nothing woke it"),
      PARLEY_TEXT(push, fcm.credentials_file, "Firebase Cloud Messaging: the service account key (JSON) of the Firebase project; empty = no delivery to fcm subscriptions"),
      PARLEY_TEXT(push, fcm.base_url, "Firebase Cloud Messaging: where its HTTP v1 API is (a stand-in in tests)"),
      PARLEY_TEXT(push, apns.key_file, "Apple Push Notification service: the token signing key (.p8) of the developer account; empty = no delivery to apns subscriptions"),
      PARLEY_TEXT(push, apns.key_id, "Apple Push Notification service: the key id of push.apns.key_file"),
      PARLEY_TEXT(push, apns.team_id, "Apple Push Notification service: the developer account's team id"),
      PARLEY_TEXT(push, apns.base_url, "Apple Push Notification service: where production devices are reached (HTTP/2)"),
      PARLEY_TEXT(push, apns.sandbox_url, "Apple Push Notification service: where devices registered with environment = sandbox are reached"),
  };
  return table;
}

// Rules that involve more than one setting. Returns the first violation, or empty.
std::string check_combinations(const Config& c) {
  const int page = c.store.sqlite_page_size;
  if ((page & (page - 1)) != 0) return "store.sqlite_page_size must be a power of two";
  if (c.limits.max_text_bytes > c.limits.max_frame_bytes)
    return "limits.max_text_bytes must not exceed limits.max_frame_bytes";
  if (c.limits.ping_interval_ms >= c.limits.idle_timeout_ms)
    return "limits.ping_interval_ms must be shorter than limits.idle_timeout_ms";
  if (!c.auth.jwt_secret.empty() && c.auth.jwt_secret == c.auth.secret)
    return "auth.jwt_secret must differ from auth.secret";
  if (c.server.tls_cert.empty() != c.server.tls_key.empty())
    return "server.tls_cert and server.tls_key are set together (or neither)";
  if (c.server.proxy_protocol && c.server.trusted_proxies.empty())
    return "server.proxy_protocol needs server.trusted_proxies (the proxies allowed to send the header)";
  // A host token minted for another service that shares the key must not open Parley.
  if (!c.auth.jwt_secret.empty() && c.auth.jwt_audience.empty())
    return "auth.jwt_audience must be set when auth.jwt_secret is (host JWTs must name Parley in 'aud')";
  if (!c.bus.url.empty() && c.store_url().rfind("sqlite:", 0) == 0)
    return "bus.url needs a store shared by every node: set store.url to a postgresql:// URL";
  if (!c.bus.url.empty() && c.auth.secret.empty())
    return "bus.url needs auth.secret, the same on every node (a client's token is checked by whichever node it reaches)";
  if (c.bus.url.empty() != c.directory.url.empty())
    return "bus.url and directory.url are set together: a cluster needs both (NATS between nodes, Redis for presence, session caps and rate limits)";
  if (c.directory.key_prefix.empty() || c.directory.key_prefix.find_first_of(" \t\r\n") != std::string::npos)
    return "directory.key_prefix must be non-empty, without spaces";
  if (c.bus.subject_prefix.empty() || c.bus.subject_prefix.find_first_of(" .*>\t\r\n") != std::string::npos)
    return "bus.subject_prefix must be one non-empty NATS token (no spaces, '.', '*' or '>')";
  if (c.media.backend == "s3" && (c.media.s3.endpoint.empty() || c.media.s3.bucket.empty() ||
                                  c.media.s3.access_key.empty() || c.media.s3.secret_key.empty()))
    return "media.backend = s3 needs media.s3.endpoint, media.s3.bucket, media.s3.access_key and media.s3.secret_key";
  if (c.media.user_quota_bytes > 0 && c.media.max_file_bytes > c.media.user_quota_bytes)
    return "media.max_file_bytes must not exceed media.user_quota_bytes";
  if (c.media.preview_px > c.media.thumbnail_px) return "media.preview_px must not exceed media.thumbnail_px";
  // An upload's row must outlive its URL, or the cleanup could delete what is still arriving.
  if (c.media.upload_ttl_s < c.media.upload_url_ttl_s) return "media.upload_ttl_s must be at least media.upload_url_ttl_s";
  return {};
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
  // [section] key = value, and one level deeper for [section.group] key = value
  // (the setting "section.group.key").
  std::function<void(const std::string&, const toml::value&)> apply_table = [&](const std::string& prefix, const toml::value& table) {
    for (const auto& [key, value] : table.as_table()) {
      const std::string name = prefix + "." + key;
      if (value.is_table() && std::count(name.begin(), name.end(), '.') == 1) {
        apply_table(name, value);
        continue;
      }
      const Setting* setting = find_setting(name);
      if (!setting) throw std::runtime_error("config file " + path + ": unknown setting '" + name + "'");
      std::string text;
      if (value.is_string()) text = value.as_string().str;
      else if (value.is_integer()) text = std::to_string(value.as_integer());
      else if (value.is_boolean()) text = value.as_boolean() ? "true" : "false";
      else throw std::runtime_error("config file " + path + ": '" + name + "' must be a string, integer or boolean");
      setting->set(config, text);
    }
  };
  for (const auto& [section, table] : root.as_table()) {
    if (!table.is_table()) throw std::runtime_error("config file " + path + ": '" + section + "' is not a [section]");
    apply_table(section, table);
  }
}

}  // namespace

std::string Config::store_url() const {
  if (!store.url.empty()) return store.url;
  return "sqlite:" + server.data_dir + "/parley.db";
}

std::string Config::media_dir() const {
  if (!media.dir.empty()) return media.dir;
  return server.data_dir + "/media";
}

std::vector<SettingInfo> describe_settings() {
  std::vector<SettingInfo> out;
  const Config defaults;
  for (const auto& s : settings()) out.push_back({s.name, s.get(defaults), s.allowed, s.help});
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
    app.add_option("--" + setting->name, text,
                   setting->help + "  [" + setting->allowed + "; env " + env_name(setting->name) + "]")
        ->default_str(setting->get(defaults))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)  // a flag given twice: the last one counts
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
    std::printf("| setting | default | allowed | environment | meaning |\n|---|---|---|---|---|\n");
    for (const auto& s : settings())
      std::printf("| `%s` | `%s` | %s | `%s` | %s |\n", s.name.c_str(), s.get(defaults).c_str(), s.allowed.c_str(),
                  env_name(s.name).c_str(), s.help.c_str());
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

  // Every value is checked before anything starts: a bad setting is a start-up error, never a
  // silently weaker server.
  for (const auto& s : settings()) {
    if (!s.check) continue;
    if (std::string problem = s.check(config); !problem.empty())
      throw std::runtime_error("setting " + s.name + " = '" + s.get(config) + "': " + problem);
  }
  if (std::string problem = check_combinations(config); !problem.empty()) throw std::runtime_error(problem);

  result.config = std::move(config);
  return result;
}

}  // namespace parley
