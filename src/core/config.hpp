// Config: every setting of parleyd in one typed struct. Each field is listed once in the
// settings table (config.cpp) with its name, default and help; the table drives the TOML file,
// PARLEY_* environment variables, command-line flags, `parleyd --help` and docs/operations.md.
// Precedence, lowest to highest: default, TOML file (--config), environment, flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "var";
  int io_threads = 0;        // 0 = one per CPU core
  int reader_threads = 2;    // store reader pool (history, sync, lists)
  int node_id = 0;           // 0..1023, part of every message id
  std::string log_level = "info";
  std::string log_format = "text";  // text | json
  std::string web_root;      // directory served at / (empty: built-in web client path)
  int drain_ms = 0;          // on SIGTERM, /readyz fails this long before connections close (load balancer notices)
  int shutdown_grace_ms = 5000;
  // TLS on the client port: both set, or neither (then plain HTTP; put a TLS proxy in front).
  std::string tls_cert;      // PEM certificate chain, leaf first; reloaded on SIGHUP
  std::string tls_key;       // PEM private key
  int hsts_max_age_s = 31536000;  // Strict-Transport-Security with TLS on; 0 = not sent
  std::string allowed_origins;    // browser origins allowed to use the API and /ws; empty = same host; "*" = any
  bool ws_query_token = false;    // accept ?token= on /ws (tokens in URLs end up in logs)
  std::string trusted_proxies;    // proxies whose X-Forwarded-For / PROXY header names the client
  bool proxy_protocol = false;    // the client port expects a PROXY header from a trusted proxy
  std::string metrics_listen;     // HOST:PORT of the operator port (/metrics, /healthz, /readyz); empty = none
  std::string metrics_token;      // bearer token for /metrics on the client port; empty = not served there
};

struct StoreConfig {
  std::string url;           // "sqlite:PATH"; empty = sqlite:<data_dir>/parley.db
  std::string sqlite_synchronous = "full";  // full | normal
  int sqlite_cache_mb = 64;
  // Small on purpose: a commit whose page split reordered pages scans the writer's whole cache
  // (SQLite's pcache truncate), so a big writer cache makes messages cost more as the store grows.
  int sqlite_writer_cache_mb = 8;
  int sqlite_wal_max_mb = 16;   // WAL size past which a RESTART checkpoint starts it over
  int sqlite_page_size = 1024;  // page size of a new database file (small: fewer WAL bytes per message)
  int postgres_connect_timeout_s = 5;
  int postgres_statement_timeout_ms = 30000;
  int postgres_network_timeout_ms = 10000;
  int postgres_start_timeout_s = 60;
  int max_batch = 4096;      // most write operations in one group commit
  int max_queue = 100000;    // write operations waiting for the writer; beyond: unavailable
};

struct AuthConfig {
  std::int64_t token_ttl_s = 30LL * 24 * 3600;
  std::string secret;        // HMAC key for Parley tokens; empty = generated into data_dir
  std::string jwt_secret;    // HS256 key of a host application's tokens; empty = disabled
  std::string jwt_issuer;    // required "iss" of host tokens, if set
  std::string jwt_audience;  // required "aud" of host tokens, if set
  int argon2_opslimit = 2;   // libsodium crypto_pwhash_OPSLIMIT_INTERACTIVE
  int argon2_memlimit_kb = 65536;  // 64 MiB, crypto_pwhash_MEMLIMIT_INTERACTIVE
  int hash_threads = 2;      // threads for password hashing
  std::string admin_token;   // bearer token of the admin API (/v1/admin/*); empty = disabled
  std::int64_t jwt_max_lifetime_s = 24 * 3600;  // host JWTs valid for longer are refused
  // Accounts and sign-in.
  std::string registration = "open";   // open | invite | closed
  int min_password_bytes = 8;
  int min_password_entropy_bits = 20;  // zxcvbn estimate; 0 = length only
  int login_free_failures = 5;         // failed sign-ins of one account before delays start
  int login_address_free_failures = 20;  // failed sign-ins from one client address before delays start
  int login_max_delay_s = 900;         // delays double per failure up to this
  int login_failure_window_s = 3600;   // failures are forgotten after this long without one
  int signups_per_address_per_hour = 10;
  int max_pending_hashes_per_address = 4;  // password hashes queued or running for one address
  int password_checks_per_address_per_minute = 30;
};

