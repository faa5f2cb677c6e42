#include "chat/cluster_wire.hpp"

#include <cstring>

namespace parley::chat::wire {
namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void bytes(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    out_.append(v);
  }
  void ids(const std::vector<UserId>& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (UserId id : v) i64(id);
  }

 private:
  // Every machine Parley builds for is little-endian (x86-64, arm64): the bytes are copied as
  // they are in memory.
  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  std::uint8_t u8() {
    std::uint8_t v = 0;
    raw(&v, 1);
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    raw(&v, sizeof v);
    return v;
  }
  std::int64_t i64() {
    std::int64_t v = 0;
    raw(&v, sizeof v);
    return v;
  }
  std::string_view bytes() {
    const std::uint32_t n = u32();
    if (!ok_ || n > in_.size()) return fail();
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  std::vector<UserId> ids() {
    const std::uint32_t n = u32();
    std::vector<UserId> v;
    if (!ok_ || n > in_.size() / sizeof(std::int64_t)) {
      fail();
      return v;
    }
    v.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) v.push_back(i64());
    return v;
  }
  // How many more elements of at least `min_size` bytes the input can hold.
  bool can_hold(std::uint32_t count, std::size_t min_size) {
    if (count > in_.size() / min_size) fail();
    return ok_;
  }

 private:
  std::string_view fail() {
    ok_ = false;
    in_ = {};
    return {};
  }
  void raw(void* p, std::size_t n) {
    if (!ok_ || in_.size() < n) {
      fail();
      return;
    }
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
  }
  std::string_view in_;
  bool ok_ = true;
};

enum : std::uint8_t { kBatch = 1, kTyping = 2, kPresence = 3 };

gateway::SharedFrame frame_of(std::string_view bytes) {
  return bytes.empty() ? nullptr : std::make_shared<const std::string>(bytes);
}

}  // namespace

bool is_relayed(const Delivery& item) {
  return item.event_frame || !item.subscribe.empty() || !item.unsubscribe.empty() ||
         (item.user_frame && !item.to_users.empty()) || !item.revoked_token_ids.empty() || item.token_cutoff;
}

std::string encode_batch(unsigned node_id, const DeliveryBatch& batch) {
  std::string out;
  Writer w(out);
  w.u8(kVersion);
  w.u8(kBatch);
  w.u32(node_id);
  w.i64(batch.start_pos);
  w.i64(batch.committed_pos);
  std::uint32_t count = 0;
  for (const Delivery& item : batch.items) count += is_relayed(item) ? 1 : 0;
  w.u32(count);
  for (const Delivery& item : batch.items) {
    if (!is_relayed(item)) continue;
    w.i64(item.conversation_id);
    w.i64(item.event_pos);
    w.bytes(item.event_frame ? std::string_view(*item.event_frame) : std::string_view());
    w.ids(item.subscribe);
    w.ids(item.unsubscribe);
    w.ids(item.to_users);
    w.bytes(item.user_frame ? std::string_view(*item.user_frame) : std::string_view());
    w.u32(static_cast<std::uint32_t>(item.revoked_token_ids.size()));
    for (const std::string& id : item.revoked_token_ids) w.bytes(id);
    w.u8(item.token_cutoff ? 1 : 0);
    if (item.token_cutoff) {
      w.i64(item.token_cutoff->user_id);
      w.i64(item.token_cutoff->valid_after_s);
      w.bytes(item.token_cutoff->kept_token_id);
    }
  }
  return out;
}

