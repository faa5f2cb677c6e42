// Connections per client address: how many are open, and how many are still "pending" (an
// HTTP connection that has not sent a complete request yet, a WebSocket session that has not
// authenticated yet). One address may hold at most limits.max_connections_per_address open
// and limits.max_pending_per_address pending, so that one client cannot take every slot
// (limits.max_connections) or hold half-open handshakes by the thousand.
// Thread-safe: called on accept, on the first request or hello, and on close.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::gateway {

class ConnectionLimits {
 public:
  ConnectionLimits(int max_open_per_address, int max_pending_per_address)
      : max_open_(max_open_per_address), max_pending_(max_pending_per_address) {}

  // Counts a new pending connection of `address`; false (nothing counted) if the address is at
  // either limit.
  bool admit(const std::string& address);
  void settle(const std::string& address);                // pending -> open
  void release(const std::string& address, bool pending);  // closed

  struct Counts {
    int open = 0;
    int pending = 0;
  };
  Counts counts(const std::string& address) const;

 private:
  int max_open_;
  int max_pending_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Counts> by_address_;
};

// One connection's place in the limits, released when it is destroyed. Moves with the
// connection from HTTP to its WebSocket session. An empty slot (no limits: the operator
// listener, a trusted proxy before it names the client) counts nothing.
class AddressSlot {
 public:
  AddressSlot() = default;
  AddressSlot(ConnectionLimits* limits, std::string address) : limits_(limits), address_(std::move(address)) {}
  AddressSlot(AddressSlot&& other) noexcept { *this = std::move(other); }
  AddressSlot& operator=(AddressSlot&& other) noexcept;
  ~AddressSlot() { reset(); }

  // No longer pending (counted once).
  void settle();
  bool pending() const { return limits_ && pending_; }
  // Counts nothing any more.
  void reset();

 private:
  ConnectionLimits* limits_ = nullptr;
  std::string address_;
  bool pending_ = true;
};

}  // namespace parley::gateway