struct LimitsConfig {
  int max_frame_bytes = 131072;        // one WebSocket message (after reassembly); fits a max_text_bytes text even when every character is JSON-escaped
  int max_json_depth = 16;
  int max_text_bytes = 16384;          // message text
  int max_client_msg_id_bytes = 64;
  int max_title_bytes = 256;
  int max_username_bytes = 32;
  int max_display_name_bytes = 64;     // after normalization
  int max_outbound_bytes = 1 << 20;    // per session; beyond: closed as a slow consumer
  int auth_timeout_ms = 10000;         // time to send a valid hello
  int idle_timeout_ms = 60000;         // nothing received for this long: closed
  int ping_interval_ms = 20000;        // server pings a connection silent for this long
  int write_timeout_ms = 30000;        // a socket write pending longer: closed
  int frames_per_second = 100;         // per session, sustained
  int frames_burst = 200;              // per session, burst
  int flood_close_after = 200;         // consecutive rate-limited frames before closing
  int max_group_members = 1024;
  int max_channel_members = 1000000;
  int max_members_per_request = 256;
  int max_users_per_admin_request = 10000;
  int max_history_page = 100;
  int max_sync_page = 500;
  int max_page_bytes = 256 * 1024;     // history/sync pages stop growing past this (has_more)
  int max_http_body_bytes = 1 << 20;
  int max_http_header_bytes = 16384;
  int http_idle_timeout_ms = 30000;
  int max_connections = 100000;        // per process (the OS caps open files too)
  int max_connections_per_address = 1000;  // open connections of one client address
  int max_pending_per_address = 64;    // connections of one address not yet past their first request or hello
  int max_sessions_per_user = 64;      // authenticated WebSocket sessions of one user
  int user_requests_per_second = 50;   // commands per user (all sessions and REST together), sustained
  int user_requests_burst = 200;       // ... and in a burst
  int max_reactions_per_message = 20;  // distinct emoji one user may put on one message
  int max_pins = 50;                   // pinned messages per conversation
  int max_pinned_conversations = 5;    // conversations one user may pin (conversation.settings)
  int max_hide_batch = 100;            // messages one message.hide may name (its seqs)
  int max_attachments = 10;            // attachments (media ids) one message may carry
  int max_media_urls = 100;            // media ids one media.urls may name
  int max_search_results = 50;         // users.search: the largest page (limit)
  int default_search_results = 20;     // users.search: the page without a limit
  int profile_changes_per_hour = 20;   // account.update_profile per user per hour (burst of the same size)
  int max_mentions_per_message = 50;   // "@..." recognised in one message (counting @all); the rest is text
  int max_unread_count = 1000;         // unread_count is counted up to this and shown as this beyond
  int receipt_flush_ms = 200;          // read/delivered receipts are coalesced this long
  int typing_throttle_ms = 2000;       // typing events from one user in one conversation, at most one per this
  int typing_ttl_ms = 6000;            // a typing indicator ends this long after its last refresh
};

struct PresenceConfig {
  int heartbeat_ms = 15000;  // clients ping this often (announced in hello)
  int ttl_ms = 30000;        // no ping for this long: the session no longer counts as online
  int batch_ms = 500;        // presence changes are gathered and sent at most this often
  int auto_away_ms = 300000; // no request but ping for this long: the session counts as away (0 = never)
};

// Cluster mode: several nodes sharing a PostgreSQL store exchange committed batches over a bus.
struct BusConfig {
  std::string url;               // empty = one node; "nats://h:p[,nats://h2:p2...]"
  std::string subject_prefix = "parley";  // subjects are PREFIX.batches etc. (clusters sharing a NATS)
  int gap_wait_ms = 200;         // a gap in commit positions waits this long for the bus, then is read from the store
  int probe_ms = 250;            // how often the store's newest position is compared with what was delivered
  int ping_interval_ms = 5000;   // NATS pings; two unanswered: the connection is dropped and re-made
  int gather_ms = 500;           // how long a cluster-wide listing (admin sessions) waits for the nodes' answers
};

// Cluster mode: what the nodes share about connected users (presence across nodes, the
// per-user session cap and rate limit), in Redis.
struct DirectoryConfig {
  std::string url;               // empty = one node; "redis://[:password@]host:port[/db]"
  std::string key_prefix = "parley";  // Redis keys start with "PREFIX:" (clusters sharing a Redis)
  int timeout_ms = 1000;         // per Redis round trip (and connect)
  int sync_ms = 100;             // request counts are exchanged this often (the cross-node rate limit's reaction time)
};

// Media (photos, videos, files): where the bytes live, the limits of uploads, and how images
// are measured and thumbnailed (libvips' tools in a child process: docs/architecture.md).
struct MediaS3Config {
  std::string endpoint;       // http(s)://HOST[:PORT] of any S3-compatible store
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  bool path_style = true;     // ENDPOINT/BUCKET/KEY; false = BUCKET.HOST/KEY (virtual-hosted)
  int timeout_ms = 30000;     // each step (connect, send, each read) of parleyd's own requests to the store
};

