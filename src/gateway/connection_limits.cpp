#include "gateway/connection_limits.hpp"

#include <utility>

namespace parley::gateway {

bool ConnectionLimits::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  Counts& counts = by_address_[address];
  if (counts.open >= max_open_ || counts.pending >= max_pending_) {
    if (counts.open == 0) by_address_.erase(address);
    return false;
  }
  ++counts.open;
  ++counts.pending;
  return true;
}

void ConnectionLimits::settle(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(address);
  if (it != by_address_.end() && it->second.pending > 0) --it->second.pending;
}

void ConnectionLimits::release(const std::string& address, bool pending) {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  --it->second.open;
  if (pending && it->second.pending > 0) --it->second.pending;
  if (it->second.open <= 0) by_address_.erase(it);
}

ConnectionLimits::Counts ConnectionLimits::counts(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(address);
  return it == by_address_.end() ? Counts{} : it->second;
}

AddressSlot& AddressSlot::operator=(AddressSlot&& other) noexcept {
  if (this != &other) {
    reset();
    limits_ = std::exchange(other.limits_, nullptr);
    address_ = std::move(other.address_);
    pending_ = other.pending_;
  }
  return *this;
}

void AddressSlot::settle() {
  if (!limits_ || !pending_) return;
  pending_ = false;
  limits_->settle(address_);
}

void AddressSlot::reset() {
  if (!limits_) return;
  limits_->release(address_, pending_);
  limits_ = nullptr;
}

}  // namespace parley::gateway
