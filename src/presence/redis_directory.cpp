#include "presence/redis_directory.hpp"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>

namespace parley::presence {
namespace {

// A user's hash outlives its last write by this much (plus the status's ttl), so versions and
// last-seen survive quiet periods; README: "Key layout".
constexpr std::int64_t kRecordRetentionMs = 24 * 3600 * 1000;

// Every script starts with this: the Redis server's clock in ms, the one clock of the cluster.
#define PARLEY_REDIS_NOW                \
  "local time = redis.call('TIME')\n" \
  "local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)\n"

// settle: one user's presence, atomically. KEYS: the user's hash, the live zset. ARGV: user,
// node, state (0-2), ttl_ms, mode ('r' report: write the node's status first; 's' sweep),
// retention_ms. Node statuses are fields "nNODE" = "STATE:EXPIRES_MS" (live while now <
// EXPIRES_MS); lapsed ones are dropped. The aggregate is compared with "pub", the aggregate last
// returned, so only the script that changes it returns the change: {state, at_ms, version}, or
// nil. The live zset scores the user by its earliest expiry, for sweep.
constexpr const char* kSettleScript = PARLEY_REDIS_NOW R"lua(
local record, live, user = KEYS[1], KEYS[2], ARGV[1]
local ttl, sweeping = tonumber(ARGV[4]), ARGV[5] == 's'
if not sweeping then
  local field, state = 'n' .. ARGV[2], tonumber(ARGV[3])
  if state > 0 then
    redis.call('HSET', record, field, string.format('%d:%d', state, now + ttl))
  else
    redis.call('HDEL', record, field)
  end
end
local best, published, earliest = 0, 0, nil
local lapsed = {}
local fields = redis.call('HGETALL', record)
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if name == 'pub' then
    published = tonumber(value)
  elseif string.sub(name, 1, 1) == 'n' then
    local state, expires = string.match(value, '^(%d+):(%d+)$')
    state, expires = tonumber(state), tonumber(expires)
    if expires <= now then
      redis.call('HDEL', record, name)
      lapsed[#lapsed + 1] = {state, expires}
    else
      if state > best then best = state end
      if earliest == nil or expires < earliest then earliest = expires end
    end
  end
end
if earliest then redis.call('ZADD', live, earliest, user) else redis.call('ZREM', live, user) end
local change = false
if best ~= published then
  local at = now
  if sweeping then
    -- The aggregate took its new value when the last higher status lapsed.
    local higher = 0
    for _, entry in ipairs(lapsed) do
      if entry[1] > best and entry[2] > higher then higher = entry[2] end
    end
    if higher > 0 then at = higher end
  end
  -- A first version is the time, so versions keep growing after Redis forgot the user.
  if redis.call('HEXISTS', record, 'ver') == 0 then redis.call('HSET', record, 'ver', string.format('%d', now)) end
  local version = redis.call('HINCRBY', record, 'ver', 1)
  redis.call('HSET', record, 'pub', best)
  if best == 0 then redis.call('HSET', record, 'seen', string.format('%d', at)) end
  change = {best, at, version}
end
if redis.call('EXISTS', record) == 1 then redis.call('PEXPIRE', record, tonumber(ARGV[6]) + ttl) end
return change
)lua";

// due_users: KEYS: the live zset. ARGV: limit. Users whose earliest node status has lapsed.
constexpr const char* kDueUsersScript = PARLEY_REDIS_NOW R"lua(
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
)lua";

// add_session: KEYS: the user's session zset (member KEY, score EXPIRES_MS). ARGV: key, max,
// ttl_ms. 1 if admitted, 0 if the user has `max` live sessions. The zset expires with its last
// session.
constexpr const char* kAddSessionScript = PARLEY_REDIS_NOW R"lua(
local sessions = KEYS[1]
redis.call('ZREMRANGEBYSCORE', sessions, '-inf', now)
if not redis.call('ZSCORE', sessions, ARGV[1]) then
  if redis.call('ZCARD', sessions) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZADD', sessions, now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIREAT', sessions, redis.call('ZRANGE', sessions, -1, -1, 'WITHSCORES')[2])
