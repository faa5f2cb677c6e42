#include "chat/cluster.hpp"

#include <spdlog/spdlog.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <future>
#include <optional>
#include <unordered_map>

#include "chat/cluster_wire.hpp"
#include "chat/serialize.hpp"
#include "core/clock.hpp"
#include "core/metrics_text.hpp"

namespace parley::chat {
namespace {

// Events read from the store per fill; a longer gap (a bus outage under load) takes several.
constexpr int kFillLimit = 5000;

// What a batch keeps when its events were already delivered from the store: the requester's
// reply (and hello snapshot) and the revocations, nothing that would repeat or reorder.
SharedDeliveryBatch without_events(const DeliveryBatch& batch) {
  auto copy = std::make_shared<DeliveryBatch>();
  copy->start_pos = batch.start_pos;
  copy->committed_pos = batch.committed_pos;
  for (const Delivery& item : batch.items) {
    if (!item.requester && item.revoked_token_ids.empty() && !item.token_cutoff) continue;
    Delivery d;
    d.conversation_id = item.conversation_id;
    d.requester = item.requester;
    d.reply = item.reply;
    d.skip_requester = item.skip_requester;
    d.snapshot = item.snapshot;
    d.revoked_token_ids = item.revoked_token_ids;
    d.token_cutoff = item.token_cutoff;
    copy->items.push_back(std::move(d));
  }
  return copy;
}

std::vector<UserId> meta_ids(const std::string& meta_json, const char* key) {
  std::vector<UserId> ids;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(meta_json).get(doc)) return ids;
  simdjson::dom::element value;
  if (doc[key].get(value)) return ids;
  if (value.is_array()) {
    for (auto element : value.get_array()) {
      std::int64_t id = 0;
      if (!element.get(id)) ids.push_back(id);
    }
  } else if (std::int64_t id = 0; !value.get(id)) {
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

ClusterRelay::ClusterRelay(bus::Bus& bus, const BusConfig& config, unsigned node_id, Hooks hooks)
    : bus_(bus),
      config_(config),
      node_id_(node_id),
      hooks_(std::move(hooks)),
      batches_subject_(config.subject_prefix + ".batches"),
      typing_subject_(config.subject_prefix + ".typing"),
      node_subject_(config.subject_prefix + ".node." + std::to_string(node_id)),
      sessions_subject_(config.subject_prefix + ".sessions") {}

ClusterRelay::~ClusterRelay() { stop(); }

void ClusterRelay::start() {
  // Two nodes with one id would hand out clashing message ids and drop each other's batches.
  if (auto other = bus_.request(node_subject_, "who", 500))
    throw std::runtime_error("server.node_id " + std::to_string(node_id_) + " is already used by another node (" +
                             *other + "); give every node its own id");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string whoami = std::string("host=") + host + " pid=" + std::to_string(::getpid());
  subscriptions_.push_back(bus_.subscribe(node_subject_, [this, whoami](const bus::Message& m) {
    if (!m.reply_to.empty()) bus_.publish(m.reply_to, whoami);
  }));
  subscriptions_.push_back(bus_.subscribe(batches_subject_, [this](const bus::Message& m) { on_batch_message(m); }));
  subscriptions_.push_back(bus_.subscribe(typing_subject_, [this](const bus::Message& m) { on_typing_message(m); }));
  subscriptions_.push_back(bus_.subscribe(sessions_subject_, [this](const bus::Message& m) {
    if (!m.reply_to.empty()) answer_sessions(std::string(m.reply_to));
  }));
  // Subscribed first, then the head: a batch committed in between arrives by the bus (or is
  // older than the head and dropped), never falls between the two.
  std::promise<Pos> head;
  if (!hooks_.read([&head](store::ReadTxn* txn) { head.set_value(txn ? txn->head_pos() : -1); }))
    throw std::runtime_error("cluster start: the reader pool refused the first read");
  const Pos start = head.get_future().get();
  if (start < 0) throw std::runtime_error("cluster start: the store could not be read");
  {
    std::lock_guard lock(mutex_);
    watermark_ = start;
    started_ = true;
    drain_locked();
  }
  spdlog::info("cluster.started node_id={} bus=\"{}\" pos={}", node_id_, bus_.describe(), start);
  hooks_.after(std::min(config_.probe_ms, config_.gap_wait_ms), [this] { tick(); });
}

// --- admin sessions across nodes ---
//
// A node answers PREFIX.sessions with its sessions in parts of at most kSessionsPartBytes (the
// bus carries 1 MiB at most): "NODE PART COUNT\n" then that part's objects joined by commas.
// The asker keeps a node's sessions only if every part of it came.

namespace {
constexpr std::size_t kSessionsPartBytes = 512 * 1024;
}  // namespace

void ClusterRelay::answer_sessions(const std::string& reply_to) {
  if (!hooks_.describe_sessions) return;
  hooks_.describe_sessions([this, reply_to](std::vector<std::string> objects) {
    std::vector<std::string> parts(1);
    for (const std::string& object : objects) {
      if (!parts.back().empty() && parts.back().size() + object.size() + 1 > kSessionsPartBytes) parts.emplace_back();
      if (!parts.back().empty()) parts.back().push_back(',');
      parts.back() += object;
    }
    for (std::size_t i = 0; i < parts.size(); ++i)
      bus_.publish(reply_to, std::to_string(node_id_) + " " + std::to_string(i) + " " + std::to_string(parts.size()) +
                                 "\n" + parts[i]);
  });
}

ClusterRelay::SessionsCensus ClusterRelay::list_sessions(int timeout_ms) {
  std::map<unsigned, std::vector<std::optional<std::string>>> by_node;
  for (std::string& reply : bus_.gather(sessions_subject_, "list", timeout_ms, SIZE_MAX)) {
    const auto newline = reply.find('\n');
    unsigned node = 0;
    std::size_t part = 0, count = 0;
    if (newline == std::string::npos ||
        std::sscanf(reply.substr(0, newline).c_str(), "%u %zu %zu", &node, &part, &count) != 3 || count == 0 ||
        count > 100000 || part >= count)
      continue;  // not ours: ignored
    auto& parts = by_node[node];
    if (parts.size() != count) parts.assign(count, std::nullopt);
    parts[part] = reply.substr(newline + 1);
  }
  SessionsCensus census;
  for (const auto& [node, parts] : by_node) {
    if (std::any_of(parts.begin(), parts.end(), [](const auto& p) { return !p; })) continue;  // a part was lost
    census.nodes.push_back(node);
    for (const auto& part : parts) {
      if (part->empty()) continue;
      if (!census.objects.empty()) census.objects.push_back(',');
      census.objects += *part;
    }
  }
  return census;
}

void ClusterRelay::stop() {
  std::vector<bus::SubscriptionId> subscriptions;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    subscriptions.swap(subscriptions_);
  }
  for (auto id : subscriptions) bus_.unsubscribe(id);
  bus_.flush(1000);
}

void ClusterRelay::local_begun(Pos start_pos) {
  std::lock_guard lock(mutex_);
  local_in_flight_ = start_pos;
}

void ClusterRelay::local_failed() {
  std::lock_guard lock(mutex_);
  local_in_flight_.reset();
  if (started_) drain_locked();
}

void ClusterRelay::local_batch(SharedDeliveryBatch batch) {
  bool relay = false;
  for (const Delivery& item : batch->items) relay = relay || wire::is_relayed(item);
  if (relay) {
    const std::string bytes = wire::encode_batch(node_id_, *batch);
    if (!bus_.publish(batches_subject_, bytes)) {
      // Too large for the bus (a NATS message is at most 1 MiB by default; a storm of hellos
      // can make a batch larger) or disconnected: the other nodes read it from the store.
      const std::int64_t now = monotonic_ms();
      if (now - last_drop_log_ms_.exchange(now) >= 1000)
        spdlog::warn("cluster.publish_dropped bytes={} start_pos={} (read from the store by the other nodes)",
                     bytes.size(), batch->start_pos);
    }
    published_.fetch_add(1, std::memory_order_relaxed);
  }
  std::lock_guard lock(mutex_);
  local_in_flight_.reset();
  add_locked(std::move(batch), true);
}

void ClusterRelay::publish_typing(ConversationId conversation, UserId user, bool started) {
  bus_.publish(typing_subject_, wire::encode_typing({node_id_, conversation, user, started}));
}

void ClusterRelay::on_typing_message(const bus::Message& message) {
  auto typing = wire::decode_typing(message.payload);
  if (!typing) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (typing->node_id == node_id_) return;  // delivered here already
  hooks_.typing(typing->conversation_id, typing->user_id, typing->started);
}

void ClusterRelay::on_batch_message(const bus::Message& message) {
  auto remote = wire::decode_batch(message.payload);
  if (!remote) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("cluster.refused_message bytes={} reason=\"malformed or unknown version\"", message.payload.size());
    return;
  }
  if (remote->node_id == node_id_) return;  // our own, delivered from local_batch
  received_.fetch_add(1, std::memory_order_relaxed);
  // Revocations take effect in the registry at once; the sessions close when the batch is applied.
  for (const Delivery& item : remote->batch.items)
    if (!item.revoked_token_ids.empty() || item.token_cutoff) hooks_.tokens(item);
  auto batch = std::make_shared<DeliveryBatch>(std::move(remote->batch));
  std::lock_guard lock(mutex_);
  add_locked(std::move(batch), false);
}

void ClusterRelay::add_locked(SharedDeliveryBatch batch, bool local) {
  if (stopping_ && !local) return;
  const bool has_events = batch->start_pos < batch->committed_pos;
  if (started_ && !local && has_events && batch->committed_pos <= watermark_) {
    stale_.fetch_add(1, std::memory_order_relaxed);  // its events came from the store already
    return;
  }
  const PendingKey key{batch->start_pos, has_events ? 1 : 0};  // before the move below
  pending_.emplace(key, Pending{std::move(batch), local});
  if (started_) drain_locked();
}

void ClusterRelay::deliver_locked(const Pending& pending) {
  const DeliveryBatch& batch = *pending.batch;
  if (batch.start_pos < batch.committed_pos && batch.committed_pos <= watermark_) {
    stale_.fetch_add(1, std::memory_order_relaxed);
    if (pending.local) hooks_.deliver(without_events(batch));
    return;
  }
  hooks_.deliver(pending.batch);
  watermark_ = std::max(watermark_, batch.committed_pos);
}

void ClusterRelay::drain_locked() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    if (it->first.first > watermark_) break;  // a gap: positions before this batch are missing
    // This node's writer is committing a batch that starts at *local_in_flight_: another node's
    // batch after it (its events start there or later) waits until ours is here, so that ours
    // (a hello snapshot, say) is applied at its exact position.
    if (local_in_flight_ && !it->second.local &&
        (it->first.first > *local_in_flight_ || (it->first.first == *local_in_flight_ && it->first.second == 1)))
      break;
    Pending pending = std::move(it->second);
    pending_.erase(it);
    deliver_locked(pending);
  }
  if (pending_.empty()) {
    gap_since_ms_ = 0;
  } else if (gap_since_ms_ == 0) {
    gap_since_ms_ = monotonic_ms();
  }
  while (!heads_seen_.empty() && heads_seen_.front().first <= watermark_) heads_seen_.pop_front();
}

