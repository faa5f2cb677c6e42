// The direct and group scenarios: senders keep a window of messages in flight (or a fixed
// rate), receivers time every delivery with the send time stamped into the text.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <unordered_map>

#include <simdjson.h>
#include <unistd.h>

#include "core/json_writer.hpp"
#include "scenarios.hpp"

namespace parley::bench {

std::string stamped_text(std::int64_t sent_ns, UserId sender, std::uint64_t n, int bytes) {
  std::string text = "T" + std::to_string(sent_ns) + ":" + std::to_string(sender) + ":" + std::to_string(n) + ":";
  if (static_cast<int>(text.size()) < bytes) text.append(static_cast<std::size_t>(bytes) - text.size(), 'x');
  return text;
}

bool parse_stamp(const std::string& text, std::int64_t& sent_ns, UserId& sender, std::uint64_t& n) {
  return !text.empty() && parse_stamp_at(text.c_str(), sent_ns, sender, n);
}

bool parse_stamp_at(const char* text, std::int64_t& sent_ns, UserId& sender, std::uint64_t& n) {
  if (text[0] != 'T') return false;
  char* end = nullptr;
  sent_ns = std::strtoll(text + 1, &end, 10);
  if (*end != ':') return false;
  sender = std::strtoll(end + 1, &end, 10);
  if (*end != ':') return false;
  n = std::strtoull(end + 1, &end, 10);
  return *end == ':';
}

std::vector<std::shared_ptr<client::Client>> make_clients(
    ClientThreads& threads, const Target& target, const std::vector<BenchUser>& users,
    const std::function<void(client::ClientOptions&, std::size_t)>& tune) {
  std::vector<std::shared_ptr<client::Client>> clients;
  clients.reserve(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    client::ClientOptions options;
    options.endpoint = target.endpoint(i);  // several servers: round-robin
    options.token = users[i].token;
    options.device = "bench";
    options.keep_event_json = false;
    if (tune) tune(options, i);
    clients.push_back(client::Client::create(threads.at(i), std::move(options)));
  }
  return clients;
}

Pos pos_of(const client::Reply& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::int64_t pos = 0;
  if (parser.parse(reply.json).get(doc) != simdjson::SUCCESS || doc["pos"].get_int64().get(pos) != simdjson::SUCCESS)
    return 0;
  return pos;
}

ConversationId conversation_of(const client::Reply& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::int64_t id = 0;
  if (parser.parse(reply.json).get(doc) == simdjson::SUCCESS) {
    simdjson::dom::element conversation;
    if (doc["conversation_id"].get_int64().get(id) != simdjson::SUCCESS &&
        doc["conversation"].get(conversation) == simdjson::SUCCESS &&
        conversation["id"].get_int64().get(id) != simdjson::SUCCESS)
      id = 0;
  }
  return id;
}

namespace {

// Shared counters of one load run (relaxed atomics; totals read by the main thread).
struct LoadCounters {
  std::atomic<std::uint64_t> sent{0}, acked{0}, delivered{0}, errors{0}, disconnects{0};
  std::atomic<bool> measuring{false}, stopping{false};
  std::atomic<std::int64_t> measure_start_ns{0}, measure_end_ns{0};
};

// One sending client: keeps `window` messages in flight, or sends at a rate.
struct Sender {
  std::shared_ptr<client::Client> client;
  ConversationId conversation = 0;
  UserId user = 0;
  int in_flight = 0;
  double credit = 0;
  std::uint64_t next_n = 0;
};

class LoadRun {
 public:
  LoadRun(ClientThreads& threads, const LoadOptions& options, LoadCounters& counters)
      : threads_(threads), options_(options), counters_(counters), ack_latency_(threads.size()) {}

