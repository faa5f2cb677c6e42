#include "bus/inproc_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <stdexcept>
#include <vector>

#include "core/clock.hpp"

namespace parley::bus {
namespace {

// NATS's defaults (server max_payload; libnats's pending limits per subscription).
constexpr std::size_t kMaxPayloadBytes = 1 << 20;
constexpr std::size_t kMaxQueuedMessages = 65536;
constexpr std::size_t kMaxQueuedBytes = 64 << 20;

// NATS matching: `*` matches one token, a last `>` one or more. Both arguments are valid
// subjects (valid_subject), so tokens are never empty.
bool subject_matches(std::string_view pattern, std::string_view subject) {
  constexpr auto kEnd = std::string_view::npos;
  std::size_t p = 0;  // start of the current token; kEnd once every token has been consumed
  std::size_t s = 0;
  while (p != kEnd && s != kEnd) {
    const auto pattern_dot = pattern.find('.', p);
    const auto subject_dot = subject.find('.', s);
    const std::string_view pattern_token = pattern.substr(p, pattern_dot == kEnd ? kEnd : pattern_dot - p);
    const std::string_view subject_token = subject.substr(s, subject_dot == kEnd ? kEnd : subject_dot - s);
    if (pattern_token == ">") return true;  // the subject has at least this token left
    if (pattern_token != "*" && pattern_token != subject_token) return false;
    p = pattern_dot == kEnd ? kEnd : pattern_dot + 1;
    s = subject_dot == kEnd ? kEnd : subject_dot + 1;
  }
  return p == kEnd && s == kEnd;
}

std::atomic<std::uint64_t> next_reply_inbox{0};

}  // namespace

// One published message, shared by every Bus it is queued for.
struct InprocEnvelope {
  std::string subject;
  std::string payload;
  std::string reply_to;
};

// A Bus's queue, filled by the server (on publishers' threads), drained by the bus thread.
struct InprocInbox {
  struct Item {
    SubscriptionId subscription = 0;
    std::shared_ptr<const InprocEnvelope> envelope;  // null: a state change
    State state = State::connected;
  };

  // Queues a delivery; drops it (at most once, as NATS does for a slow consumer) when the queue
  // is full. Called under the server's lock, so every queue sees messages in one order.
  void push(SubscriptionId id, const std::shared_ptr<const InprocEnvelope>& envelope) {
    std::lock_guard lock(mutex);
    if (stopping) return;
    if (items.size() >= kMaxQueuedMessages || queued_bytes + envelope->payload.size() > kMaxQueuedBytes) {
      if (!overflowing)
        spdlog::warn("bus.slow_consumer subject={} (inproc queue full, messages dropped)", envelope->subject);
      overflowing = true;
      return;
    }
    queued_bytes += envelope->payload.size();
    items.push_back({id, envelope, State::connected});
    wake.notify_one();
  }

  void push_state(State state) {
    std::lock_guard lock(mutex);
    items.push_back({0, nullptr, state});
    wake.notify_one();
  }

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Item> items;
  std::size_t queued_bytes = 0;
  bool overflowing = false;           // logged once per episode
  std::atomic<bool> stopping{false};  // set under `mutex`; read unlocked between deliveries
};

// request()'s and gather()'s wait for replies on their own reply subject.
struct ReplyWaiter {
  std::mutex mutex;
  std::condition_variable done;
  std::vector<std::string> replies;
  std::size_t want = 1;  // replies beyond this are dropped
};

// The shared "server" of one inproc NAME: who subscribed to what.
class InprocServer {
 public:
  // The server for `name`, created if no Bus uses that name now.
  static std::shared_ptr<InprocServer> named(const std::string& name) {
    // Never destroyed: a Bus may outlive static destruction order in a test binary.
    static auto* registry_mutex = new std::mutex;
    static auto* registry = new std::unordered_map<std::string, std::weak_ptr<InprocServer>>;
    std::lock_guard lock(*registry_mutex);
    std::erase_if(*registry, [](const auto& entry) { return entry.second.expired(); });
    auto& slot = (*registry)[name];
    auto server = slot.lock();
    if (!server) {
      server = std::make_shared<InprocServer>();
      slot = server;
    }
    return server;
  }

