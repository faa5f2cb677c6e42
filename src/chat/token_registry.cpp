#include "chat/token_registry.hpp"

#include <mutex>

namespace parley::chat {

bool TokenRegistry::is_revoked(const std::string& token_id) const {
  std::shared_lock lock(mutex_);
  return revoked_.count(token_id) > 0;
}

bool TokenRegistry::is_cut_off(UserId user, std::int64_t issued_at_s, const std::string& token_id) const {
  std::shared_lock lock(mutex_);
  auto it = cutoffs_.find(user);
  return it != cutoffs_.end() && cutoff_covers(it->second, issued_at_s, token_id);
}

void TokenRegistry::add_revoked(const std::string& token_id) {
  std::unique_lock lock(mutex_);
  revoked_.insert(token_id);
}

void TokenRegistry::set_cutoff(const store::TokenCutoff& cutoff) {
  std::unique_lock lock(mutex_);
  cutoffs_[cutoff.user_id] = cutoff;
}

}  // namespace parley::chat