  // Sends one message from `s` (on its thread).
  void send_one(Sender& s, std::size_t thread) {
    ++s.in_flight;
    const std::int64_t sent_at = now_ns();
    const bool measured = counters_.measuring.load(std::memory_order_relaxed);
    if (measured) counters_.sent.fetch_add(1, std::memory_order_relaxed);
    s.client->send(s.conversation, stamped_text(sent_at, s.user, s.next_n++, options_.text_bytes),
                   [this, &s, thread, sent_at, measured](const client::Reply& reply) {
                     --s.in_flight;
                     if (measured) {
                       if (reply.ok) {
                         counters_.acked.fetch_add(1, std::memory_order_relaxed);
                         ack_latency_[thread].record(static_cast<std::uint64_t>((now_ns() - sent_at) / 1000));
                       } else {
                         counters_.errors.fetch_add(1, std::memory_order_relaxed);
                       }
                     }
                     if (options_.rate == 0) pump(s, thread);
                   });
  }

  void pump(Sender& s, std::size_t thread) {
    while (!counters_.stopping.load(std::memory_order_relaxed) && s.in_flight < options_.window) send_one(s, thread);
  }

  // Rate mode: a 1 ms tick per thread hands out credit. The senders start with credits spread
  // evenly over [0, 1), so their sends are spread over each period instead of all falling on the
  // same tick (people do not send in step: a burst of every sender at once measured the burst,
  // p50 ~4 ms at 10,000 msg/s, where a lone message takes ~0.3 ms; docs/benchmarks.md).
  void start_rate_ticks(std::vector<std::vector<Sender*>>& by_thread) {
    std::size_t total = 0, index = 0;
    for (const auto& senders : by_thread) total += senders.size();
    for (auto& senders : by_thread)
      for (Sender* s : senders) s->credit = static_cast<double>(index++) / static_cast<double>(std::max<std::size_t>(total, 1));
    for (std::size_t t = 0; t < threads_.size(); ++t) {
      auto timer = std::make_shared<boost::asio::steady_timer>(threads_.at(t));
      timers_.push_back(timer);
      tick(timer, by_thread[t], t, now_ns());
    }
  }

  Histogram merged_ack_latency() const {
    Histogram h;
    for (const auto& x : ack_latency_) h.merge(x);
    return h;
  }

 private:
  void tick(std::shared_ptr<boost::asio::steady_timer> timer, std::vector<Sender*>& senders, std::size_t thread,
            std::int64_t last_ns) {
    const std::int64_t now = now_ns();
    const double dt = static_cast<double>(now - last_ns) / 1e9;
    for (Sender* s : senders) {
      s->credit = std::min(s->credit + options_.rate * dt, options_.rate);  // at most 1 s of backlog
      while (s->credit >= 1 && s->in_flight < 10000 && !counters_.stopping.load(std::memory_order_relaxed)) {
        s->credit -= 1;
        send_one(*s, thread);
      }
    }
    if (counters_.stopping.load()) return;
    timer->expires_after(std::chrono::milliseconds(1));
    timer->async_wait([this, timer, &senders, thread, now](const boost::system::error_code& ec) {
      if (!ec) tick(timer, senders, thread, now);
    });
  }

  ClientThreads& threads_;
  const LoadOptions& options_;
  LoadCounters& counters_;
  std::vector<Histogram> ack_latency_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> timers_;
};

// Presence churn beside the timed messages: users in pairs of peers (a direct conversation
// each), every one switching between away and online every `period` seconds at its own random
// phase. Each switch is a presence change for its peer, through the whole presence path (on a
// cluster: Redis and the bus). Counts the switches acked and the presence frames received.
class PresenceChurn {
 public:
  PresenceChurn(ClientThreads& threads, std::vector<std::shared_ptr<client::Client>> clients, double period,
                LoadCounters& counters)
      : threads_(threads), clients_(std::move(clients)), period_ns_(static_cast<std::int64_t>(period * 1e9)),
        counters_(counters), next_ns_(clients_.size()), away_(clients_.size(), 0) {
    std::mt19937_64 random(42);
    const std::int64_t now = now_ns();
    for (auto& next : next_ns_) next = now + static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(period_ns_));
  }

  // The handler that counts presence frames; set on each client before it starts.
  std::function<void(const client::Notice&)> frame_counter() {
    return [this](const client::Notice& n) {
      if (n.type == "presence" && counters_.measuring.load(std::memory_order_relaxed))
        frames_.fetch_add(1, std::memory_order_relaxed);
    };
  }

