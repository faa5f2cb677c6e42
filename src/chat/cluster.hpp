// ClusterRelay: makes the parleyd nodes that share a store and a bus one chat service.
//
// Every committed batch is published on the bus (PREFIX.batches) and every node applies every
// batch, its own and the others', to its I/O threads in commit-position order, exactly as one
// node applies its own batches to its threads: each thread's Hub keeps only what its
// sessions are subscribed to. Positions are gap-free and handed out in commit order across
// nodes (the store's writer lock), so a node knows what it has not seen: a batch that starts
// past the position delivered so far waits for the ones before it; a gap that the bus does not
// fill within bus.gap_wait_ms (a lost message, a node killed between its commit and its
// publish) is read from the store. A probe of the store's newest position every bus.probe_ms
// finds gaps with nothing after them. docs/architecture.md "Cluster" has the whole picture.
//
// Threads: local_batch() on the writer thread, bus messages on a bus thread, reads on the
// reader pool, timers on I/O thread 0; one mutex orders them, and batches are posted to the
// I/O threads under it, so every thread sees one order.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "bus/bus.hpp"
#include "chat/delivery.hpp"
#include "core/config.hpp"
#include "store/store.hpp"

namespace parley::chat {

class ClusterRelay {
 public:
  struct Hooks {
    std::function<void(SharedDeliveryBatch)> deliver;  // to every I/O thread, in call order
    std::function<bool(std::function<void(store::ReadTxn*)>)> read;  // on the reader pool
    std::function<void(int delay_ms, std::function<void()>)> after;  // a timer
    std::function<void(const Delivery&)> tokens;  // a revocation or cut-off committed elsewhere
    std::function<void(ConversationId, UserId, bool started)> typing;  // typing on another node
    // This node's authenticated sessions, one JSON object each, handed to the callback (any thread).
    std::function<void(std::function<void(std::vector<std::string>)>)> describe_sessions;
  };

  // The sessions of every node that answered within `timeout_ms` (admin sessions): their JSON
  // objects joined by commas, and those nodes' ids, sorted. Blocks for `timeout_ms` (the
  // number of nodes is not known): call it on a reader thread.
  struct SessionsCensus {
    std::string objects;
    std::vector<unsigned> nodes;
  };
  SessionsCensus list_sessions(int timeout_ms);

  ClusterRelay(bus::Bus& bus, const BusConfig& config, unsigned node_id, Hooks hooks);
  ~ClusterRelay();

  // Refuses to start (throws std::runtime_error) if another node answers to this node id;
  // subscribes, then starts from the store's newest position. Blocks until then.
  void start();
  // Unsubscribes and stops the timers. Batches committed later are no longer published.
  void stop();

  // The writer began a batch after `start_pos` / the batch failed (writer thread). While a
  // local batch is in flight, batches of other nodes that come after it wait for it.
  void local_begun(Pos start_pos);
  void local_failed();
  // A batch this node committed (writer thread): published, then delivered in order.
  void local_batch(SharedDeliveryBatch batch);
  void publish_typing(ConversationId conversation, UserId user, bool started);

  std::string metrics_text() const;

 private:
  struct Pending {
    SharedDeliveryBatch batch;
    bool local = false;
  };
  // Key: (start_pos, has events): a batch without events that committed at P goes before
  // the batch whose events start at P + 1.
  using PendingKey = std::pair<Pos, int>;

  void on_batch_message(const bus::Message& message);
  void on_typing_message(const bus::Message& message);
  void answer_sessions(const std::string& reply_to);
  void add_locked(SharedDeliveryBatch batch, bool local);
  void drain_locked();
  void deliver_locked(const Pending& pending);
  void tick();
  void maybe_fill_locked(std::int64_t now_ms);
  void fill(store::ReadTxn* txn, Pos from, Pos up_to);
  void probe();

  bus::Bus& bus_;
  const BusConfig config_;
  const unsigned node_id_;
  Hooks hooks_;
  const std::string batches_subject_;
  const std::string typing_subject_;
  const std::string node_subject_;
  const std::string sessions_subject_;

  mutable std::mutex mutex_;
  bool started_ = false;
  bool stopping_ = false;
  Pos watermark_ = 0;  // every position up to it has been delivered (or was never ours to wait for)
  std::multimap<PendingKey, Pending> pending_;
  std::int64_t gap_since_ms_ = 0;  // when the oldest pending batch started waiting for a gap; 0 = none
  std::deque<std::pair<Pos, std::int64_t>> heads_seen_;  // store heads the probe saw, and when
  std::optional<Pos> local_in_flight_;  // start pos of the batch this node's writer is committing
  bool filling_ = false;
  bool probing_ = false;
  std::int64_t last_probe_ms_ = 0;
  std::vector<bus::SubscriptionId> subscriptions_;

  std::atomic<std::int64_t> last_drop_log_ms_{-1000000};
  std::atomic<std::uint64_t> published_{0}, received_{0}, refused_{0}, fills_{0}, filled_events_{0},
      stale_{0};
};

}  // namespace parley::chat
