#include "bus/nats_bus.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>

namespace parley::bus {
namespace {

// libnats's global state (its timer, callback and garbage-collector threads): opened once per
// process and never closed, since a Bus may be destroyed as late as static destruction.
void open_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const natsStatus status = nats_Open(-1); status != NATS_OK)
      throw std::runtime_error(std::string("bus: cannot initialise libnats: ") + natsStatus_GetText(status));
  });
}

const char* state_name(State state) {
  switch (state) {
    case State::connected:
      return "connected";
    case State::disconnected:
      return "disconnected";
    case State::reconnected:
      return "connected";  // describe() shows the condition, not the event
    case State::closed:
      return "closed";
  }
  return "unknown";
}

std::string status_text(natsStatus status) { return natsStatus_GetText(status); }

}  // namespace

std::string strip_credentials(std::string_view urls) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto comma = urls.find(',', start);
    std::string_view url = urls.substr(start, comma == std::string_view::npos ? comma : comma - start);
    const auto scheme = url.find("://");
    const std::size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
    const auto at = url.rfind('@');
    if (at != std::string_view::npos && at >= authority) {
      out.append(url.substr(0, authority));
      out.append(url.substr(at + 1));
    } else {
      out.append(url);
    }
    if (comma == std::string_view::npos) return out;
    out.push_back(',');
    start = comma + 1;
  }
}

// A subscription's handler and the gate that unsubscribe() closes. It is freed by whichever
// comes last: the bus letting go of it (`released`) or libnats's delivery thread ending
// (`completed`, on_subscription_complete), since libnats may call on_message a last time after
// natsSubscription_Unsubscribe returns. Both flags are guarded by the bus's mutex_.
//
// The natsSubscription handle itself has a lifetime of its own: libnats 3.4 (Debian 12) has a
// race (nats.c issue #637, fixed in 3.6.1) in which its read thread looks a subscription up
// without holding a reference and crashes if the subscription is freed meanwhile. So the last
// reference, ours, is dropped only once the read thread has certainly moved on: after a PING/PONG
// round trip that follows the unsubscribe, or after natsConnection_Close joined that thread.
struct NatsBus::Subscription {
  NatsBus* bus = nullptr;
  Handler handler;
  natsSubscription* sub = nullptr;
  bool released = false;
  bool completed = false;

  std::mutex mutex;  // guards the gate below
  std::condition_variable idle;
  bool active = true;
  bool running = false;  // a handler call is under way on `runner`
  std::thread::id runner;
};

NatsBus::NatsBus(const Options& options, const std::vector<std::string>& servers)
    : options_(options), shown_urls_(strip_credentials(options.url)) {
  open_library();
  natsOptions* raw_options = nullptr;
  if (const natsStatus status = natsOptions_Create(&raw_options); status != NATS_OK)
    throw std::runtime_error("bus: cannot create NATS options: " + status_text(status));
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> nats_options(raw_options, natsOptions_Destroy);

  std::vector<const char*> urls;
  urls.reserve(servers.size());
  for (const std::string& server : servers) urls.push_back(server.c_str());
  const int wait_ms = std::max(options.reconnect_wait_ms, 1);
  natsStatus status = natsOptions_SetServers(raw_options, urls.data(), static_cast<int>(urls.size()));
  if (status == NATS_OK && !options.name.empty()) status = natsOptions_SetName(raw_options, options.name.c_str());
  if (status == NATS_OK) status = natsOptions_SetTimeout(raw_options, std::max(options.connect_timeout_ms, 1));
  if (status == NATS_OK) status = natsOptions_SetMaxReconnect(raw_options, -1);  // forever
  if (status == NATS_OK) status = natsOptions_SetReconnectWait(raw_options, wait_ms);
  if (status == NATS_OK) status = natsOptions_SetReconnectJitter(raw_options, wait_ms, wait_ms);
  if (status == NATS_OK)
    status = natsOptions_SetReconnectBufSize(
        raw_options, static_cast<int>(std::clamp<std::int64_t>(options.reconnect_buffer_bytes, 1, INT_MAX)));
  // Without a write deadline libnats makes the socket blocking: a server that stops reading
  // (a network partition) would hold a write, and the connection lock, until TCP gives up.
  if (status == NATS_OK) status = natsOptions_SetWriteDeadline(raw_options, std::max(options.connect_timeout_ms, 1));
  // A request() waiting through an outage fails at once instead of at its timeout.
  if (status == NATS_OK) status = natsOptions_SetFailRequestsOnDisconnect(raw_options, true);
  // libnats pings every 2 minutes by default: a network partition (no RST, no FIN) would leave
  // the node believing it is connected for minutes, missing presence and typing meanwhile.
  if (status == NATS_OK) status = natsOptions_SetPingInterval(raw_options, std::max<int64_t>(options.ping_interval_ms, 100));
  if (status == NATS_OK) status = natsOptions_SetMaxPingsOut(raw_options, 2);
  // The servers in bus.url's order, not shuffled: an operator spreads the nodes over the NATS
  // servers by giving each node a different first server.
  if (status == NATS_OK) status = natsOptions_SetNoRandomize(raw_options, true);
  if (status == NATS_OK) status = natsOptions_SetDisconnectedCB(raw_options, on_disconnected, this);
  if (status == NATS_OK) status = natsOptions_SetReconnectedCB(raw_options, on_reconnected, this);
  if (status == NATS_OK) status = natsOptions_SetClosedCB(raw_options, on_closed, this);
  if (status == NATS_OK) status = natsOptions_SetErrorHandler(raw_options, on_async_error, this);
  if (status != NATS_OK) throw std::runtime_error("bus: invalid NATS options: " + status_text(status));

  // No retry here (natsOptions_SetRetryOnFailedConnect): a node that cannot reach its bus at
  // start-up should fail loudly; on failure libnats has not kept `this` anywhere.
  status = natsConnection_Connect(&connection_, raw_options);
  if (status != NATS_OK)
    throw std::runtime_error("bus: no NATS server answered at " + shown_urls_ + " within " +
                             std::to_string(options.connect_timeout_ms) + " ms per attempt (" + status_text(status) +
                             ")");
  max_payload_ = natsConnection_GetMaxPayload(connection_);
  char url[512];
  if (natsConnection_GetConnectedUrl(connection_, url, sizeof url) == NATS_OK) current_url_ = strip_credentials(url);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    natsConnection_Close(connection_);
    std::unique_lock lock(mutex_);
    progress_.wait(lock, [this] { return closed_seen_; });
    natsConnection_Destroy(connection_);
    throw;
  }
}