  void start() {
    for (std::size_t t = 0; t < threads_.size(); ++t) {
      auto timer = std::make_shared<boost::asio::steady_timer>(threads_.at(t));
      timers_.push_back(timer);
      boost::asio::post(threads_.at(t), [this, timer, t] { tick(timer, t); });
    }
  }

  std::uint64_t sets() const { return sets_.load(); }
  std::uint64_t frames() const { return frames_.load(); }
  std::uint64_t failures() const { return failures_.load(); }

 private:
  void tick(const std::shared_ptr<boost::asio::steady_timer>& timer, std::size_t thread) {
    const std::int64_t now = now_ns();
    for (std::size_t i = thread; i < clients_.size(); i += threads_.size()) {  // make_clients' thread of client i
      if (now < next_ns_[i]) continue;
      next_ns_[i] += period_ns_;
      away_[i] = !away_[i];
      std::string fields;
      JsonWriter(fields).field("status", away_[i] ? "away" : "online");
      clients_[i]->request("presence.set", fields, [this](const client::Reply& reply) {
        if (!counters_.measuring.load(std::memory_order_relaxed)) return;
        (reply.ok ? sets_ : failures_).fetch_add(1, std::memory_order_relaxed);
      });
    }
    if (counters_.stopping.load()) return;
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([this, timer, thread](const boost::system::error_code& ec) {
      if (!ec) tick(timer, thread);
    });
  }

