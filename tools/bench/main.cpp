// parley-bench: load scenarios against a parleyd (spawned fresh, or given by URL), each with a
// progress line and a JSON result. docs/benchmarks.md shows the commands and the numbers.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "scenarios.hpp"

int main(int argc, char** argv) {
  using namespace parley::bench;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;  // one descriptor per client connection
    setrlimit(RLIMIT_NOFILE, &files);
  }

  CLI::App app{"parley-bench: load generator for parleyd"};
  app.require_subcommand(1);
  CommonOptions common;
  app.add_option("--server", common.server_urls,
                 "URL of a running parleyd (with auth.admin_token set); repeat or comma-separate for the nodes "
                 "of a cluster: clients are spread over them, admin calls go to the first")
      ->allow_extra_args(false)
      ->delimiter(',');
  app.add_option("--admin-token", common.admin_token, "its admin token")->capture_default_str();
  app.add_option("--spawn-server", common.spawn_server, "path to parleyd: start a fresh server for the run");
  app.add_option("--server-arg", common.server_args, "extra argument for the spawned server (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--server-pid", common.server_pids,
                 "pid of the running server (CPU and memory figures); repeat or comma-separate: summed")
      ->allow_extra_args(false)
      ->delimiter(',');
  app.add_option("--threads", common.threads, "client I/O threads")->capture_default_str();
  app.add_option("--out", common.out, "write the JSON result to this file too");
  app.add_option("--plot", common.plot, "draw the latency distributions into this PNG (needs gnuplot)");
  app.add_flag("--quiet", common.quiet, "no progress line");

  auto add_load = [](CLI::App* sub, LoadOptions& load) {
    sub->add_option("--rate", load.rate, "messages/s per sender; 0 = flat out")->capture_default_str();
    sub->add_option("--window", load.window, "messages in flight per sender when flat out")->capture_default_str();
    sub->add_option("--duration", load.duration, "measured seconds")->capture_default_str();
    sub->add_option("--warmup", load.warmup, "seconds before measuring")->capture_default_str();
    sub->add_option("--text-bytes", load.text_bytes, "message size")->capture_default_str();
  };
  DirectOptions direct;
  auto* direct_cmd = app.add_subcommand("direct", "user pairs sending 1:1 messages");
  direct_cmd->add_option("--pairs", direct.pairs, "sender/receiver pairs")->capture_default_str();
  add_load(direct_cmd, direct.load);
  direct_cmd->add_option("--presence-users", direct.presence_users,
                         "extra connected users, in pairs of peers, switching away/online meanwhile")
      ->capture_default_str();
  direct_cmd->add_option("--presence-period", direct.presence_period, "seconds between two switches of one of them")
      ->capture_default_str();

  GroupOptions group;
  auto* group_cmd = app.add_subcommand("group", "one group, some members sending, everyone receiving");
  group_cmd->add_option("--group-size", group.group_size, "members")->capture_default_str();
  group_cmd->add_option("--senders", group.senders, "members that send")->capture_default_str();
  add_load(group_cmd, group.load);

  ConnectionsOptions connections;
  auto* connections_cmd = app.add_subcommand("connections", "N authenticated idle connections: memory and connect rate");
  connections_cmd->add_option("--connections", connections.connections, "connections to open")->capture_default_str();
  connections_cmd->add_option("--hold", connections.hold, "seconds to hold them")->capture_default_str();
  connections_cmd->add_option("--concurrency", connections.concurrency, "connects in flight")->capture_default_str();
  connections_cmd->add_option("--source-addresses", connections.source_addresses,
                              "spread over 127.0.0.2 .. 127.0.0.(1+N); 0 = default source")->capture_default_str();

  StormOptions storm;
  auto* storm_cmd = app.add_subcommand("reconnect-storm", "drop every client at once; time until all re-synced");
  storm_cmd->add_option("--clients", storm.clients, "clients")->capture_default_str();
  storm_cmd->add_option("--timeout", storm.timeout, "give up after seconds")->capture_default_str();
  storm_cmd->add_option("--backoff-base-ms", storm.backoff_base_ms, "client reconnect backoff base")->capture_default_str();
  storm_cmd->add_option("--backoff-cap-ms", storm.backoff_cap_ms, "client reconnect backoff cap")->capture_default_str();
  storm_cmd->add_option("--kill-pid", storm.kill_pid,
                        "instead of dropping every connection, kill -9 this server process (a cluster node behind "
                        "the --server load balancer): time until its clients are back and re-synced")
      ->capture_default_str();

  HistoryOptions history;
  auto* history_cmd = app.add_subcommand("history", "latency of reading the latest page and paging back");
  history_cmd->add_option("--messages", history.messages, "messages in the conversation")->capture_default_str();
  history_cmd->add_option("--iterations", history.iterations, "latest-page reads")->capture_default_str();
  history_cmd->add_option("--page", history.page, "page size")->capture_default_str();
  history_cmd->add_option("--missed", history.missed, "sync after this many missed messages")->capture_default_str();
  history_cmd->add_option("--missed-conversations", history.missed_conversations,
                          "1: the missed messages are the conversation's last ones; N > 1: they are sent after the fill, "
                          "round-robin over N direct chats (the first is the filled one)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  history_cmd->add_option("--sync-iterations", history.sync_iterations, "timed catch-up syncs")->capture_default_str();
  history_cmd->add_option("--sync-limit", history.sync_limit, "events per sync page (0: the server's default)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));

  CLI11_PARSE(app, argc, argv);
  try {
    if (*direct_cmd) return run_direct(common, direct);
    if (*group_cmd) return run_group(common, group);
    if (*connections_cmd) return run_connections(common, connections);
    if (*storm_cmd) return run_storm(common, storm);
    if (*history_cmd) return run_history(common, history);
  } catch (const std::exception& e) {
    std::cerr << "parley-bench: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