return 1
)lua";

// refresh_sessions: KEYS: the user's session zset. ARGV: ttl_ms, then the keys. Only live keys
// are extended (ZADD XX never adds one back).
constexpr const char* kRefreshSessionsScript = PARLEY_REDIS_NOW R"lua(
local sessions = KEYS[1]
redis.call('ZREMRANGEBYSCORE', sessions, '-inf', now)
local expires = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', sessions, 'XX', expires, ARGV[i]) end
local last = redis.call('ZRANGE', sessions, -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', sessions, last[2]) end
return 0
)lua";

// add_requests: KEYS: the user's counters for one window length (a hash: window index -> count).
// ARGV: added, window_ms. Returns current + previous * (1 - elapsed / window), rounded.
constexpr const char* kAddRequestsScript = PARLEY_REDIS_NOW R"lua(
local counters, window = KEYS[1], tonumber(ARGV[2])
local index = math.floor(now / window)
local current = redis.call('HINCRBY', counters, string.format('%d', index), ARGV[1])
local previous = tonumber(redis.call('HGET', counters, string.format('%d', index - 1)) or '0')
if redis.call('HLEN', counters) > 2 then
  for _, name in ipairs(redis.call('HKEYS', counters)) do
    local i = tonumber(name)
    if i ~= index and i ~= index - 1 then redis.call('HDEL', counters, name) end
  end
end
redis.call('PEXPIRE', counters, 2 * window)
local elapsed = now - index * window
return current + math.floor((previous * (window - elapsed) * 2 + window) / (2 * window))
)lua";

// live_sessions: KEYS: the user's session zset. The members whose expiry is still ahead.
constexpr const char* kLiveSessionsScript = PARLEY_REDIS_NOW R"lua(
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
)lua";

// sign_in_state: KEYS: the account's failure hash, the address's, the account's known addresses
// (a zset scored by the last sign-in). ARGV: address. {account wait, address wait, known 0/1}.
constexpr const char* kSignInStateScript = PARLEY_REDIS_NOW R"lua(
local function wait(key)
  local blocked = tonumber(redis.call('HGET', key, 'until') or '0')
  if blocked > now then return blocked - now end
  return 0
end
local known = 0
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then known = 1 end
return {wait(KEYS[1]), wait(KEYS[2]), known}
)lua";

// add_failure: KEYS: a failure hash {n: failures, until: ms}. ARGV: free failures, base delay,
// max delay, forget after (all ms but the first). FailureThrottle::record_failure: once the free
// failures are used up, each failure blocks for base x 2^(n - free), capped; the hash expires
// `forget after` past the last failure, so a quiet key starts over.
constexpr const char* kAddFailureScript = PARLEY_REDIS_NOW R"lua(
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local over = n - tonumber(ARGV[1])
if over >= 0 then
  local delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(over, 40))
  redis.call('HSET', KEYS[1], 'until', string.format('%d', now + delay))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return n
)lua";

// remember_address: KEYS: the account's known addresses. ARGV: address, how many to keep,
// retention ms. The newest `keep` stay.
constexpr const char* kRememberAddressScript = PARLEY_REDIS_NOW R"lua(
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
)lua";

#undef PARLEY_REDIS_NOW

constexpr const char* kScripts[] = {kSettleScript,         kDueUsersScript,   kAddSessionScript,
                                    kRefreshSessionsScript, kAddRequestsScript, kLiveSessionsScript,
                                    kSignInStateScript,    kAddFailureScript, kRememberAddressScript};
static_assert(std::size(kScripts) == 9);