  ClientThreads& threads_;
  std::vector<std::shared_ptr<client::Client>> clients_;
  const std::int64_t period_ns_;
  LoadCounters& counters_;
  std::vector<std::int64_t> next_ns_;
  std::vector<char> away_;  // not vector<bool>: threads write neighbouring entries
  std::vector<std::shared_ptr<boost::asio::steady_timer>> timers_;
  std::atomic<std::uint64_t> sets_{0}, frames_{0}, failures_{0};
};

// Runs the timed part shared by both scenarios; returns the measured seconds.
double run_timed(ClientThreads& threads, const LoadOptions& options, LoadCounters& counters, LoadRun& run,
                 std::vector<Sender>& senders, bool quiet, const std::function<std::string()>& progress,
                 std::vector<std::function<void()>>& on_measure_start) {
  std::vector<std::vector<Sender*>> by_thread(threads.size());
  for (std::size_t i = 0; i < senders.size(); ++i) by_thread[i % threads.size()].push_back(&senders[i]);
  threads.run_everywhere([&](std::size_t t) {
    if (options.rate == 0)
      for (Sender* s : by_thread[t]) run.pump(*s, t);
  });
  if (options.rate > 0) {
    threads.run_everywhere([&](std::size_t t) {
      if (t == 0) run.start_rate_ticks(by_thread);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(options.warmup));
  for (auto& f : on_measure_start) f();
  counters.measure_start_ns.store(now_ns());
  counters.measuring.store(true);
  const auto start = std::chrono::steady_clock::now();
  wait_until([&] { return std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(options.duration); },
             options.duration + 1, progress, quiet);
  counters.measuring.store(false);
  counters.measure_end_ns.store(now_ns());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  counters.stopping.store(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let in-flight messages land
  return seconds;
}

std::string rate_line(const LoadCounters& c, std::chrono::steady_clock::time_point start, const char* delivered_name) {
  const double s = std::max(0.001, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  char line[256];
  std::snprintf(line, sizeof line, "t=%.0fs sent/s=%.0f acked/s=%.0f %s/s=%.0f errors=%llu disconnects=%llu", s,
                c.sent.load() / s, c.acked.load() / s, delivered_name, c.delivered.load() / s,
                static_cast<unsigned long long>(c.errors.load()), static_cast<unsigned long long>(c.disconnects.load()));
  return line;
}

void wait_live(const std::vector<std::shared_ptr<client::Client>>& clients, ClientThreads& threads, bool quiet) {
  auto live = [&] {
    std::atomic<std::size_t> count{0};
    threads.run_everywhere([&](std::size_t t) {
      for (std::size_t i = t; i < clients.size(); i += threads.size())
        if (clients[i]->state() == client::State::live) count.fetch_add(1);
    });
    return count.load();
  };
  if (!wait_until([&] { return live() == clients.size(); }, 120,
                  [&] { return "connecting: " + std::to_string(live()) + "/" + std::to_string(clients.size()) + " live"; },
                  quiet))
    throw std::runtime_error("clients did not all connect");
}

}  // namespace

int run_direct(const CommonOptions& common, const DirectOptions& options) {
  Target target(common);
  const std::string prefix = "d" + std::to_string(now_ns() % 1000000000) + "-";
  auto users = target.create_users(options.pairs * 2, prefix);
  ClientThreads threads(common.threads);
  LoadCounters counters;
  std::vector<Histogram> latency(threads.size());
  // Pair k is users 2k (sends) and 2k+1 (receives). With several servers the two are on
  // neighbouring ones (k % n and (k + 1) % n), so that every message crosses nodes.
  auto clients = make_clients(threads, target, users, [&target](client::ClientOptions& o, std::size_t i) {
    const std::size_t pair = i / 2;
    o.endpoint = target.endpoint(i % 2 == 0 ? pair : pair + 1);
  });
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::size_t thread = i % threads.size();
    clients[i]->on_disconnect = [&counters](std::uint16_t, const std::string&) { counters.disconnects.fetch_add(1); };
    if (i % 2 == 1) {  // receivers time each delivery
      const UserId me = users[i].id;
      clients[i]->on_event = [&counters, &latency, thread, me](const client::Event& e) {
        std::int64_t sent = 0;
        UserId sender = 0;
        std::uint64_t n = 0;
        if (e.sender_id == me || !parse_stamp(e.text, sent, sender, n) || !counters.measuring.load(std::memory_order_relaxed))
          return;
        counters.delivered.fetch_add(1, std::memory_order_relaxed);
        latency[thread].record(static_cast<std::uint64_t>((now_ns() - sent) / 1000));
      };
    }
  }
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->start();
  });
  wait_live(clients, threads, common.quiet);

  // Open each pair's direct conversation with a first message.
  std::vector<Sender> senders(static_cast<std::size_t>(options.pairs));
  std::atomic<int> opened{0};
  for (int p = 0; p < options.pairs; ++p) {
    Sender& s = senders[static_cast<std::size_t>(p)];
    s.client = clients[static_cast<std::size_t>(2 * p)];
    s.user = users[static_cast<std::size_t>(2 * p)].id;
    const UserId peer = users[static_cast<std::size_t>(2 * p + 1)].id;
    boost::asio::post(threads.at(static_cast<std::size_t>(2 * p)), [&s, peer, &opened] {
      s.client->send_to_user(peer, "open", [&s, &opened](const client::Reply& reply) {
        s.conversation = conversation_of(reply);
        opened.fetch_add(1);
      });
    });
  }
  if (!wait_until([&] { return opened.load() == options.pairs; }, 60, nullptr, true))
    throw std::runtime_error("could not open the direct conversations");

  std::unique_ptr<PresenceChurn> churn;
  std::vector<std::shared_ptr<client::Client>> churn_clients;
  if (options.presence_users > 0) {
    const int count = options.presence_users + options.presence_users % 2;
    auto churn_users = target.create_users(count, "p" + prefix);
    churn_clients = make_clients(threads, target, churn_users);  // peers on neighbouring servers
    churn = std::make_unique<PresenceChurn>(threads, churn_clients, options.presence_period, counters);
    for (auto& c : churn_clients) c->on_notice = churn->frame_counter();
    threads.run_everywhere([&](std::size_t t) {
      for (std::size_t i = t; i < churn_clients.size(); i += threads.size()) churn_clients[i]->start();
    });
    wait_live(churn_clients, threads, common.quiet);
    std::atomic<int> paired{0};
    for (std::size_t i = 0; i + 1 < churn_clients.size(); i += 2) {
      const UserId peer = churn_users[i + 1].id;
      boost::asio::post(threads.at(i), [client = churn_clients[i], peer, &paired] {
        client->send_to_user(peer, "peers", [&paired](const client::Reply&) { paired.fetch_add(1); });
      });
    }
    if (!wait_until([&] { return paired.load() == count / 2; }, 120, nullptr, true))
      throw std::runtime_error("could not pair the presence users");
    churn->start();
  }

  LoadRun run(threads, options.load, counters);
  const auto server_before = target.sample();
  const auto bench_before = sample_process(getpid());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> at_start;
  const double seconds = run_timed(threads, options.load, counters, run, senders, common.quiet,
                                   [&] { return rate_line(counters, start, "delivered"); }, at_start);
  const auto server_after = target.sample();
  const auto bench_after = sample_process(getpid());

  Histogram delivery;
  for (const auto& h : latency) delivery.merge(h);
  Report report("direct");
  report.set("params", "pairs", options.pairs);
  report.set("params", "rate_per_sender", options.load.rate);
  report.set("params", "window", options.load.window);
  report.set("params", "text_bytes", options.load.text_bytes);
  report.set("params", "client_threads", static_cast<double>(threads.size()));
  report.set("results", "sent_per_s", counters.sent.load() / seconds);
  report.set("results", "acked_per_s", counters.acked.load() / seconds);
  report.set("results", "delivered_per_s", counters.delivered.load() / seconds);
  report.set("results", "errors", static_cast<double>(counters.errors.load()));
  report.set("results", "disconnects", static_cast<double>(counters.disconnects.load()));
  report.latency("latency_delivery", delivery);
  report.latency("latency_ack", run.merged_ack_latency());
  report.set("params", "presence_users", options.presence_users);
  report.set("params", "presence_period_s", options.presence_period);
  if (churn) {
    report.set("results", "presence_sets_per_s", static_cast<double>(churn->sets()) / seconds);
    report.set("results", "presence_frames_per_s", static_cast<double>(churn->frames()) / seconds);
    report.set("results", "presence_set_errors", static_cast<double>(churn->failures()));
  }
  report_run(report, target, server_before, server_after, bench_before, bench_after, seconds);
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->stop();
    for (std::size_t i = t; i < churn_clients.size(); i += threads.size()) churn_clients[i]->stop();
  });
  report.write(common);
  return 0;
}

