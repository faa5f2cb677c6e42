// parley-bench scenarios. Each returns the process exit status and writes a JSON report.
#pragma once

#include "harness.hpp"

namespace parley::bench {

struct LoadOptions {      // shared by direct and group
  double rate = 0;        // messages/s per sender; 0 = flat out, `window` in flight each
  int window = 8;
  double duration = 10;   // measured seconds
  double warmup = 2;      // seconds before measuring
  int text_bytes = 32;
};

struct DirectOptions {
  int pairs = 100;
  LoadOptions load;
  int presence_users = 0;         // extra users switching away/online (in pairs of peers)
  double presence_period = 5;     // seconds between two switches of one such user
};

struct GroupOptions {
  int group_size = 100;
  int senders = 4;
  LoadOptions load;
};

struct ConnectionsOptions {
  int connections = 10000;
  double hold = 10;        // seconds to hold them open before measuring memory
  int concurrency = 500;   // connection attempts in flight
  int source_addresses = 19;  // spread over 127.0.0.2 .. 127.0.0.(1+n)
};

struct StormOptions {
  int clients = 2000;
  double timeout = 120;
  int backoff_base_ms = 250;
  int backoff_cap_ms = 10000;
  // 0: every client drops its own connection. Else the storm is this server process killed
  // (SIGKILL: a cluster node behind HAProxy); only its clients reconnect.
  int kill_pid = 0;
};

struct HistoryOptions {
  int messages = 10000;
  int iterations = 2000;
  int page = 50;
  int missed = 1000;          // sync after this many missed messages (timed to has_more = false)
  int missed_conversations = 1;  // > 1: the missed messages come after the fill, spread over this many direct chats
  int sync_iterations = 50;
  int sync_limit = 0;         // events per sync page; 0 = the server's default
};

int run_direct(const CommonOptions& common, const DirectOptions& options);
int run_group(const CommonOptions& common, const GroupOptions& options);
int run_connections(const CommonOptions& common, const ConnectionsOptions& options);
int run_storm(const CommonOptions& common, const StormOptions& options);
int run_history(const CommonOptions& common, const HistoryOptions& options);

// --- shared by the load scenarios (load.cpp) ---

// A message body "T<send time ns>:<sender>:<n>:" padded to `bytes`.
std::string stamped_text(std::int64_t sent_ns, UserId sender, std::uint64_t n, int bytes);
// Parses a stamped text; false if it is not one. parse_stamp_at reads from `text` up to the
// first character that cannot continue the stamp (it need not be NUL-terminated there).
bool parse_stamp(const std::string& text, std::int64_t& sent_ns, UserId& sender, std::uint64_t& n);
bool parse_stamp_at(const char* text, std::int64_t& sent_ns, UserId& sender, std::uint64_t& n);

// The conversation id in an ack ("conversation_id") or in a reply carrying "conversation".
ConversationId conversation_of(const client::Reply& reply);
// The "pos" of an ack (0 if none).
Pos pos_of(const client::Reply& reply);

// Creates, on their threads, one client per user (not yet started), user i on server
// i % target.server_count() unless `tune` says otherwise; returns them in user order.
std::vector<std::shared_ptr<client::Client>> make_clients(
    ClientThreads& threads, const Target& target, const std::vector<BenchUser>& users,
    const std::function<void(client::ClientOptions&, std::size_t index)>& tune = {});

}  // namespace parley::bench
