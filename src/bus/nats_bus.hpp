// NatsBus: the bus engine for a NATS server or cluster, through libnats (the NATS C client).
//
// Threads. publish() only queues: a bus thread ("bus-nats") hands the queue to libnats and runs
// the state callbacks, because libnats can hold its connection lock for a whole TCP connect
// attempt while reconnecting and writes to the socket in the publishing thread when its 32 KB
// buffer fills. Each subscription has its own libnats delivery thread, which runs its handler.
// libnats's connection callbacks (disconnected, reconnected, closed) run on its one library-wide
// callback thread; they only queue the state change for the bus thread.
//
// Outages: libnats reconnects forever (reconnect_wait_ms plus up to as much again at random),
// re-sends the subscriptions, then what was published meanwhile (up to reconnect_buffer_bytes;
// beyond that publishes are dropped and counted). A socket write that stalls for
// connect_timeout_ms counts as a lost connection.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.hpp"

namespace parley::bus {

// `urls` with the "user:password@" (or "token@") of every URL taken out, for logs and errors.
std::string strip_credentials(std::string_view urls);

class NatsBus final : public Bus {
 public:
  // Connects to one of `servers` (checked nats:// URLs, credentials allowed). Throws
  // std::runtime_error, without the credentials, if none answers within connect_timeout_ms.
  NatsBus(const Options& options, const std::vector<std::string>& servers);
  ~NatsBus() override;
  NatsBus(const NatsBus&) = delete;
  NatsBus& operator=(const NatsBus&) = delete;

  bool publish(std::string_view subject, std::string_view payload) override;
  SubscriptionId subscribe(std::string_view subject, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  std::optional<std::string> request(std::string_view subject, std::string_view payload, int timeout_ms) override;
  std::vector<std::string> gather(std::string_view subject, std::string_view payload, int timeout_ms,
                                  std::size_t max_replies) override;
  bool flush(int timeout_ms) override;
  void on_state(StateHandler handler) override;
  bool connected() const override;
  std::string describe() const override;
  std::uint64_t dropped() const override { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Subscription;
  // A message to hand to libnats, or (`is_state`) a state change for the state handler.
  struct Outgoing {
    std::string subject;
    std::string payload;
    bool is_state = false;
    State state = State::connected;
  };

  void run();  // the bus thread
  void post_state(State state);
  static void close_gate(Subscription& subscription);   // no handler call starts, a running one ended
  void close_subscription(Subscription* subscription);  // close_gate, then unsubscribes

  static void on_message(natsConnection* connection, natsSubscription* sub, natsMsg* msg, void* closure);
  static void on_subscription_complete(void* closure);
  static void on_disconnected(natsConnection* connection, void* closure);
  static void on_reconnected(natsConnection* connection, void* closure);
  static void on_closed(natsConnection* connection, void* closure);
  static void on_async_error(natsConnection* connection, natsSubscription* sub, natsStatus status, void* closure);

  const Options options_;
  const std::string shown_urls_;  // the configured list, without credentials
  natsConnection* connection_ = nullptr;
  std::int64_t max_payload_ = 0;  // the server's, read at connect

  mutable std::mutex mutex_;          // guards everything below except the atomics and thread_
  std::condition_variable wake_;      // the bus thread: queue_ or stopping_ changed
  std::condition_variable progress_;  // handed_total_, live_deliveries_ or closed_seen_ changed
  std::deque<Outgoing> queue_;
  std::int64_t queued_bytes_ = 0;
  std::uint64_t queued_total_ = 0;  // messages ever queued ...
  std::uint64_t handed_total_ = 0;  // ... and ever handed to libnats (flush() waits for them to meet)
  bool stopping_ = false;           // the destructor runs: no more queueing or state callbacks
  bool closed_seen_ = false;        // libnats's closed callback ran: it will not call us again
  State state_ = State::connected;
  std::string current_url_;  // the server connected to last, without credentials
  StateHandler state_handler_;
  std::map<SubscriptionId, Subscription*> subscriptions_;  // freed as Subscription's comment says
  SubscriptionId next_id_ = 1;
  std::size_t live_deliveries_ = 0;         // subscriptions whose libnats delivery thread has not ended
  std::vector<natsSubscription*> retired_;  // unsubscribed, destroyed after natsConnection_Close

  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace parley::bus