namespace {

// A receive-only group member: the WebSocket and a hello, then each frame is only scanned for
// the send stamp in its text (no JSON parse, no Client bookkeeping), so that the generator can
// keep up with the server's fan-out. Used for the members that do not send.
class RawReceiver : public std::enable_shared_from_this<RawReceiver> {
 public:
  using StampHandler = std::function<void(std::int64_t sent_ns, UserId sender, std::uint64_t n)>;

  RawReceiver(boost::asio::io_context& io, client::Endpoint endpoint, std::string token, StampHandler on_stamp)
      : io_(io), endpoint_(std::move(endpoint)), token_(std::move(token)), on_stamp_(std::move(on_stamp)) {}

  void start() {
    std::weak_ptr<RawReceiver> weak = weak_from_this();
    client::WsConnection::Handlers handlers;
    handlers.on_open = [weak] {
      if (auto self = weak.lock()) {
        std::string hello;
        JsonWriter(hello).begin_object().field("type", "hello").field("id", "h").field("token", self->token_).end_object();
        self->connection_->send_text(hello);
      }
    };
    handlers.on_text = [weak](std::string_view text) {
      if (auto self = weak.lock()) self->on_text(text);
    };
    handlers.on_close = [weak](std::uint16_t, const std::string&) {
      if (auto self = weak.lock()) self->closed_ = true;
    };
    connection_ = client::WsConnection::create(io_, endpoint_, std::move(handlers));
    connection_->start();
  }
  void stop() {
    if (connection_) connection_->close();
  }
  bool live() const { return live_ && !closed_; }
  bool closed() const { return closed_; }

 private:
  void on_text(std::string_view text) {
    if (!live_) {
      live_ = text.find("\"type\":\"ok\"") != std::string_view::npos;
      return;
    }
    static constexpr std::string_view kMarker = "\"text\":\"T";
    const auto at = text.find(kMarker);
    if (at == std::string_view::npos) return;
    std::int64_t sent = 0;
    UserId sender = 0;
    std::uint64_t n = 0;
    if (parse_stamp_at(text.data() + at + kMarker.size() - 1, sent, sender, n)) on_stamp_(sent, sender, n);
  }