  void add(const std::shared_ptr<InprocInbox>& inbox, SubscriptionId id, std::string pattern) {
    std::lock_guard lock(mutex_);
    entries_.push_back({std::move(pattern), id, inbox});
  }

  void remove(const InprocInbox* inbox, SubscriptionId id) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.inbox.get() == inbox && e.id == id; });
  }

  void remove_all(const InprocInbox* inbox) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.inbox.get() == inbox; });
  }

  void add_waiter(const std::string& subject, std::shared_ptr<ReplyWaiter> waiter) {
    std::lock_guard lock(mutex_);
    waiters_[subject] = std::move(waiter);
  }

  void remove_waiter(const std::string& subject) {
    std::lock_guard lock(mutex_);
    waiters_.erase(subject);
  }

  // Queues the message for every matching subscription and hands it to a request() waiting on
  // `subject`. Returns how many took it (0: nobody listens).
  std::size_t publish(std::string_view subject, std::string_view payload, std::string_view reply_to) {
    std::lock_guard lock(mutex_);
    std::shared_ptr<const InprocEnvelope> envelope;  // built once, only if someone listens
    std::size_t receivers = 0;
    for (const Entry& entry : entries_) {
      if (!subject_matches(entry.pattern, subject)) continue;
      if (!envelope)
        envelope = std::make_shared<const InprocEnvelope>(
            InprocEnvelope{std::string(subject), std::string(payload), std::string(reply_to)});
      entry.inbox->push(entry.id, envelope);
      ++receivers;
    }
    if (!waiters_.empty()) {
      if (auto it = waiters_.find(std::string(subject)); it != waiters_.end()) {
        ReplyWaiter& waiter = *it->second;
        std::lock_guard waiter_lock(waiter.mutex);
        if (waiter.replies.size() < waiter.want) {
          waiter.replies.emplace_back(payload);
          waiter.done.notify_all();
        }
        ++receivers;
      }
    }
    return receivers;
  }

 private:
  struct Entry {
    std::string pattern;
    SubscriptionId id;
    std::shared_ptr<InprocInbox> inbox;
  };

  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::shared_ptr<ReplyWaiter>> waiters_;
};

// A handler and the gate unsubscribe() closes: `running` says a call is under way on `runner`.
struct InprocBus::Subscription {
  Handler handler;
  std::mutex mutex;
  std::condition_variable idle;
  bool active = true;
  bool running = false;
  std::thread::id runner;
};

InprocBus::InprocBus(const Options& options, std::string name)
    : name_(std::move(name)), server_(InprocServer::named(name_)), inbox_(std::make_shared<InprocInbox>()) {
  thread_ = std::thread([this] {
    name_this_thread("bus-inproc");
    run();
  });
}

InprocBus::~InprocBus() {
  server_->remove_all(inbox_.get());  // nothing new is queued for this Bus from here on
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->stopping = true;
    inbox_->items.clear();
  }
  inbox_->wake.notify_all();
  thread_.join();  // a running handler finishes first
}