NatsBus::~NatsBus() {
  std::vector<Subscription*> subscriptions;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const Outgoing& item : queue_)
      if (!item.is_state) dropped_.fetch_add(1, std::memory_order_relaxed);
    queue_.clear();
    for (const auto& entry : subscriptions_) subscriptions.push_back(entry.second);
    subscriptions_.clear();
    wake_.notify_all();
  }
  thread_.join();
  for (Subscription* subscription : subscriptions) close_gate(*subscription);
  // Flushes (up to 500 ms) and closes: unsubscribes everything, ends the delivery threads, joins
  // the read thread, and queues our closed callback behind any other of this connection.
  natsConnection_Close(connection_);
  {
    std::unique_lock lock(mutex_);
    progress_.wait(lock, [this] { return closed_seen_ && live_deliveries_ == 0; });
  }
  // Every delivery thread has ended (live_deliveries_): the Subscriptions are ours alone now.
  for (Subscription* subscription : subscriptions) {
    natsSubscription_Destroy(subscription->sub);
    delete subscription;
  }
  for (natsSubscription* sub : retired_) natsSubscription_Destroy(sub);
  natsConnection_Destroy(connection_);
}

void NatsBus::run() {
  pthread_setname_np(pthread_self(), "bus-nats");
  std::deque<Outgoing> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    std::uint64_t handed = 0;
    std::int64_t bytes = 0;
    for (auto item = batch.begin(); item != batch.end(); ++item) {
      if (item->is_state) {
        StateHandler handler;
        {
          std::lock_guard lock(mutex_);
          if (stopping_) {  // the destructor runs: what is left of the batch is dropped
            for (; item != batch.end(); ++item)
              if (!item->is_state) dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
          }
          handler = state_handler_;
        }
        if (handler) handler(item->state);
        continue;
      }
      // Connected: into libnats's buffer (a full one is written to the socket here). Reconnecting:
      // into its reconnect buffer, or refused when that is full.
      const natsStatus status = natsConnection_Publish(connection_, item->subject.c_str(), item->payload.data(),
                                                       static_cast<int>(item->payload.size()));
      if (status != NATS_OK) dropped_.fetch_add(1, std::memory_order_relaxed);
      ++handed;
      bytes += static_cast<std::int64_t>(item->payload.size());
    }
    batch.clear();
    std::lock_guard lock(mutex_);
    handed_total_ += handed;
    queued_bytes_ -= bytes;
    progress_.notify_all();
  }
}

