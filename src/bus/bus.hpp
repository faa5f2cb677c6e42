// Bus: the message bus between parleyd nodes (cluster mode). Subjects and byte payloads, the
// way NATS models them: publish to a subject, subscribe to a subject or a wildcard of one.
// Engines: `inproc:NAME` (nodes in one process sharing NAME; the behavioural suite and tests)
// and `nats://host:port[,nats://host2:port...]` (a NATS server or cluster, through libnats).
// Nothing in chat/ knows which engine runs.
//
// Delivery is at most once: a message published while a node is disconnected, or beyond the
// reconnect buffer, may be lost. Users of the bus must detect loss themselves (the chat layer
// checks commit positions against the store and fills gaps from it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bus {

struct Message {
  std::string_view subject;
  std::string_view payload;
  std::string_view reply_to;  // empty unless the publisher asked for a reply (request())
};

// Runs on a thread of the bus, one message at a time per subscription, in the order the bus
// received them: two messages of one publisher on one subject arrive in publish order. The
// message's views are valid only during the call. Never on the publisher's thread.
using Handler = std::function<void(const Message& message)>;

// Connection state changes. `reconnected` means messages may have been lost while the
// connection was down: users re-check against their source of truth. `closed`: the connection
// ended for good and will not come back (not reported while the Bus is being destroyed).
enum class State { connected, disconnected, reconnected, closed };
using StateHandler = std::function<void(State state)>;

using SubscriptionId = std::uint64_t;

struct Options {
  std::string url;                                // "inproc:NAME" or "nats://h:p[,nats://h2:p2...]"
  std::string name;                               // connection name shown by the server (e.g. "parleyd-3")
  int connect_timeout_ms = 2000;                  // per (re)connect attempt; also the NATS socket write deadline
  int reconnect_wait_ms = 100;                    // between reconnect attempts (plus up to as much, random)
  std::int64_t reconnect_buffer_bytes = 8 << 20;  // published while disconnected; beyond: dropped
  int ping_interval_ms = 5000;                    // NATS: a silent connection (a partition) is found
                                                  // dead after two unanswered pings
                                                  // (NATS: also bounds the queue in front of libnats)
};

class Bus {
 public:
  // Drops what has not been handed to the server yet (call flush() first) and waits for running
  // handlers: no handler or state callback runs after the destructor returns. Never destroy a
  // Bus from one of its own handlers.
  virtual ~Bus() = default;

  // Publishes `payload` on `subject`. Thread-safe; never waits on the network. False if the
  // message was dropped (closed, the reconnect buffer is full, `subject` is not a valid publish
  // subject, or the payload is larger than the server accepts: 1 MiB on a default NATS and on
  // inproc). NATS hands messages to libnats on a bus thread: one that libnats refuses there
  // (its reconnect buffer full) is counted in dropped() although publish() returned true.
  virtual bool publish(std::string_view subject, std::string_view payload) = 0;
  // Starts delivering messages whose subject matches `subject` ("a.b", or NATS wildcards:
  // "a.*" one token, "a.>" one or more) to `handler`. Thread-safe. The subscription is in
  // effect on the server when this returns (a message published afterwards by anyone reaches it;
  // while disconnected: from the reconnect on). Throws std::invalid_argument if `subject` is not
  // a valid subject or wildcard (valid_subject(subject, true)), a programming error.
  virtual SubscriptionId subscribe(std::string_view subject, Handler handler) = 0;
  // Stops a subscription; no handler call for it starts after this returns, and a call running
  // on a bus thread has returned (unless unsubscribe runs on that very thread). Thread-safe;
  // unknown ids are ignored. Never call it from that subscription's own handler.
  virtual void unsubscribe(SubscriptionId id) = 0;
  // Publishes with a reply subject and waits up to `timeout_ms` for the first reply; nullopt
  // on timeout or when nobody listens (at once when the server knows there is no subscriber).
  // Blocks the calling thread; may be called from a handler.
  virtual std::optional<std::string> request(std::string_view subject, std::string_view payload, int timeout_ms) = 0;
  // Publishes with a reply subject and collects every reply that arrives within `timeout_ms`,
  // in arrival order, returning early once `max_replies` came (several subscribers may each
  // answer, several times); empty when nobody answered in time. Blocks the calling thread;
  // never call it from a handler of this Bus.
  virtual std::vector<std::string> gather(std::string_view subject, std::string_view payload, int timeout_ms,
                                          std::size_t max_replies) = 0;
  // Waits until everything published so far has reached the server; false on timeout.
  virtual bool flush(int timeout_ms) = 0;
  // Called on a bus thread with the current state at once (`connected` right after open),
  // then on every change. Set before subscribing; not thread-safe.
  virtual void on_state(StateHandler handler) = 0;
  virtual bool connected() const = 0;
  // "nats://127.0.0.1:4222 (connected)" — never includes credentials.
  virtual std::string describe() const = 0;
  // Messages dropped by publish() so far.
  virtual std::uint64_t dropped() const = 0;
};

// True if `subject` is a valid NATS subject: dot-separated non-empty tokens without whitespace
// or control characters; with `wildcards`, a token may also be `*` (any one token) or, last,
// `>` (one or more tokens).
bool valid_subject(std::string_view subject, bool wildcards);

// Opens the bus named by options.url. Throws std::runtime_error if the URL is malformed or no
// server answers within options.connect_timeout_ms (start-up only; later outages reconnect).
std::unique_ptr<Bus> open_bus(const Options& options);

}  // namespace parley::bus
