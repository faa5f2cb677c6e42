// The live features that never wait for the writer: typing indicators and presence (pure
// ephemera), and the coalescing window of receipts (stored later, in one op per window).
#include <spdlog/spdlog.h>

#include "chat/service.hpp"

#include "chat/cluster.hpp"
#include "chat/cluster_presence.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

// The typing throttle keys on a mix of (conversation, user): a collision only shares a
// throttle. Receipts key on the exact pair (ChatService::LiveState).
std::uint64_t pair_key(ConversationId conversation, UserId user) { return mix_ids(conversation, user); }

// Stores when users went offline (their "last seen").
class LastSeenOp final : public ChatOp {
 public:
  LastSeenOp(ChatService& s, std::vector<std::pair<UserId, std::int64_t>> entries)
      : ChatOp(s, 0, ReplyTarget{}), entries_(std::move(entries)) {}
  void abort(const Error&) override {}

 protected:
  Status run(store::WriteTxn& txn) override {
    for (const auto& [user, at] : entries_) txn.set_last_seen(user, at);
    return Ok{};
  }

 private:
  std::vector<std::pair<UserId, std::int64_t>> entries_;
};

}  // namespace

bool ChatService::handle_live(gateway::Session* session, const Identity& caller, protocol::Command& command,
                              const ReplyTarget& target) {
  const unsigned thread = target.thread;
  if (auto* receipt = std::get_if<protocol::ReceiptCmd>(&command)) {
    queue_receipt(thread, PendingReceipt{receipt->conversation_id, caller.user_id, receipt->delivered_seq,
                                         receipt->read_seq});
    Reply reply;
    JsonWriter(reply.fields).field("conversation_id", receipt->conversation_id).field("queued", true);
    hub(thread).deliver_reply(target, reply);
    return true;
  }
  if (auto* typing = std::get_if<protocol::TypingCmd>(&command)) {
    if (!session) {
      hub(thread).deliver_reply(target, Reply::failure(ErrorCode::invalid_field, "typing needs a WebSocket session"));
      return true;
    }
    // A session is subscribed to exactly the conversations its user is a member of.
    if (!hub(thread).is_subscribed(caller.user_id, typing->conversation_id)) {
      hub(thread).deliver_reply(target, Reply::failure(ErrorCode::not_member, "you are not a member of this conversation"));
      return true;
    }
    const std::int64_t now = monotonic_ms();
    LiveState& live = *live_[thread];
    const std::uint64_t key = pair_key(typing->conversation_id, caller.user_id);
    bool throttled = false;
    if (typing->typing) {
      auto [it, inserted] = live.typing_sent.try_emplace(key, now);
      throttled = !inserted && now - it->second < config_.limits.typing_throttle_ms;
      if (!throttled) it->second = now;
      if (live.typing_sent.size() > 100000) live.typing_sent.clear();  // bounded; a reset only lifts the throttle
    } else {
      live.typing_sent.erase(key);
    }
    if (!throttled) {
      fan_out_typing(typing->conversation_id, caller.user_id, typing->typing);
      if (cluster_) cluster_->publish_typing(typing->conversation_id, caller.user_id, typing->typing);
    }
    Reply reply;
    JsonWriter(reply.fields).field("throttled", throttled);
    hub(thread).deliver_reply(target, reply);
    return true;
  }
  if (auto* presence = std::get_if<protocol::PresenceSetCmd>(&command)) {
    if (!session) {
      hub(thread).deliver_reply(target, Reply::failure(ErrorCode::invalid_field, "presence needs a WebSocket session"));
      return true;
    }
    presence_.set_away(caller.user_id, session->id(), presence->away, wall_clock_ms());
    Reply reply;
    JsonWriter(reply.fields).field("status", presence->away ? "away" : "online");
    hub(thread).deliver_reply(target, reply);
    return true;
  }
  return false;
}

void ChatService::fan_out_typing(ConversationId conversation, UserId user, bool started) {
  for (unsigned i = 0; i < poster_.thread_count(); ++i) {
    poster_.post(i, [this, i, conversation, user, started] {
      hub(i).typing(conversation, user, started, config_.limits.typing_ttl_ms, monotonic_ms());
      if (started && !live_[i]->typing_timer) {
        live_[i]->typing_timer = true;
        poster_.post_after(i, 1000, [this, i] { expire_typing(i); });
      }
    });
  }
}

void ChatService::expire_typing(unsigned thread) {
  if (hub(thread).expire_typing(monotonic_ms())) {
    poster_.post_after(thread, 1000, [this, thread] { expire_typing(thread); });
  } else {
    live_[thread]->typing_timer = false;
  }
}

