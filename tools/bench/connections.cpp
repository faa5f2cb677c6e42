// The connections, reconnect-storm and history scenarios.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <simdjson.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <future>

#include "core/json_writer.hpp"
#include "scenarios.hpp"

namespace parley::bench {
namespace {

std::size_t count_live(const std::vector<std::shared_ptr<client::Client>>& clients, ClientThreads& threads) {
  std::atomic<std::size_t> count{0};
  threads.run_everywhere([&](std::size_t t) {
    std::size_t mine = 0;
    for (std::size_t i = t; i < clients.size(); i += threads.size())
      if (clients[i]->state() == client::State::live) ++mine;
    count.fetch_add(mine);
  });
  return count.load();
}

void stop_all(const std::vector<std::shared_ptr<client::Client>>& clients, ClientThreads& threads) {
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->stop();
  });
}

}  // namespace

int run_connections(const CommonOptions& common, const ConnectionsOptions& options) {
  Target target(common);
  const std::string prefix = "c" + std::to_string(now_ns() % 1000000000) + "-";
  auto users = target.create_users(options.connections, prefix);
  ClientThreads threads(common.threads);
  auto clients = make_clients(threads, target, users, [&](client::ClientOptions& o, std::size_t i) {
    if (options.source_addresses > 0)
      o.endpoint.bind_address = "127.0.0." + std::to_string(2 + i % static_cast<std::size_t>(options.source_addresses));
    o.reconnect = false;  // a refused connection is a result here, not something to hide
  });
  std::atomic<std::uint64_t> failures{0};
  for (auto& c : clients)
    c->on_disconnect = [&failures](std::uint16_t, const std::string&) { failures.fetch_add(1); };
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto server_idle = target.sample();
  const auto bench_before = sample_process(getpid());

  // Connect with at most `concurrency` attempts in flight.
  const auto start = std::chrono::steady_clock::now();
  std::size_t started = 0;
  auto progress = [&] {
    char line[160];
    std::snprintf(line, sizeof line, "connecting: started=%zu live=%zu failed=%llu", started, count_live(clients, threads),
                  static_cast<unsigned long long>(failures.load()));
    return std::string(line);
  };
  while (started < clients.size()) {
    const std::size_t live = count_live(clients, threads);
    const std::size_t in_flight = started - live - failures.load();
    std::size_t batch = in_flight < static_cast<std::size_t>(options.concurrency) ? options.concurrency - in_flight : 0;
    batch = std::min(batch, clients.size() - started);
    for (std::size_t k = 0; k < batch; ++k, ++started) {
      auto c = clients[started];
      boost::asio::post(threads.at(started), [c] { c->start(); });
    }
    if (batch == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  wait_until([&] { return count_live(clients, threads) + failures.load() >= clients.size(); }, 300, progress, common.quiet);
  const double connect_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t live = count_live(clients, threads);

  std::this_thread::sleep_for(std::chrono::duration<double>(options.hold));
  const auto server_held = target.sample();
  const auto bench_after = sample_process(getpid());
  const std::size_t still_live = count_live(clients, threads);

  Report report("connections");
  report.set("params", "connections", options.connections);
  report.set("params", "concurrency", options.concurrency);
  report.set("params", "source_addresses", options.source_addresses);
  report.set("params", "hold_s", options.hold);
  report.set("results", "live", static_cast<double>(live));
  report.set("results", "still_live_after_hold", static_cast<double>(still_live));
  report.set("results", "failed", static_cast<double>(failures.load()));
  report.set("results", "connect_seconds", connect_seconds);
  report.set("results", "connects_per_s", live / connect_seconds);
  if (target.pid() > 0) {
    report.set("results", "server_rss_idle_mb", server_idle.rss_kb / 1024.0);
    report.set("results", "server_rss_held_mb", server_held.rss_kb / 1024.0);
    report.set("results", "server_bytes_per_connection",
               still_live ? (server_held.rss_kb - server_idle.rss_kb) * 1024.0 / static_cast<double>(still_live) : 0.0);
  }
  report.set("results", "bench_bytes_per_connection",
             live ? (bench_after.rss_kb - bench_before.rss_kb) * 1024.0 / static_cast<double>(live) : 0.0);
  report_run(report, target, server_idle, server_held, bench_before, bench_after, connect_seconds + options.hold);
  stop_all(clients, threads);
  report.write(common);
  return live == clients.size() ? 0 : 1;
}

int run_storm(const CommonOptions& common, const StormOptions& options) {
  Target target(common);
  const std::string prefix = "s" + std::to_string(now_ns() % 1000000000) + "-";
  auto users = target.create_users(options.clients + 1, prefix);
  const BenchUser sender_user = users.back();
  users.pop_back();
  ClientThreads threads(common.threads);
  auto clients = make_clients(threads, target, users, [&](client::ClientOptions& o, std::size_t) {
    o.backoff_base_ms = options.backoff_base_ms;
    o.backoff_cap_ms = options.backoff_cap_ms;
  });
  auto sender = make_clients(threads, target, {sender_user}).front();
  // Per client: texts received, when it lost its connection during the storm and when it had
  // both texts again (ns, 0 = not yet).
  std::vector<std::atomic<int>> received(clients.size());
  std::vector<std::atomic<std::int64_t>> dropped_ns(clients.size()), back_ns(clients.size()), synced_ns(clients.size());
  std::atomic<bool> storming{false};
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i]->on_event = [&received, &synced_ns, i](const client::Event& e) {
      if (e.kind == "text" && received[i].fetch_add(1, std::memory_order_relaxed) + 1 == 2)
        synced_ns[i].store(now_ns(), std::memory_order_relaxed);
    };
    clients[i]->on_disconnect = [&dropped_ns, &storming, i](std::uint16_t, const std::string&) {
      std::int64_t none = 0;
      if (storming.load(std::memory_order_relaxed)) dropped_ns[i].compare_exchange_strong(none, now_ns());
    };
    clients[i]->on_hello = [&dropped_ns, &back_ns, i](const client::Reply&) {
      std::int64_t none = 0;
      if (dropped_ns[i].load(std::memory_order_relaxed) != 0) back_ns[i].compare_exchange_strong(none, now_ns());
    };
  }
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->start();
    if (t == 0) sender->start();
  });
  if (!wait_until([&] { return count_live(clients, threads) == clients.size() && sender->state() == client::State::live; },
                  120, [&] { return "connecting: " + std::to_string(count_live(clients, threads)) + " live"; }, common.quiet))
    throw std::runtime_error("clients did not all connect");

  // One conversation per client, opened by the sender; each client sees that first message.
  std::vector<ConversationId> conversations(clients.size());
  std::atomic<std::size_t> opened{0};
  boost::asio::post(threads.at(0), [&] {
    for (std::size_t i = 0; i < clients.size(); ++i)
      sender->send_to_user(users[i].id, "setup", [&, i](const client::Reply& r) {
        conversations[i] = conversation_of(r);
        opened.fetch_add(1);
      });
  });
  auto all_received = [&](int n) {
    for (auto& r : received)
      if (r.load() < n) return false;
    return true;
  };
  if (!wait_until([&] { return opened.load() == clients.size() && all_received(1); }, 120, nullptr, true))
    throw std::runtime_error("setup messages did not arrive");

  // The storm: every client loses its connection at once (or every client of the killed
  // server does) while a message is sent to each.
  const auto server_before = target.sample();
  const auto bench_before = sample_process(getpid());
  const std::int64_t start_ns = now_ns();
  const auto start = std::chrono::steady_clock::now();
  storming.store(true);
  if (options.kill_pid > 0) {
    if (::kill(options.kill_pid, SIGKILL) != 0)
      throw std::runtime_error("cannot kill pid " + std::to_string(options.kill_pid) + ": " + std::strerror(errno));
  } else {
    threads.run_everywhere([&](std::size_t t) {
      for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->drop_connection();
    });
  }
  boost::asio::post(threads.at(0), [&] {
    for (std::size_t i = 0; i < clients.size(); ++i) sender->send(conversations[i], "during the storm");
  });
  // Back: live on a new connection (a client that lost none counts as back).
  auto back = [&] {
    std::atomic<std::size_t> n{0};
    threads.run_everywhere([&](std::size_t t) {
      for (std::size_t i = t; i < clients.size(); i += threads.size()) {
        const bool lost = dropped_ns[i].load() != 0 || options.kill_pid == 0;
        if (clients[i]->state() == client::State::live && (!lost || clients[i]->reconnects() >= 1)) n.fetch_add(1);
      }
    });
    return n.load();
  };
  const bool done = wait_until([&] { return back() == clients.size() && all_received(2); }, options.timeout,
                               [&] { return "re-synced: " + std::to_string(back()) + "/" + std::to_string(clients.size()); },
                               common.quiet);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto server_after = target.sample();
  const auto bench_after = sample_process(getpid());
  std::uint64_t lost = 0, duplicates = 0;
  std::atomic<std::uint64_t> gaps{0};
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) gaps.fetch_add(clients[i]->gaps_detected());
  });
  for (auto& r : received) {
    if (r.load() < 2) ++lost;
    if (r.load() > 2) duplicates += static_cast<std::uint64_t>(r.load() - 2);
  }
  // From the storm's start, for each client that lost its connection: until a node accepted its
  // hello again (the spread shows the reconnect jitter at work) and until it had the storm's
  // message (re-synced); the
  // same message's time for the clients that kept theirs tells what the sends themselves took.
  Histogram back_again, resync, kept;
  std::size_t disconnected = 0;
  auto since_start_us = [start_ns](std::int64_t at) { return static_cast<std::uint64_t>((at - start_ns) / 1000); };
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const bool dropped = dropped_ns[i].load() != 0;
    if (!dropped) {
      if (synced_ns[i].load() != 0) kept.record(since_start_us(synced_ns[i].load()));
      continue;
    }
    ++disconnected;
    if (back_ns[i].load() != 0) back_again.record(since_start_us(back_ns[i].load()));
    if (synced_ns[i].load() != 0) resync.record(since_start_us(synced_ns[i].load()));
  }
  Report report("reconnect-storm");
  report.set("params", "clients", options.clients);
  report.set("params", "backoff_base_ms", options.backoff_base_ms);
  report.set("params", "backoff_cap_ms", options.backoff_cap_ms);
  report.set_text("params", "storm", options.kill_pid > 0 ? "server killed" : "every connection dropped");
  report.set("results", "completed", done ? 1 : 0);
  report.set("results", "clients_disconnected", static_cast<double>(disconnected));
  report.set("results", "resync_seconds", seconds);
  report.latency("client_back", back_again);
  report.latency("client_resync", resync);
  report.latency("message_without_drop", kept);
  report.set("results", "reconnects_per_s", static_cast<double>(disconnected) / seconds);
  report.set("results", "messages_lost", static_cast<double>(lost));
  report.set("results", "messages_duplicated", static_cast<double>(duplicates));
  report.set("results", "gaps_detected", static_cast<double>(gaps.load()));
  report_run(report, target, server_before, server_after, bench_before, bench_after, seconds);
  stop_all(clients, threads);
  threads.run_everywhere([&](std::size_t t) {
    if (t == 0) sender->stop();
  });
  report.write(common);
  return done && lost == 0 && duplicates == 0 ? 0 : 1;
}