std::optional<RemoteBatch> decode_batch(std::string_view bytes) {
  Reader r(bytes);
  if (r.u8() != kVersion || r.u8() != kBatch) return std::nullopt;
  RemoteBatch remote;
  remote.node_id = r.u32();
  remote.batch.start_pos = r.i64();
  remote.batch.committed_pos = r.i64();
  const std::uint32_t count = r.u32();
  // An item takes at least 41 bytes (two ids, six lengths or counts, a flag): refuse counts the
  // message cannot hold before reserving.
  if (!r.can_hold(count, 41)) return std::nullopt;
  remote.batch.items.reserve(count);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    Delivery d;
    d.conversation_id = r.i64();
    d.event_pos = r.i64();
    d.event_frame = frame_of(r.bytes());
    d.subscribe = r.ids();
    d.unsubscribe = r.ids();
    d.to_users = r.ids();
    d.user_frame = frame_of(r.bytes());
    const std::uint32_t revoked = r.u32();
    if (!r.can_hold(revoked, 4)) break;
    for (std::uint32_t k = 0; k < revoked && r.ok(); ++k) d.revoked_token_ids.emplace_back(r.bytes());
    const std::uint8_t has_cutoff = r.u8();
    if (has_cutoff > 1) break;
    if (has_cutoff == 1) {
      store::TokenCutoff cutoff;
      cutoff.user_id = r.i64();
      cutoff.valid_after_s = r.i64();
      cutoff.kept_token_id = std::string(r.bytes());
      d.token_cutoff = std::move(cutoff);
    }
    remote.batch.items.push_back(std::move(d));
  }
  if (remote.batch.items.size() != count) return std::nullopt;  // stopped early: a bad flag
  if (!r.ok() || !r.at_end() || remote.batch.start_pos < 0 || remote.batch.committed_pos < remote.batch.start_pos)
    return std::nullopt;
  return remote;
}

std::string encode_typing(const Typing& typing) {
  std::string out;
  Writer w(out);
  w.u8(kVersion);
  w.u8(kTyping);
  w.u32(typing.node_id);
  w.i64(typing.conversation_id);
  w.i64(typing.user_id);
  w.u8(typing.started ? 1 : 0);
  return out;
}

std::optional<Typing> decode_typing(std::string_view bytes) {
  Reader r(bytes);
  if (r.u8() != kVersion || r.u8() != kTyping) return std::nullopt;
  Typing typing;
  typing.node_id = r.u32();
  typing.conversation_id = r.i64();
  typing.user_id = r.i64();
  const std::uint8_t started = r.u8();
  if (!r.ok() || !r.at_end() || started > 1) return std::nullopt;
  typing.started = started == 1;
  return typing;
}

namespace {
constexpr std::string_view kStatuses[] = {"offline", "away", "online"};
}

std::string encode_presence(const Presence& presence) {
  std::string out;
  Writer w(out);
  w.u8(kVersion);
  w.u8(kPresence);
  w.u32(presence.node_id);
  w.u32(static_cast<std::uint32_t>(presence.changes.size()));
  for (const PresenceChange& change : presence.changes) {
    std::uint8_t status = 0;
    for (std::uint8_t i = 0; i < 3; ++i)
      if (kStatuses[i] == change.status) status = i;
    w.i64(change.user_id);
    w.u8(status);
    w.i64(change.last_seen_ms);
    w.i64(static_cast<std::int64_t>(change.version));
    w.ids(change.audience);
  }
  return out;
}

std::optional<Presence> decode_presence(std::string_view bytes) {
  Reader r(bytes);
  if (r.u8() != kVersion || r.u8() != kPresence) return std::nullopt;
  Presence presence;
  presence.node_id = r.u32();
  const std::uint32_t count = r.u32();
  if (!r.can_hold(count, 29)) return std::nullopt;  // user, status, last seen, version, count
  presence.changes.reserve(count);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    PresenceChange change;
    change.user_id = r.i64();
    const std::uint8_t status = r.u8();
    change.last_seen_ms = r.i64();
    change.version = static_cast<std::uint64_t>(r.i64());
    change.audience = r.ids();
    if (status > 2) return std::nullopt;
    change.status = std::string(kStatuses[status]);
    presence.changes.push_back(std::move(change));
  }
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return presence;
}

}  // namespace parley::chat::wire