// hiredis writes with write(2), which raises SIGPIPE on a connection Redis closed; a library must
// not kill a process that did not ignore the signal. Blocked on this thread for a call; one the
// call raised is consumed before the old mask returns.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_mask_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_mask_;
  bool was_pending_ = false;
};

// What is left of `deadline` as a socket timeout; at least 1 ms, since 0 means "forever".
timeval time_left(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
  const long long micros = std::max<long long>(left.count(), 1000);
  return timeval{static_cast<time_t>(micros / 1000000), static_cast<suseconds_t>(micros % 1000000)};
}

Error protocol_error(const char* what) {
  return make_error(ErrorCode::internal, std::string("presence: unexpected reply from Redis to ") + what);
}

std::optional<std::int64_t> integer_of(const redisReply* reply) {
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  if (reply->type != REDIS_REPLY_STRING) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(reply->str, reply->str + reply->len, value);
  if (error != std::errc() || end != reply->str + reply->len) return std::nullopt;
  return value;
}

std::optional<State> state_of(std::int64_t value) {
  if (value < 0 || value > static_cast<std::int64_t>(State::online)) return std::nullopt;
  return static_cast<State>(value);
}

// A settle reply: nil (no change) or {state, at_ms, version}.
Result<std::optional<Transition>> transition_of(UserId user, const redisReply* reply) {
  if (reply->type == REDIS_REPLY_NIL) return std::optional<Transition>();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return protocol_error("settle");
  const auto state = integer_of(reply->element[0]);
  const auto at = integer_of(reply->element[1]);
  const auto version = integer_of(reply->element[2]);
  if (!state || !state_of(*state) || !at || !version || *version <= 0) return protocol_error("settle");
  return std::optional<Transition>(Transition{user, *state_of(*state), *at, static_cast<std::uint64_t>(*version)});
}

Status check_ttl(std::int64_t ttl_ms) {
  if (ttl_ms <= 0) return make_error(ErrorCode::invalid_field, "presence: ttl_ms must be > 0");
  return Ok{};
}

}  // namespace

void RedisDirectory::ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

RedisDirectory::RedisDirectory(const Options& options, RedisAddress address)
    : options_(options),
      address_(std::move(address)),
      prefix_(options.key_prefix),
      live_key_(options.key_prefix + ":pres:live") {
  const bool ipv6 = address_.host.find(':') != std::string::npos;
  shown_url_ = "redis://" + (ipv6 ? "[" + address_.host + "]" : address_.host) + ":" + std::to_string(address_.port) +
               "/" + std::to_string(address_.database);
}

RedisDirectory::~RedisDirectory() {
  if (context_) redisFree(context_);
}

std::string RedisDirectory::user_key(const char* kind, UserId user) const {
  return prefix_ + ":" + kind + ":" + std::to_string(user);
}

Error RedisDirectory::unreachable(std::string_view when) const {
  return make_error(ErrorCode::unavailable,
                    "presence: Redis at " + shown_url_ + " is unreachable (" + last_error_ + "); " + std::string(when));
}

Error RedisDirectory::drop_connection(const std::string& what) {
  last_error_ = what;
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
  if (!outage_logged_) {  // once per outage: a down Redis fails every call of every node
    spdlog::warn("presence.redis_unavailable url={} error=\"{}\"", shown_url_, what);
    outage_logged_ = true;
  }
  return unreachable(next_attempt(Clock::now()));
}

std::string RedisDirectory::next_attempt(Clock::time_point now) const {
  const auto wait = std::chrono::milliseconds(std::max(options_.reconnect_wait_ms, 0));
  if (!last_attempt_ || now >= *last_attempt_ + wait) return "reconnecting at the next call";
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*last_attempt_ + wait - now);
  return "next attempt in " + std::to_string(left.count()) + " ms";
}