bool NatsBus::publish(std::string_view subject, std::string_view payload) {
  if (valid_subject(subject, false)) {
    std::lock_guard lock(mutex_);
    const auto size = static_cast<std::int64_t>(payload.size());
    const bool fits =
        size <= max_payload_ && (queued_bytes_ == 0 || queued_bytes_ + size <= options_.reconnect_buffer_bytes);
    if (!stopping_ && fits) {
      queue_.push_back(Outgoing{std::string(subject), std::string(payload)});
      queued_bytes_ += size;
      ++queued_total_;
      wake_.notify_one();
      return true;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

SubscriptionId NatsBus::subscribe(std::string_view subject, Handler handler) {
  if (!valid_subject(subject, true))
    throw std::invalid_argument("bus: invalid subject \"" + std::string(subject) + "\"");
  const std::string subject_text(subject);
  auto* subscription = new Subscription;
  subscription->bus = this;
  subscription->handler = std::move(handler);
  natsStatus status =
      natsConnection_Subscribe(&subscription->sub, connection_, subject_text.c_str(), on_message, subscription);
  if (status != NATS_OK) {
    delete subscription;
    throw std::runtime_error("bus: cannot subscribe to " + subject_text + ": " + status_text(status));
  }
  SubscriptionId id = 0;
  bool up = false;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    subscriptions_.emplace(id, subscription);
    ++live_deliveries_;
    up = state_ == State::connected || state_ == State::reconnected;
  }
  status = natsSubscription_SetOnCompleteCB(subscription->sub, on_subscription_complete, subscription);
  if (status != NATS_OK) {
    // Only if libnats closed the subscription already (the connection closed for good). Its
    // delivery thread may still hold `subscription`: leave that allocation be.
    {
      std::lock_guard lock(mutex_);
      subscriptions_.erase(id);
      --live_deliveries_;
    }
    natsSubscription_Destroy(subscription->sub);
    throw std::runtime_error("bus: cannot subscribe to " + subject_text + ": " + status_text(status));
  }
  // The round trip makes the server process the SUB before we return. Disconnected, libnats
  // sends the SUB on reconnect; waiting for that here would only stall the caller.
  if (up) natsConnection_FlushTimeout(connection_, std::max(options_.connect_timeout_ms, 1));
  return id;
}

void NatsBus::unsubscribe(SubscriptionId id) {
  Subscription* subscription = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    subscription = it->second;
    subscriptions_.erase(it);
  }
  close_subscription(subscription);
}

void NatsBus::close_gate(Subscription& subscription) {
  std::unique_lock lock(subscription.mutex);
  subscription.active = false;
  subscription.idle.wait(lock,
                         [&] { return !subscription.running || subscription.runner == std::this_thread::get_id(); });
}

void NatsBus::close_subscription(Subscription* subscription) {
  close_gate(*subscription);
  natsSubscription* sub = subscription->sub;
  natsSubscription_Unsubscribe(sub);  // fails harmlessly if the connection already closed it
  // See Subscription: the round trip proves libnats's read thread is past any message for `sub`.
  // Disconnected, it would only wait for the timeout: keep the handle until the end instead.
  const bool passed =
      connected() && natsConnection_FlushTimeout(connection_, std::max(options_.connect_timeout_ms, 1)) == NATS_OK;
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    if (!passed) retired_.push_back(sub);  // destroyed after natsConnection_Close
    subscription->released = true;
    last = subscription->completed;
  }
  if (passed) natsSubscription_Destroy(sub);
  if (last) delete subscription;
}

std::optional<std::string> NatsBus::request(std::string_view subject, std::string_view payload, int timeout_ms) {
  if (!valid_subject(subject, false)) return std::nullopt;
  const std::string subject_text(subject);
  natsMsg* reply = nullptr;
  // Fails at once with NATS_NO_RESPONDERS when the server knows nobody subscribes.
  const natsStatus status = natsConnection_Request(&reply, connection_, subject_text.c_str(), payload.data(),
                                                   static_cast<int>(payload.size()), std::max(timeout_ms, 1));
  if (status != NATS_OK) return std::nullopt;
  std::string text;
  if (const int length = natsMsg_GetDataLength(reply); length > 0) text.assign(natsMsg_GetData(reply), length);
  natsMsg_Destroy(reply);
  return text;
}

std::vector<std::string> NatsBus::gather(std::string_view subject, std::string_view payload, int timeout_ms,
                                         std::size_t max_replies) {
  std::vector<std::string> replies;
  if (!valid_subject(subject, false) || max_replies == 0) return replies;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 1));
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) return replies;
  natsSubscription* sub = nullptr;
  // Subscribed before the request goes out, on the same connection: the server has the
  // subscription when the answers come.
  if (natsConnection_SubscribeSync(&sub, connection_, inbox) == NATS_OK) {
    const std::string subject_text(subject);
    if (natsConnection_PublishRequest(connection_, subject_text.c_str(), inbox, payload.data(),
                                      static_cast<int>(payload.size())) == NATS_OK) {
      while (replies.size() < max_replies) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        natsMsg* message = nullptr;
        if (natsSubscription_NextMsg(&message, sub, static_cast<std::int64_t>(left)) != NATS_OK) break;
        std::string text;
        if (const int length = natsMsg_GetDataLength(message); length > 0) text.assign(natsMsg_GetData(message), length);
        natsMsg_Destroy(message);
        replies.push_back(std::move(text));
      }
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  natsInbox_Destroy(inbox);
  return replies;
}