void ClusterRelay::tick() {
  const std::int64_t now = monotonic_ms();
  bool probe_now = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    maybe_fill_locked(now);
    if (!probing_ && now - last_probe_ms_ >= config_.probe_ms) {
      probing_ = true;
      last_probe_ms_ = now;
      probe_now = true;
    }
  }
  if (probe_now) probe();
  hooks_.after(std::max(5, std::min(config_.probe_ms, config_.gap_wait_ms) / 2), [this] { tick(); });
}

void ClusterRelay::probe() {
  const bool queued = hooks_.read([this](store::ReadTxn* txn) {
    const Pos head = txn ? txn->head_pos() : 0;
    std::lock_guard lock(mutex_);
    probing_ = false;
    if (head > watermark_ && (heads_seen_.empty() || heads_seen_.back().first < head))
      heads_seen_.emplace_back(head, monotonic_ms());
  });
  if (!queued) {
    std::lock_guard lock(mutex_);
    probing_ = false;
  }
}

void ClusterRelay::maybe_fill_locked(std::int64_t now) {
  if (filling_ || stopping_ || !started_) return;
  Pos up_to = 0;
  // A batch waiting longer than gap_wait_ms for the positions before it.
  if (!pending_.empty() && gap_since_ms_ != 0 && now - gap_since_ms_ >= config_.gap_wait_ms)
    up_to = pending_.begin()->first.first;
  // A store head seen gap_wait_ms ago and still not delivered (nothing after it came by the bus).
  for (const auto& [head, seen_at] : heads_seen_)
    if (head > watermark_ && now - seen_at >= config_.gap_wait_ms) up_to = std::max(up_to, head);
  if (!pending_.empty()) up_to = std::min(up_to, pending_.begin()->first.first);
  // Positions after the start of this node's batch in flight may be its own: never read them.
  if (local_in_flight_) up_to = std::min(up_to, *local_in_flight_);
  if (up_to <= watermark_) return;
  filling_ = true;
  const Pos from = watermark_;
  if (!hooks_.read([this, from, up_to](store::ReadTxn* txn) { fill(txn, from, up_to); })) filling_ = false;
}