Status RedisDirectory::connect(Clock::time_point deadline) {
  if (context_) return Ok{};
  const auto now = Clock::now();
  const auto wait = std::chrono::milliseconds(std::max(options_.reconnect_wait_ms, 0));
  if (last_attempt_ && now < *last_attempt_ + wait) return unreachable(next_attempt(now));
  last_attempt_ = now;
  context_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, time_left(deadline));
  if (!context_) return drop_connection("out of memory");
  if (context_->err) return drop_connection(context_->errstr);

  // One round trip: AUTH, SELECT, SCRIPT LOAD of every script.
  std::vector<std::vector<std::string>> handshake;
  if (!address_.password.empty()) {
    if (address_.username.empty())
      handshake.push_back({"AUTH", address_.password});
    else
      handshake.push_back({"AUTH", address_.username, address_.password});
  }
  if (address_.database != 0) handshake.push_back({"SELECT", std::to_string(address_.database)});
  for (const char* script : kScripts) handshake.push_back({"SCRIPT", "LOAD", script});
  auto replies = exchange(handshake, deadline);
  if (!replies)  // a connection left means the deadline passed before the handshake was sent
    return context_ ? drop_connection("timed out after " + std::to_string(options_.timeout_ms) + " ms")
                    : replies.take_error();
  for (const Reply& reply : *replies)
    if (reply->type == REDIS_REPLY_ERROR)  // e.g. WRONGPASS, which never quotes the password
      return drop_connection(std::string(reply->str, reply->len));
  const std::size_t first_script = replies->size() - std::size(kScripts);
  for (std::size_t i = 0; i < std::size(kScripts); ++i) {
    const redisReply* sha = (*replies)[first_script + i].get();
    if (sha->type != REDIS_REPLY_STRING) return drop_connection("SCRIPT LOAD did not return a SHA1");
    script_shas_[i].assign(sha->str, sha->len);
  }
  spdlog::info("presence.redis_connected url={} prefix={}", shown_url_, prefix_);
  outage_logged_ = false;
  return Ok{};
}

Result<std::vector<RedisDirectory::Reply>> RedisDirectory::exchange(const std::vector<std::vector<std::string>>& argvs,
                                                                    Clock::time_point deadline) {
  if (Clock::now() >= deadline)  // nothing sent yet: the connection stays usable
    return make_error(ErrorCode::unavailable, "presence: Redis call timed out after " +
                                                  std::to_string(options_.timeout_ms) + " ms");
  if (redisSetTimeout(context_, time_left(deadline)) != REDIS_OK) return drop_connection(context_->errstr);
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (const auto& argv : argvs) {
    pointers.clear();
    lengths.clear();
    for (const std::string& arg : argv) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), pointers.data(), lengths.data()) != REDIS_OK)
      return drop_connection(context_->errstr);
  }
  std::vector<Reply> replies;
  replies.reserve(argvs.size());
  for (std::size_t i = 0; i < argvs.size(); ++i) {
    void* raw = nullptr;
    // A timeout shows as an I/O error ("Resource temporarily unavailable"): the replies still on
    // their way would answer the next call's commands, so the connection goes.
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw) {
      const bool timed_out = Clock::now() >= deadline;
      return drop_connection(timed_out ? "timed out after " + std::to_string(options_.timeout_ms) + " ms"
                                       : std::string(context_->errstr));
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Result<std::vector<RedisDirectory::Reply>> RedisDirectory::run(const std::vector<Command>& commands) {
  if (commands.empty()) return std::vector<Reply>();
  const SigpipeBlock no_sigpipe;
  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(options_.timeout_ms, 1));
  if (auto connected = connect(deadline); !connected) return connected.take_error();

  auto argv_of = [&](const Command& command, bool by_source) {
    std::vector<std::string> argv;
    argv.reserve(command.args.size() + 2);
    if (command.script != Script::count) {
      const auto index = static_cast<std::size_t>(command.script);
      argv.push_back(by_source ? "EVAL" : "EVALSHA");
      argv.push_back(by_source ? kScripts[index] : script_shas_[index]);
    }
    argv.insert(argv.end(), command.args.begin(), command.args.end());
    return argv;
  };
  std::vector<std::vector<std::string>> argvs;
  argvs.reserve(commands.size());
  for (const Command& command : commands) argvs.push_back(argv_of(command, false));
  auto replies = exchange(argvs, deadline);
  if (!replies) return replies.take_error();

  // NOSCRIPT: Redis lost its script cache (SCRIPT FLUSH) since we connected. Those calls did not
  // run; EVAL runs them and loads the scripts again.
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const redisReply* reply = (*replies)[i].get();
    if (reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str, reply->len).starts_with("NOSCRIPT"))
      unknown.push_back(i);
  }
  if (!unknown.empty()) {
    std::vector<std::vector<std::string>> again;
    for (std::size_t i : unknown) again.push_back(argv_of(commands[i], true));
    auto retried = exchange(again, deadline);
    if (!retried) return retried.take_error();
    for (std::size_t j = 0; j < unknown.size(); ++j) (*replies)[unknown[j]] = std::move((*retried)[j]);
  }
  for (const Reply& reply : *replies)
    if (reply->type == REDIS_REPLY_ERROR)  // OOM, READONLY, BUSY, LOADING...: the connection is fine
      return make_error(ErrorCode::unavailable, "presence: Redis at " + shown_url_ + " refused a command: " +
                                                    std::string(reply->str, reply->len));
  return replies;
}