struct MediaConfig {
  std::string backend = "local";   // local (parleyd serves media.dir) | s3
  std::string dir;                 // local backend's files; empty = <data_dir>/media
  std::string secret;              // HMAC key of the local backend's URLs; empty = generated into data_dir/media.key
  std::int64_t max_file_bytes = 100LL << 20;     // one upload
  std::int64_t user_quota_bytes = 10LL << 30;    // all of one user's stored uploads; 0 = no quota
  int max_pending_uploads = 20;    // uploads of one user requested but not completed
  int upload_url_ttl_s = 900;      // a signed PUT URL is valid this long
  int download_url_ttl_s = 300;    // a signed GET URL is valid this long
  int upload_ttl_s = 86400;        // an upload never completed is deleted after this
  int cleanup_interval_s = 300;    // how often uploads past upload_ttl_s are looked for and deleted
  std::int64_t max_image_pixels = 100'000'000;  // width x height; larger images are refused from their header, before decoding
  int image_timeout_ms = 15000;    // each libvips child process (header, thumbnail)
  int image_memory_mb = 1024;      // address space of each libvips child process
  int thumbnail_px = 320;          // longest side of thumbnails
  int preview_px = 32;             // longest side of the inline preview in events
  int preview_max_bytes = 512;     // the inline preview's JPEG, at most (events stay under 1 KB)
  std::string vips_dir = "/usr/bin";  // directory of vipsheader and vips (Debian's libvips-tools)
  MediaS3Config s3;
};

// Firebase Cloud Messaging (HTTP v1) and Apple Push Notification service: unset = no delivery.
struct PushFcmConfig {
  std::string credentials_file;                        // the service account's JSON key
  std::string base_url = "https://fcm.googleapis.com";
};
struct PushApnsConfig {
  std::string key_file;                                // the .p8 token signing key
  std::string key_id, team_id;
  std::string base_url = "https://api.push.apple.com";
  std::string sandbox_url = "https://api.sandbox.push.apple.com";
};

// Notifications to devices without a live session (issue 15).
struct PushConfig {
  int max_subscriptions_per_user = 20;  // push.subscribe beyond it: limit_reached
  int max_endpoint_bytes = 2048;        // a subscription's URL or device token
  bool allow_http_endpoints = false;    // http:// push and webhook URLs (a private network, tests)
  bool allow_private_networks = false;  // deliveries to loopback / private addresses (tests, an internal gateway)
  std::string vapid_private_key;        // PEM or base64url scalar; empty = data_dir/vapid.pem
  std::string vapid_subject = "mailto:postmaster@localhost";  // VAPID "sub"
  int ttl_s = 86400;                    // Web Push TTL header
  std::string content = "full";         // full | sender | none | encrypted: what a notification carries
  int grace_ms = 1500;                  // an active user is notified only if not delivered within it
  int timeout_ms = 10000;               // one delivery
  int max_in_flight = 64;               // deliveries at once
  int max_in_flight_per_host = 8;       // deliveries at once to one host
  int retry_min_ms = 1000;              // first retry wait, doubled per attempt (Retry-After wins)
  int retry_max_ms = 600000;            // longest retry wait
  int max_attempts = 12;                // then dropped
  int lease_ms = 60000;                 // a claimed notification is this node's for this long
  int poll_ms = 1000;                   // looking for due notifications when nothing woke the node
  PushFcmConfig fcm;
  PushApnsConfig apns;
};

struct Config {
  ServerConfig server;
  StoreConfig store;
  BusConfig bus;
  DirectoryConfig directory;
  AuthConfig auth;
  LimitsConfig limits;
  PresenceConfig presence;
  MediaConfig media;
  PushConfig push;

  std::string store_url() const;  // store.url with its default resolved
  std::string media_dir() const;  // media.dir with its default resolved
};

// One row of the settings table.
struct SettingInfo {
  std::string name;           // "section.key"
  std::string default_value;  // as text
  std::string allowed;        // the values it accepts, e.g. "1..1000" or "full|normal"
  std::string help;
};

// All settings with defaults and help, in table order.
std::vector<SettingInfo> describe_settings();

// Outcome of parsing the command line.
struct LoadResult {
  bool exit_now = false;  // --help or --version was printed
  int exit_code = 0;
  Config config;
};

// Parses defaults, the TOML file, PARLEY_* environment and flags. Throws std::runtime_error
// with a readable message on an unknown key or a bad value (start-up only).
LoadResult load_config(int argc, const char* const* argv);

}  // namespace parley