void InprocBus::run() {
  std::deque<InprocInbox::Item> batch;
  while (true) {
    {
      std::unique_lock lock(inbox_->mutex);
      inbox_->wake.wait(lock, [this] { return inbox_->stopping || !inbox_->items.empty(); });
      if (inbox_->stopping) return;
      batch.swap(inbox_->items);
      inbox_->queued_bytes = 0;
      inbox_->overflowing = false;
    }
    for (const InprocInbox::Item& item : batch) {
      if (inbox_->stopping.load()) return;
      if (!item.envelope) {
        StateHandler handler;
        {
          std::lock_guard lock(mutex_);
          handler = state_handler_;
        }
        if (handler) handler(item.state);
        continue;
      }
      std::shared_ptr<Subscription> subscription;
      {
        std::lock_guard lock(mutex_);
        if (auto it = subscriptions_.find(item.subscription); it != subscriptions_.end()) subscription = it->second;
      }
      if (!subscription) continue;  // unsubscribed after the message was queued
      {
        std::lock_guard lock(subscription->mutex);
        if (!subscription->active) continue;
        subscription->running = true;
        subscription->runner = std::this_thread::get_id();
      }
      const InprocEnvelope& envelope = *item.envelope;
      try {
        subscription->handler(Message{envelope.subject, envelope.payload, envelope.reply_to});
      } catch (const std::exception& e) {
        spdlog::error("bus.handler_failed subject={} error=\"{}\"", envelope.subject, e.what());
      } catch (...) {
        spdlog::error("bus.handler_failed subject={} error=unknown", envelope.subject);
      }
      std::lock_guard lock(subscription->mutex);
      subscription->running = false;
      subscription->idle.notify_all();
    }
    batch.clear();
  }
}

bool InprocBus::publish(std::string_view subject, std::string_view payload) {
  if (!valid_subject(subject, false) || payload.size() > kMaxPayloadBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  server_->publish(subject, payload, {});
  return true;
}

SubscriptionId InprocBus::subscribe(std::string_view subject, Handler handler) {
  if (!valid_subject(subject, true))
    throw std::invalid_argument("bus: invalid subject \"" + std::string(subject) + "\"");
  auto subscription = std::make_shared<Subscription>();
  subscription->handler = std::move(handler);
  const SubscriptionId id = next_id_.fetch_add(1);
  {
    std::lock_guard lock(mutex_);
    subscriptions_.emplace(id, std::move(subscription));
  }
  server_->add(inbox_, id, std::string(subject));
  return id;
}

void InprocBus::unsubscribe(SubscriptionId id) {
  std::shared_ptr<Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    subscription = std::move(it->second);
    subscriptions_.erase(it);
  }
  server_->remove(inbox_.get(), id);
  std::unique_lock lock(subscription->mutex);
  subscription->active = false;
  // On the bus thread the running call (another subscription's handler) is our caller.
  subscription->idle.wait(lock,
                          [&] { return !subscription->running || subscription->runner == std::this_thread::get_id(); });
}

std::optional<std::string> InprocBus::request(std::string_view subject, std::string_view payload, int timeout_ms) {
  auto replies = gather(subject, payload, timeout_ms, 1);
  if (replies.empty()) return std::nullopt;
  return std::move(replies.front());
}

std::vector<std::string> InprocBus::gather(std::string_view subject, std::string_view payload, int timeout_ms,
                                           std::size_t max_replies) {
  if (!valid_subject(subject, false) || payload.size() > kMaxPayloadBytes || max_replies == 0) return {};
  const std::string reply_subject = "_INBOX.inproc." + std::to_string(next_reply_inbox.fetch_add(1));
  auto waiter = std::make_shared<ReplyWaiter>();
  waiter->want = max_replies;
  server_->add_waiter(reply_subject, waiter);
  std::vector<std::string> replies;
  if (server_->publish(subject, payload, reply_subject) > 0) {
    std::unique_lock lock(waiter->mutex);
    waiter->done.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)),
                          [&] { return waiter->replies.size() >= max_replies; });
    replies = std::move(waiter->replies);
  }
  server_->remove_waiter(reply_subject);
  return replies;
}

bool InprocBus::flush(int timeout_ms) { return true; }  // publish() queued it for every receiver

void InprocBus::on_state(StateHandler handler) {
  {
    std::lock_guard lock(mutex_);
    state_handler_ = std::move(handler);
  }
  inbox_->push_state(State::connected);
}

}  // namespace parley::bus