Result<std::vector<Transition>> RedisDirectory::report(unsigned node, const std::vector<Report>& reports,
                                                       std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid.take_error();
  const std::string node_text = std::to_string(node);
  const std::string ttl_text = std::to_string(ttl_ms);
  const std::string retention_text = std::to_string(kRecordRetentionMs);
  std::vector<Command> commands;
  commands.reserve(reports.size());
  for (const Report& report : reports) {
    if (report.state > State::online) return make_error(ErrorCode::invalid_field, "presence: invalid state");
    commands.push_back({Script::settle,
                        {"2", user_key("pres", report.user), live_key_, std::to_string(report.user), node_text,
                         std::to_string(static_cast<int>(report.state)), ttl_text, "r", retention_text}});
  }
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  std::vector<Transition> changes;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    auto change = transition_of(reports[i].user, (*replies)[i].get());
    if (!change) return change.take_error();
    if (*change) changes.push_back(**change);
  }
  return changes;
}

Result<std::vector<Transition>> RedisDirectory::sweep(std::size_t limit) {
  if (limit == 0) return std::vector<Transition>();
  constexpr std::size_t kMostPerSweep = 1 << 30;  // what Redis's LIMIT and Lua numbers take exactly
  auto due = run({{Script::due_users, {"1", live_key_, std::to_string(std::min(limit, kMostPerSweep))}}});
  if (!due) return due.take_error();
  const redisReply* list = (*due)[0].get();
  if (list->type != REDIS_REPLY_ARRAY) return protocol_error("ZRANGEBYSCORE");
  // Each user is settled by its own script: another node sweeping, or the user's own node
  // reporting meanwhile, is seen there, and only one of them gets the change.
  std::vector<UserId> users;
  std::vector<Command> commands;
  const std::string retention_text = std::to_string(kRecordRetentionMs);
  for (std::size_t i = 0; i < list->elements; ++i) {
    const auto user = integer_of(list->element[i]);
    if (!user) continue;  // not one of ours: nothing else writes members to this key
    users.push_back(*user);
    commands.push_back({Script::settle,
                        {"2", user_key("pres", *user), live_key_, std::to_string(*user), "0", "0", "0", "s",
                         retention_text}});
  }
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  std::vector<Transition> changes;
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto change = transition_of(users[i], (*replies)[i].get());
    if (!change) return change.take_error();
    if (*change) changes.push_back(**change);
  }
  return changes;
}

