// TokenRegistry: which authentic tokens are no longer accepted. Tokens are stateless signed
// JWTs; what takes one back is kept here, in memory, loaded from the store at start-up and
// updated after each commit that revokes: single revoked tokens (logout, a device signed out)
// and per-user cut-offs ("log out everywhere", a password change), which also cover tokens
// the store never listed (a host application's JWTs). Read on every authentication, from any
// thread; written rarely.
#pragma once

#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "store/records.hpp"

namespace parley::chat {

class TokenRegistry {
 public:
  bool is_revoked(const std::string& token_id) const;
  // True if a cut-off of `user` covers a token issued at `issued_at_s` with this id.
  bool is_cut_off(UserId user, std::int64_t issued_at_s, const std::string& token_id) const;

  void add_revoked(const std::string& token_id);
  void set_cutoff(const store::TokenCutoff& cutoff);

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_set<std::string> revoked_;
  std::unordered_map<UserId, store::TokenCutoff> cutoffs_;
};

// True if `cutoff` takes back a token of its user issued at `issued_at_s` with this id.
inline bool cutoff_covers(const store::TokenCutoff& cutoff, std::int64_t issued_at_s, const std::string& token_id) {
  return issued_at_s < cutoff.valid_after_s && token_id != cutoff.kept_token_id;
}

}  // namespace parley::chat