void ClusterRelay::fill(store::ReadTxn* txn, Pos from, Pos up_to) {
  if (!txn) {  // the store is unreachable: the next tick tries again
    std::lock_guard lock(mutex_);
    filling_ = false;
    return;
  }
  auto batch = std::make_shared<DeliveryBatch>();
  Pos reached = up_to;
  try {
    auto events = txn->events_by_pos(from, up_to, kFillLimit);
    if (events.size() == static_cast<std::size_t>(kFillLimit)) reached = events.back().pos;
    // Subscription changes are derived from the events (the batch that carried them is lost):
    // membership events name who joins or leaves; a direct conversation has no membership
    // events, so both members are subscribed at each of its events (idempotent).
    std::unordered_map<ConversationId, std::vector<UserId>> direct_members;
    for (const store::EventRecord& event : events) {
      Delivery d;
      d.conversation_id = event.conversation_id;
      d.event_pos = event.pos;
      d.event_frame = gateway::make_text_frame_in_place(event_frame_json(event));
      switch (event.kind) {
        case EventKind::conversation_created:
        case EventKind::member_joined: d.subscribe = {event.sender_id}; break;
        case EventKind::member_added: d.subscribe = meta_ids(event.meta_json, "user_ids"); break;
        case EventKind::member_removed: d.unsubscribe = meta_ids(event.meta_json, "user_id"); break;
        case EventKind::member_left: d.unsubscribe = {event.sender_id}; break;
        default: {
          auto [it, inserted] = direct_members.try_emplace(event.conversation_id);
          if (inserted) {
            auto conversation = txn->conversation(event.conversation_id);
            if (conversation && conversation->kind == ConversationKind::direct)
              for (const auto& member : txn->active_members(event.conversation_id)) it->second.push_back(member.user_id);
          }
          d.subscribe = it->second;
        }
      }
      batch->items.push_back(std::move(d));
    }
  } catch (const std::exception& e) {
    spdlog::warn("cluster.fill_failed from={} to={} error=\"{}\"", from, up_to, e.what());
    std::lock_guard lock(mutex_);
    filling_ = false;
    return;
  }
  std::lock_guard lock(mutex_);
  filling_ = false;
  if (stopping_ || reached <= watermark_) return;
  // The bus may have delivered part of the range meanwhile.
  std::erase_if(batch->items, [this](const Delivery& d) { return d.event_pos <= watermark_; });
  fills_.fetch_add(1, std::memory_order_relaxed);
  filled_events_.fetch_add(batch->items.size(), std::memory_order_relaxed);
  spdlog::info("cluster.filled from={} to={} events={}", watermark_, reached, batch->items.size());
  batch->start_pos = watermark_;
  batch->committed_pos = reached;
  hooks_.deliver(std::move(batch));
  watermark_ = reached;
  drain_locked();
}