Result<std::vector<View>> RedisDirectory::lookup(const std::vector<UserId>& users) {
  if (users.empty()) return std::vector<View>();
  // Reads only: the server's TIME and each user's hash, in one round trip.
  std::vector<Command> commands;
  commands.reserve(users.size() + 1);
  commands.push_back({Script::count, {"TIME"}});
  for (UserId user : users) commands.push_back({Script::count, {"HGETALL", user_key("pres", user)}});
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  const redisReply* time = (*replies)[0].get();
  if (time->type != REDIS_REPLY_ARRAY || time->elements != 2) return protocol_error("TIME");
  const auto seconds = integer_of(time->element[0]);
  const auto micros = integer_of(time->element[1]);
  if (!seconds || !micros) return protocol_error("TIME");
  const std::int64_t now = *seconds * 1000 + *micros / 1000;

  std::vector<View> views;
  views.reserve(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    const redisReply* fields = (*replies)[i + 1].get();
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) return protocol_error("HGETALL");
    View view;
    std::int64_t lapsed = 0;
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      const redisReply* name = fields->element[f];
      const redisReply* value = fields->element[f + 1];
      if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) return protocol_error("HGETALL");
      const std::string_view field(name->str, name->len);
      const std::string_view text(value->str, value->len);
      if (field == "seen") {
        view.last_seen_ms = integer_of(value).value_or(0);
      } else if (field.starts_with('n')) {  // "STATE:EXPIRES_MS"
        const auto colon = text.find(':');
        std::int64_t state = 0;
        std::int64_t expires = 0;
        if (colon == std::string_view::npos ||
            std::from_chars(text.data(), text.data() + colon, state).ec != std::errc() ||
            std::from_chars(text.data() + colon + 1, text.data() + text.size(), expires).ec != std::errc() ||
            !state_of(state))
          return protocol_error("HGETALL");
        if (expires > now)
          view.state = std::max(view.state, *state_of(state));
        else
          lapsed = std::max(lapsed, expires);
      }
    }
    // Every status lapsed and no sweep has noticed yet: last seen when the last one lapsed.
    if (view.state == State::offline) view.last_seen_ms = std::max(view.last_seen_ms, lapsed);
    views.push_back(view);
  }
  return views;
}

Result<std::vector<bool>> RedisDirectory::add_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                                       int max, std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid.take_error();
  std::vector<Command> commands;
  commands.reserve(sessions.size());
  for (const auto& [user, key] : sessions)
    commands.push_back({Script::add_session, {"1", user_key("sess", user), key, std::to_string(max), std::to_string(ttl_ms)}});
  auto replies = run(commands);  // one pipeline: the scripts run in this order
  if (!replies) return replies.take_error();
  std::vector<bool> admitted;
  admitted.reserve(sessions.size());
  for (const auto& reply : *replies) {
    const auto value = integer_of(reply.get());
    if (!value) return protocol_error("add_session");
    admitted.push_back(*value == 1);
  }
  return admitted;
}

parley::Status RedisDirectory::refresh_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                                std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid;
  // One script per user, with all of its keys.
  std::map<UserId, std::vector<const std::string*>> by_user;
  for (const auto& [user, key] : sessions) by_user[user].push_back(&key);
  std::vector<Command> commands;
  commands.reserve(by_user.size());
  for (const auto& [user, keys] : by_user) {
    Command command{Script::refresh_sessions, {"1", user_key("sess", user), std::to_string(ttl_ms)}};
    for (const std::string* key : keys) command.args.push_back(*key);
    commands.push_back(std::move(command));
  }
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  return Ok{};
}

parley::Status RedisDirectory::remove_session(UserId user, std::string_view key) {
  auto replies = run({{Script::count, {"ZREM", user_key("sess", user), std::string(key)}}});
  if (!replies) return replies.take_error();
  return Ok{};
}