bool NatsBus::flush(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = queued_total_;
    if (!progress_.wait_until(lock, deadline, [&] { return stopping_ || handed_total_ >= target; })) return false;
    if (stopping_) return false;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return natsConnection_FlushTimeout(connection_, std::max<std::int64_t>(left, 1)) == NATS_OK;
}

void NatsBus::on_state(StateHandler handler) {
  std::lock_guard lock(mutex_);
  state_handler_ = std::move(handler);
  if (stopping_) return;
  Outgoing item;
  item.is_state = true;
  item.state = state_ == State::reconnected ? State::connected : state_;
  queue_.push_back(std::move(item));
  wake_.notify_one();
}

bool NatsBus::connected() const {
  std::lock_guard lock(mutex_);
  return state_ == State::connected || state_ == State::reconnected;
}

std::string NatsBus::describe() const {
  std::lock_guard lock(mutex_);
  return (current_url_.empty() ? shown_urls_ : current_url_) + " (" + state_name(state_) + ")";
}

void NatsBus::post_state(State state) {
  // Notifies under the lock: once closed_seen_ is visible the destructor may free *this.
  std::lock_guard lock(mutex_);
  state_ = state;
  if (state == State::closed) closed_seen_ = true;
  if (!stopping_) {
    Outgoing item;
    item.is_state = true;
    item.state = state;
    queue_.push_back(std::move(item));
    wake_.notify_one();
  }
  progress_.notify_all();
}

void NatsBus::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* subscription = static_cast<Subscription*>(closure);
  {
    std::lock_guard lock(subscription->mutex);
    if (!subscription->active) {
      natsMsg_Destroy(msg);
      return;
    }
    subscription->running = true;
    subscription->runner = std::this_thread::get_id();
  }
  const char* subject = natsMsg_GetSubject(msg);
  const char* reply_to = natsMsg_GetReply(msg);
  const char* data = natsMsg_GetData(msg);
  const int length = natsMsg_GetDataLength(msg);
  const Message message{subject, length > 0 ? std::string_view(data, length) : std::string_view(),
                        reply_to ? std::string_view(reply_to) : std::string_view()};
  try {
    subscription->handler(message);
  } catch (const std::exception& e) {
    spdlog::error("bus.handler_failed subject={} error=\"{}\"", subject, e.what());
  } catch (...) {
    spdlog::error("bus.handler_failed subject={} error=unknown", subject);
  }
  natsMsg_Destroy(msg);
  std::lock_guard lock(subscription->mutex);
  subscription->running = false;
  subscription->idle.notify_all();
}

void NatsBus::on_subscription_complete(void* closure) {
  // libnats's delivery thread for this subscription ends: it will not touch `closure` again.
  auto* subscription = static_cast<Subscription*>(closure);
  NatsBus* bus = subscription->bus;
  bool last = false;
  {
    std::lock_guard lock(bus->mutex_);
    subscription->completed = true;
    last = subscription->released;
    --bus->live_deliveries_;
    bus->progress_.notify_all();  // under the lock: the destructor may free *bus right after
  }
  if (last) delete subscription;
}

void NatsBus::on_disconnected(natsConnection*, void* closure) {
  static_cast<NatsBus*>(closure)->post_state(State::disconnected);
}

void NatsBus::on_reconnected(natsConnection* connection, void* closure) {
  auto* bus = static_cast<NatsBus*>(closure);
  char url[512];
  std::string current;
  if (natsConnection_GetConnectedUrl(connection, url, sizeof url) == NATS_OK) current = strip_credentials(url);
  const std::int64_t max_payload = natsConnection_GetMaxPayload(connection);
  {
    std::lock_guard lock(bus->mutex_);
    if (!current.empty()) bus->current_url_ = current;
    if (max_payload > 0) bus->max_payload_ = max_payload;
  }
  bus->post_state(State::reconnected);
}

void NatsBus::on_closed(natsConnection*, void* closure) { static_cast<NatsBus*>(closure)->post_state(State::closed); }

void NatsBus::on_async_error(natsConnection*, natsSubscription*, natsStatus status, void*) {
  // `sub` is left alone: libnats 3.4 may pass one that was freed meanwhile (fixed in 3.7).
  if (status == NATS_SLOW_CONSUMER)
    spdlog::warn("bus.slow_consumer (a subscription's libnats queue was full: messages dropped)");
  else
    spdlog::warn("bus.nats_error status=\"{}\"", natsStatus_GetText(status));
}

}  // namespace parley::bus