  boost::asio::io_context& io_;
  client::Endpoint endpoint_;
  std::string token_;
  StampHandler on_stamp_;
  std::shared_ptr<client::WsConnection> connection_;
  bool live_ = false;
  bool closed_ = false;
};

}  // namespace

int run_group(const CommonOptions& common, const GroupOptions& options) {
  if (options.senders < 1 || options.senders > options.group_size) throw std::runtime_error("need 1 <= senders <= group size");
  Target target(common);
  const std::string prefix = "g" + std::to_string(now_ns() % 1000000000) + "-";
  auto users = target.create_users(options.group_size, prefix);

  // The first user creates the group and adds everyone (in chunks the API accepts).
  std::string created;
  {
    std::string body;
    JsonWriter(body).begin_object().field("title", "bench group").end_object();
    created = target.call("POST", "/v1/groups", body, users[0].token);
  }
  client::Reply created_reply;
  created_reply.json = created;
  const ConversationId group = conversation_of(created_reply);
  for (std::size_t start = 1; start < users.size(); start += 256) {
    std::string body;
    JsonWriter w(body);
    w.begin_object().key("user_ids").begin_array();
    for (std::size_t i = start; i < std::min(users.size(), start + 256); ++i) w.value(users[i].id);
    w.end_array().end_object();
    target.call("POST", "/v1/conversations/" + std::to_string(group) + "/members", body, users[0].token);
  }

  ClientThreads threads(common.threads);
  LoadCounters counters;
  // Per thread: delivery latency, and per message how many members got it and the slowest.
  struct Arrival {
    int count = 0;
    std::uint64_t slowest_us = 0;
    std::int64_t sent_ns = 0;
  };
  struct Arrivals {
    Histogram latency;
    std::unordered_map<std::uint64_t, Arrival> per_message;
  };
  std::vector<Arrivals> arrivals(threads.size());
  // Runs on the receiving member's thread.
  auto record = [&counters, &arrivals](std::size_t thread, std::int64_t sent, UserId sender, std::uint64_t n) {
    const auto micros = static_cast<std::uint64_t>((now_ns() - sent) / 1000);
    Arrivals& a = arrivals[thread];
    if (counters.measuring.load(std::memory_order_relaxed)) {
      counters.delivered.fetch_add(1, std::memory_order_relaxed);
      a.latency.record(micros);
    }
    // Every arrival counts toward its message's completeness (judged by send time later).
    auto& slot = a.per_message[(static_cast<std::uint64_t>(sender) << 32) ^ n];
    ++slot.count;
    slot.slowest_us = std::max(slot.slowest_us, micros);
    slot.sent_ns = sent;
  };
  // Senders are full clients (they also receive each other's messages); the other members are
  // raw receivers.
  const std::vector<BenchUser> sender_users(users.begin(), users.begin() + options.senders);
  auto clients = make_clients(threads, target, sender_users);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::size_t thread = i % threads.size();
    const UserId me = users[i].id;
    clients[i]->on_disconnect = [&counters](std::uint16_t, const std::string&) { counters.disconnects.fetch_add(1); };
    clients[i]->on_event = [record, thread, me](const client::Event& e) {
      std::int64_t sent = 0;
      UserId sender = 0;
      std::uint64_t n = 0;
      if (e.sender_id != me && parse_stamp(e.text, sent, sender, n)) record(thread, sent, sender, n);
    };
  }
  std::vector<std::shared_ptr<RawReceiver>> receivers;
  for (std::size_t i = sender_users.size(); i < users.size(); ++i) {
    const std::size_t thread = i % threads.size();
    receivers.push_back(std::make_shared<RawReceiver>(
        threads.at(i), target.endpoint(i), users[i].token,  // several servers: round-robin
        [record, thread](std::int64_t sent, UserId sender, std::uint64_t n) { record(thread, sent, sender, n); }));
  }
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->start();
    for (std::size_t i = 0; i < receivers.size(); ++i)
      if ((i + sender_users.size()) % threads.size() == t) receivers[i]->start();
  });
  wait_live(clients, threads, common.quiet);
  auto receivers_live = [&] {
    std::atomic<std::size_t> n{0};
    threads.run_everywhere([&](std::size_t t) {
      for (std::size_t i = 0; i < receivers.size(); ++i)
        if ((i + sender_users.size()) % threads.size() == t && receivers[i]->live()) n.fetch_add(1);
    });
    return n.load();
  };
  if (!wait_until([&] { return receivers_live() == receivers.size(); }, 120,
                  [&] { return "receivers: " + std::to_string(receivers_live()) + " live"; }, common.quiet))
    throw std::runtime_error("receivers did not all connect");

  std::vector<Sender> senders(static_cast<std::size_t>(options.senders));
  for (int i = 0; i < options.senders; ++i) {
    senders[static_cast<std::size_t>(i)].client = clients[static_cast<std::size_t>(i)];
    senders[static_cast<std::size_t>(i)].user = users[static_cast<std::size_t>(i)].id;
    senders[static_cast<std::size_t>(i)].conversation = group;
  }
  LoadRun run(threads, options.load, counters);
  const auto server_before = target.sample();
  const auto bench_before = sample_process(getpid());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> at_start;
  const double seconds = run_timed(threads, options.load, counters, run, senders, common.quiet,
                                   [&] { return rate_line(counters, start, "deliveries"); }, at_start);
  const auto server_after = target.sample();
  const auto bench_after = sample_process(getpid());
  std::this_thread::sleep_for(std::chrono::seconds(1));  // stragglers still count toward "last member"

  // A message counts as complete once every other member received it.
  Histogram delivery, last_member;
  std::unordered_map<std::uint64_t, Arrival> merged;
  threads.run_everywhere([&](std::size_t t) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    delivery.merge(arrivals[t].latency);
    for (const auto& [key, slot] : arrivals[t].per_message) {
      auto& m = merged[key];
      m.count += slot.count;
      m.slowest_us = std::max(m.slowest_us, slot.slowest_us);
      m.sent_ns = slot.sent_ns;
    }
  });
  // Messages sent inside the measured window: complete once every other member has them.
  std::uint64_t complete = 0, incomplete = 0;
  for (const auto& [key, slot] : merged) {
    if (slot.sent_ns < counters.measure_start_ns.load() || slot.sent_ns > counters.measure_end_ns.load()) continue;
    if (slot.count >= options.group_size - 1) {
      ++complete;
      last_member.record(slot.slowest_us);
    } else {
      ++incomplete;
    }
  }
  Report report("group");
  report.set("params", "group_size", options.group_size);
  report.set("params", "senders", options.senders);
  report.set("params", "rate_per_sender", options.load.rate);
  report.set("params", "window", options.load.window);
  report.set("params", "client_threads", static_cast<double>(threads.size()));
  report.set("results", "messages_per_s", counters.acked.load() / seconds);
  report.set("results", "deliveries_per_s", counters.delivered.load() / seconds);
  report.set("results", "messages_complete", static_cast<double>(complete));
  report.set("results", "messages_incomplete", static_cast<double>(incomplete));
  report.set("results", "errors", static_cast<double>(counters.errors.load()));
  std::atomic<std::size_t> receivers_closed{0};
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = 0; i < receivers.size(); ++i)
      if ((i + sender_users.size()) % threads.size() == t && receivers[i]->closed()) receivers_closed.fetch_add(1);
  });
  report.set("results", "disconnects", static_cast<double>(counters.disconnects.load() + receivers_closed.load()));
  report.latency("latency_delivery", delivery);
  report.latency("latency_last_member", last_member);
  report_run(report, target, server_before, server_after, bench_before, bench_after, seconds);
  threads.run_everywhere([&](std::size_t t) {
    for (std::size_t i = t; i < clients.size(); i += threads.size()) clients[i]->stop();
    for (std::size_t i = 0; i < receivers.size(); ++i)
      if ((i + sender_users.size()) % threads.size() == t) receivers[i]->stop();
  });
  report.write(common);
  return 0;
}

}  // namespace parley::bench