Result<std::vector<std::string>> RedisDirectory::sessions(UserId user) {
  auto replies = run({{Script::live_sessions, {"1", user_key("sess", user)}}});
  if (!replies) return replies.take_error();
  const redisReply* members = (*replies)[0].get();
  if (members->type != REDIS_REPLY_ARRAY) return protocol_error("live_sessions");
  std::vector<std::string> keys;
  keys.reserve(members->elements);
  for (std::size_t i = 0; i < members->elements; ++i) {
    if (members->element[i]->type != REDIS_REPLY_STRING) return protocol_error("live_sessions");
    keys.emplace_back(members->element[i]->str, members->element[i]->len);
  }
  return keys;
}

std::string RedisDirectory::sign_in_key(const char* kind, std::string_view name) const {
  return prefix_ + ":" + kind + ":" + std::string(name);
}

Result<SignInState> RedisDirectory::sign_in_state(std::string_view account, std::string_view address) {
  auto replies = run({{Script::sign_in_state,
                       {"3", sign_in_key("fail:a", account), sign_in_key("fail:ip", address),
                        sign_in_key("known", account), std::string(address)}}});
  if (!replies) return replies.take_error();
  const redisReply* reply = (*replies)[0].get();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return protocol_error("sign_in_state");
  const auto account_wait = integer_of(reply->element[0]);
  const auto address_wait = integer_of(reply->element[1]);
  const auto known = integer_of(reply->element[2]);
  if (!account_wait || !address_wait || !known) return protocol_error("sign_in_state");
  return SignInState{*account_wait, *address_wait, *known == 1};
}

parley::Status RedisDirectory::record_sign_in(std::string_view account, std::string_view address, bool succeeded,
                                              const SignInRules& rules) {
  std::vector<Command> commands;
  if (succeeded) {
    commands.push_back({Script::count, {"DEL", sign_in_key("fail:a", account)}});
    commands.push_back({Script::remember_address,
                        {"1", sign_in_key("known", account), std::string(address),
                         std::to_string(std::max(rules.known_addresses, 1)),
                         std::to_string(std::max<std::int64_t>(rules.known_retention_ms, 1))}});
  } else {
    auto failure = [&](std::string key, const FailurePolicy& policy) {
      commands.push_back({Script::add_failure,
                          {"1", std::move(key), std::to_string(policy.free_failures),
                           std::to_string(policy.base_delay_ms), std::to_string(policy.max_delay_ms),
                           std::to_string(std::max<std::int64_t>(policy.forget_after_ms, 1))}});
    };
    failure(sign_in_key("fail:a", account), rules.account);
    failure(sign_in_key("fail:ip", address), rules.address);
  }
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  return Ok{};
}

Result<std::vector<RequestCount>> RedisDirectory::add_requests(const std::vector<RequestCount>& added,
                                                               std::int64_t window_ms) {
  if (window_ms <= 0) return make_error(ErrorCode::invalid_field, "presence: window_ms must be > 0");
  const std::string window_text = std::to_string(window_ms);
  std::vector<Command> commands;
  commands.reserve(added.size());
  for (const RequestCount& entry : added) {
    if (entry.count < 0) return make_error(ErrorCode::invalid_field, "presence: a request count must be >= 0");
    // The window length is part of the key: nodes configured with different windows (during a
    // rolling change) never mix their counts.
    commands.push_back({Script::add_requests,
                        {"1", user_key("rate", entry.user) + ":" + window_text, std::to_string(entry.count),
                         window_text}});
  }
  auto replies = run(commands);
  if (!replies) return replies.take_error();
  std::vector<RequestCount> totals;
  totals.reserve(added.size());
  for (std::size_t i = 0; i < added.size(); ++i) {
    const auto total = integer_of((*replies)[i].get());
    if (!total) return protocol_error("add_requests");
    totals.push_back({added[i].user, *total});
  }
  return totals;
}

}  // namespace parley::presence
