// InprocBus: the bus engine for nodes in one process (`inproc:NAME`). Every Bus opened on the
// same NAME shares one in-process "server" (a process-wide registry entry that lives while a
// Bus uses it); subjects and wildcards behave as on NATS. Each Bus has one thread that runs its
// handlers and state callbacks, so handlers never run on the publisher's thread; a publish
// reaches every matching Bus's queue before publish() returns, so flush() has nothing to wait
// for. Limits copy NATS's defaults (1 MiB payload, 65,536 messages or 64 MiB queued per Bus,
// beyond which a slow Bus loses messages), so code tested here fits a default NATS.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "bus/bus.hpp"

namespace parley::bus {

class InprocServer;
struct InprocInbox;

class InprocBus final : public Bus {
 public:
  // Joins the server named `name`, creating it if no Bus uses it yet. Starts the bus thread.
  InprocBus(const Options& options, std::string name);
  ~InprocBus() override;
  InprocBus(const InprocBus&) = delete;
  InprocBus& operator=(const InprocBus&) = delete;

  bool publish(std::string_view subject, std::string_view payload) override;
  SubscriptionId subscribe(std::string_view subject, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  std::optional<std::string> request(std::string_view subject, std::string_view payload, int timeout_ms) override;
  std::vector<std::string> gather(std::string_view subject, std::string_view payload, int timeout_ms,
                                  std::size_t max_replies) override;
  bool flush(int timeout_ms) override;
  void on_state(StateHandler handler) override;
  bool connected() const override { return true; }
  std::string describe() const override { return "inproc:" + name_ + " (connected)"; }
  std::uint64_t dropped() const override { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Subscription;

  void run();  // the bus thread: delivers what the server queued in inbox_

  std::string name_;
  std::shared_ptr<InprocServer> server_;
  std::shared_ptr<InprocInbox> inbox_;
  std::mutex mutex_;  // guards the two members below
  std::unordered_map<SubscriptionId, std::shared_ptr<Subscription>> subscriptions_;
  StateHandler state_handler_;
  std::atomic<SubscriptionId> next_id_{1};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace parley::bus
