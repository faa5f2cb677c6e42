// InprocDirectory: the directory engine for nodes in one process (`inproc:NAME`). Every
// Directory opened on the same NAME and key prefix shares one in-process state (a process-wide
// registry entry that lives while a Directory uses it). It is the reference engine: the
// behavioural suite holds it and the Redis engine to the same semantics, down to the expiry
// rules, the version numbers and the rounding of request counts.
//
// One mutex per shared state makes every call atomic. The clock is the system clock in ms (as
// Redis's TIME is), kept from going back within the state.
#pragma once

#include <memory>
#include <string>

#include "presence/directory.hpp"

namespace parley::presence {

class InprocSpace;

class InprocDirectory final : public Directory {
 public:
  // Joins the state of (`name`, options.key_prefix), creating it if no Directory uses it yet.
  InprocDirectory(const Options& options, std::string name);

  Result<std::vector<Transition>> report(unsigned node, const std::vector<Report>& reports,
                                         std::int64_t ttl_ms) override;
  Result<std::vector<Transition>> sweep(std::size_t limit) override;
  Result<std::vector<View>> lookup(const std::vector<UserId>& users) override;
  Result<std::vector<bool>> add_sessions(const std::vector<std::pair<UserId, std::string>>& sessions, int max,
                                         std::int64_t ttl_ms) override;
  parley::Status refresh_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                  std::int64_t ttl_ms) override;
  parley::Status remove_session(UserId user, std::string_view key) override;
  Result<std::vector<std::string>> sessions(UserId user) override;
  Result<SignInState> sign_in_state(std::string_view account, std::string_view address) override;
  parley::Status record_sign_in(std::string_view account, std::string_view address, bool succeeded,
                                const SignInRules& rules) override;
  Result<std::vector<RequestCount>> add_requests(const std::vector<RequestCount>& added,
                                                 std::int64_t window_ms) override;
  std::string describe() const override { return "inproc:" + name_ + " prefix=" + prefix_; }

 private:
  std::string name_;
  std::string prefix_;
  std::shared_ptr<InprocSpace> space_;
};

}  // namespace parley::presence