int run_history(const CommonOptions& common, const HistoryOptions& options) {
  Target target(common);
  const std::string prefix = "h" + std::to_string(now_ns() % 1000000000) + "-";
  const int spread = options.missed_conversations;
  auto users = target.create_users(static_cast<std::size_t>(1 + spread), prefix);
  ClientThreads threads(1);
  // Only the writer connects; the other users are partners (offline: their messages are stored).
  auto clients = make_clients(threads, target, {users[0]});
  auto& writer = clients[0];
  threads.run_everywhere([&](std::size_t) { writer->start(); });
  if (!wait_until([&] { return writer->state() == client::State::live; }, 30, nullptr, true))
    throw std::runtime_error("could not connect");

  // Fill a conversation, 64 sends in flight.
  std::atomic<int> acked{0};
  std::atomic<ConversationId> conversation{0};
  // Every ack's pos (acks arrive on the one client thread): the cursor of a client that saw
  // everything but the last `missed` messages is the pos just before them.
  std::vector<Pos> positions;
  const int before_missed = spread > 1 ? options.messages - 1 : options.messages - options.missed - 1;
  std::function<void(int)> send_next;
  send_next = [&](int n) {
    if (n >= options.messages) return;
    auto done = [&, n](const client::Reply& r) {
      if (conversation.load() == 0) conversation.store(conversation_of(r));
      positions.push_back(pos_of(r));
      acked.fetch_add(1);
      send_next(n + 64);
    };
    if (conversation.load() == 0 && n > 0) {
      // Wait for the first ack to learn the conversation id.
      boost::asio::post(threads.at(0), [&, n] { send_next(n); });
      return;
    }
    const std::string text = "history message " + std::to_string(n);
    if (n == 0) writer->send_to_user(users[1].id, text, done);
    else writer->send(conversation.load(), text, done);
  };
  boost::asio::post(threads.at(0), [&] {
    send_next(0);
  });
  wait_until([&] { return conversation.load() != 0; }, 30, nullptr, true);
  boost::asio::post(threads.at(0), [&] {
    for (int n = 1; n < 64; ++n) send_next(n);
  });
  if (!wait_until([&] { return acked.load() == options.messages; }, 600,
                  [&] { return "filling: " + std::to_string(acked.load()) + "/" + std::to_string(options.messages); },
                  common.quiet))
    throw std::runtime_error("filling the conversation failed");

  // Spread: the missed messages after the fill, round-robin over `spread` direct chats, one at
  // a time (the first message to a partner opens the chat).
  if (spread > 1 && options.missed > 0) {
    std::vector<ConversationId> chats(static_cast<std::size_t>(spread), 0);
    chats[0] = conversation.load();
    std::atomic<int> sent{0};
    std::function<void(int)> send_spread;
    send_spread = [&](int n) {
      if (n >= options.missed) return;
      const std::size_t k = static_cast<std::size_t>(n % spread);
      auto done = [&, n, k](const client::Reply& r) {
        if (chats[k] == 0) chats[k] = conversation_of(r);
        sent.fetch_add(1);
        send_spread(n + 1);
      };
      const std::string text = "missed message " + std::to_string(n);
      if (chats[k] == 0) writer->send_to_user(users[k + 1].id, text, done);
      else writer->send(chats[k], text, done);
    };
    boost::asio::post(threads.at(0), [&] { send_spread(0); });
    if (!wait_until([&] { return sent.load() == options.missed; }, 600,
                    [&] { return "missed messages: " + std::to_string(sent.load()) + "/" + std::to_string(options.missed); },
                    common.quiet))
      throw std::runtime_error("sending the missed messages failed");
  }

  // Sequential requests, each timed from send to reply.
  auto timed = [&](const std::string& fields, Histogram& h, Seq& oldest) {
    std::promise<void> done;
    const std::int64_t start = now_ns();
    boost::asio::post(threads.at(0), [&] {
      writer->request("history", fields, [&](const client::Reply& r) {
        h.record(static_cast<std::uint64_t>((now_ns() - start) / 1000));
        oldest = 0;
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (r.ok && parser.parse(r.json).get(doc) == simdjson::SUCCESS) {
          for (simdjson::dom::element e : doc["events"].get_array()) {
            oldest = e["seq"].get_int64().value();
            break;
          }
        }
        done.set_value();
      });
    });
    done.get_future().wait();
  };
  const auto server_before = target.sample();
  const auto bench_before = sample_process(getpid());
  const auto start = std::chrono::steady_clock::now();
  Histogram latest, paging;
  Seq oldest = 0;
  const std::string base = "\"conversation_id\":" + std::to_string(conversation.load()) + ",\"limit\":" + std::to_string(options.page);
  for (int i = 0; i < options.iterations; ++i) timed(base, latest, oldest);
  int pages = 0;
  timed(base, paging, oldest);
  while (oldest > 1) {
    timed(base + ",\"before_seq\":" + std::to_string(oldest), paging, oldest);
    ++pages;
  }
  // Catching up after `missed` messages: sync from the cursor before them until has_more is
  // false, timed as a whole (what a client reconnecting after a while waits for).
  Histogram catch_up;
  std::int64_t synced_events = 0;
  int sync_pages = 0;
  if (options.missed > 0 && before_missed >= 0) {
    std::sort(positions.begin(), positions.end());
    const Pos missed_cursor = positions.at(static_cast<std::size_t>(before_missed));
    for (int i = 0; i < options.sync_iterations; ++i) {
      Pos cursor = missed_cursor;
      const std::int64_t begin = now_ns();
      bool more = true;
      while (more) {
        std::promise<void> done;
        boost::asio::post(threads.at(0), [&] {
          const std::string limit = options.sync_limit > 0 ? ",\"limit\":" + std::to_string(options.sync_limit) : "";
          writer->request("sync", "\"cursor\":" + std::to_string(cursor) + limit, [&](const client::Reply& r) {
            more = false;
            simdjson::dom::parser parser;
            simdjson::dom::element doc;
            if (r.ok && parser.parse(r.json).get(doc) == simdjson::SUCCESS) {
              cursor = doc["cursor"].get_int64().value();
              more = doc["has_more"].get_bool().value();
              if (i == 0) {
                synced_events += static_cast<std::int64_t>(doc["events"].get_array().size());
                ++sync_pages;
              }
            }
            done.set_value();
          });
        });
        done.get_future().wait();
      }
      catch_up.record(static_cast<std::uint64_t>((now_ns() - begin) / 1000));
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto server_after = target.sample();
  const auto bench_after = sample_process(getpid());

  Report report("history");
  report.set("params", "messages", options.messages);
  report.set("params", "iterations", options.iterations);
  report.set("params", "page", options.page);
  report.latency("latest_page", latest);
  report.latency("paging_back", paging);
  report.set("results", "pages_back", pages);
  report.set("params", "missed", options.missed);
  report.set("params", "missed_conversations", spread);
  report.set("params", "sync_limit", options.sync_limit);
  report.set("results", "sync_pages", sync_pages);
  report.latency("sync_after_missed", catch_up);
  report.set("results", "sync_events", synced_events);
  report_run(report, target, server_before, server_after, bench_before, bench_after, seconds);
  threads.run_everywhere([&](std::size_t) { writer->stop(); });
  report.write(common);
  return 0;
}

}  // namespace parley::bench