std::string ClusterRelay::metrics_text() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    append_metric(out, name, type, help, value);
  };
  std::size_t pending = 0;
  Pos watermark = 0;
  {
    std::lock_guard lock(mutex_);
    pending = pending_.size();
    watermark = watermark_;
  }
  metric("parley_bus_connected", "gauge", "1 if the bus connection is up", bus_.connected() ? 1 : 0);
  metric("parley_bus_batches_published_total", "counter", "committed batches published to other nodes",
         published_.load(std::memory_order_relaxed));
  metric("parley_bus_batches_received_total", "counter", "batches received from other nodes",
         received_.load(std::memory_order_relaxed));
  metric("parley_bus_messages_refused_total", "counter", "bus messages refused as malformed",
         refused_.load(std::memory_order_relaxed));
  metric("parley_bus_publish_dropped_total", "counter", "messages the bus dropped (disconnected, buffer full)",
         bus_.dropped());
  metric("parley_cluster_fills_total", "counter", "gaps filled from the store", fills_.load(std::memory_order_relaxed));
  metric("parley_cluster_filled_events_total", "counter", "events delivered from the store instead of the bus",
         filled_events_.load(std::memory_order_relaxed));
  metric("parley_cluster_stale_batches_total", "counter", "batches that arrived after their events were filled",
         stale_.load(std::memory_order_relaxed));
  metric("parley_cluster_pending_batches", "gauge", "batches waiting for earlier positions", pending);
  metric("parley_cluster_delivered_pos", "gauge", "every position up to this one is delivered on this node",
         static_cast<std::uint64_t>(watermark));
  return out;
}

}  // namespace parley::chat
