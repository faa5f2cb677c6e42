// What makes a password acceptable: a minimum length, and an estimated guessing cost (zxcvbn:
// dictionaries of common passwords, names and words, keyboard patterns, dates, repeats, l33t
// substitutions) above a threshold, with the user's own names counted as known words. This
// is NIST SP 800-63B's "check against commonly used or compromised values", without
// composition rules. Pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::auth {

struct PasswordPolicy {
  std::size_t min_bytes = 8;
  double min_entropy_bits = 20;  // 0 = length only
};

struct PasswordStrength {
  double entropy_bits = 0;  // log2 of the estimated guesses an attacker needs
  bool acceptable = false;
  std::string problem;      // why not, for the client (empty when acceptable)
};

// Judges `password` (at most 1024 bytes; longer ones are refused before this) against
// `policy`. `user_words` (username, display name, ...) count as words an attacker knows.
PasswordStrength assess_password(std::string_view password, const PasswordPolicy& policy,
                                 const std::vector<std::string>& user_words);

}  // namespace parley::auth