void ChatService::queue_receipt(unsigned thread, const PendingReceipt& receipt) {
  LiveState& live = *live_[thread];
  auto [it, inserted] = live.receipts.try_emplace(ReceiptKey{receipt.conversation_id, receipt.user_id}, receipt);
  if (!inserted) {
    it->second.delivered_seq = std::max(it->second.delivered_seq, receipt.delivered_seq);
    it->second.read_seq = std::max(it->second.read_seq, receipt.read_seq);
  }
  if (live.receipts_scheduled) return;
  live.receipts_scheduled = true;
  poster_.post_after(thread, config_.limits.receipt_flush_ms, [this, thread] { flush_receipts(thread); });
}

void ChatService::flush_receipts(unsigned thread) {
  LiveState& live = *live_[thread];
  live.receipts_scheduled = false;
  if (live.receipts.empty()) return;
  std::vector<PendingReceipt> batch;
  batch.reserve(live.receipts.size());
  for (auto& [key, receipt] : live.receipts) batch.push_back(receipt);
  live.receipts.clear();
  if (!accepting_.load() || !submit_write(make_receipts_op(*this, std::move(batch))))
    spdlog::warn("receipts.dropped thread={} (write queue full or shutting down)", thread);
}

void ChatService::presence_tick() {
  if (!accepting_.load()) return;
  poster_.post_after(0, config_.presence.batch_ms, [this] { presence_tick(); });
  auto changes = presence_.take_changes(wall_clock_ms());
  if (changes.empty()) return;
  if (cluster_presence_) return cluster_presence_->local_changes(changes);  // this node's part of the status
  // Who may see each change (users sharing a direct or group conversation), read off the I/O
  // threads, then one broadcast for the whole window.
  auto read = [this, changes = std::move(changes)](store::ReadTxn* txn) {
    if (!txn) return;
    auto batch = std::make_shared<std::vector<PresenceChange>>();
    std::vector<std::pair<UserId, std::int64_t>> offline;
    std::vector<UserId> users;
    for (const auto& change : changes) users.push_back(change.user_id);
    const auto audiences = txn->presence_audiences(users);  // ascending by user
    for (const auto& change : changes) {
      PresenceChange out;
      out.user_id = change.user_id;
      out.status = to_string(change.view.status);
      const store::PresenceAudience* found = store::find_audience(audiences, change.user_id);
      const bool share = found && found->share_last_seen;
      presence_.set_privacy(change.user_id, share);
      if (share && change.went_offline) out.last_seen_ms = change.view.last_seen_ms;
      if (found) out.audience = found->peers;
      if (change.went_offline) offline.emplace_back(change.user_id, change.view.last_seen_ms);
      batch->push_back(std::move(out));
    }
    SharedPresenceBatch shared = std::move(batch);
    for (unsigned i = 0; i < poster_.thread_count(); ++i)
      poster_.post(i, [this, i, shared] { hub(i).deliver_presence(*shared); });
    if (!offline.empty()) submit_write(std::make_unique<LastSeenOp>(*this, std::move(offline)));
  };
  if (!readers_->submit(std::move(read))) spdlog::warn("presence.dropped (read queue full)");
}

std::vector<PresenceView> ChatService::presence_views(const std::vector<UserId>& users) const {
  std::vector<PresenceView> views;
  views.reserve(users.size());
  if (cluster_presence_) {
    if (auto across = cluster_presence_->lookup(users)) {
      for (const presence::View& view : *across) views.push_back({to_status(view.state), view.last_seen_ms});
      return views;
    }
  }
  // One node, or the directory is unreachable: what this node knows.
  const std::int64_t now = wall_clock_ms();
  for (UserId user : users) {
    const auto view = presence_.view(user, now);
    views.push_back({view.status, view.last_seen_ms});
  }
  return views;
}

void ChatService::start_cluster_presence() {
  ClusterPresence::Hooks hooks;
  hooks.read = [this](std::function<void(store::ReadTxn*)> task) { return readers_->submit(std::move(task)); };
  hooks.after = [this](int delay_ms, std::function<void()> task) { poster_.post_after(0, delay_ms, std::move(task)); };
  hooks.deliver = [this](SharedPresenceBatch batch) {
    for (unsigned i = 0; i < poster_.thread_count(); ++i)
      poster_.post(i, [this, i, batch] { hub(i).deliver_presence(*batch); });
  };
  hooks.store_last_seen = [this](std::vector<std::pair<UserId, std::int64_t>> offline) {
    if (!submit_write(std::make_unique<LastSeenOp>(*this, std::move(offline))))
      spdlog::warn("presence.last_seen_dropped (write queue full)");
  };
  hooks.local_states = [this] {
    std::vector<presence::Report> reports;
    for (const auto& [user, status] : presence_.snapshot(wall_clock_ms()))
      reports.push_back({user, to_state(status)});
    return reports;
  };
  hooks.local_state = [this](UserId user) { return to_state(presence_.view(user, wall_clock_ms()).status); };
  cluster_presence_ = std::make_unique<ClusterPresence>(*directory_, *bus_, config_, std::move(hooks));
  cluster_presence_->start();
}

}  // namespace parley::chat
