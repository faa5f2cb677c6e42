#include "auth/password_policy.hpp"

#include <zxcvbn.h>

#include <cmath>
#include <cstdio>

namespace parley::auth {

PasswordStrength assess_password(std::string_view password, const PasswordPolicy& policy,
                                 const std::vector<std::string>& user_words) {
  PasswordStrength result;
  const std::string text(password);  // zxcvbn wants a NUL-terminated string
  std::vector<std::string> words = user_words;
  words.emplace_back("parley");
  std::vector<const char*> dictionary;
  for (const auto& word : words)
    if (!word.empty()) dictionary.push_back(word.c_str());
  dictionary.push_back(nullptr);
  result.entropy_bits = ZxcvbnMatch(text.c_str(), dictionary.data(), nullptr);
  if (!std::isfinite(result.entropy_bits) || result.entropy_bits < 0) result.entropy_bits = 0;
  if (password.size() < policy.min_bytes) {
    result.problem = "must be at least " + std::to_string(policy.min_bytes) + " bytes";
  } else if (text.find('\0') != std::string::npos) {
    result.problem = "must not contain NUL characters";
  } else if (result.entropy_bits < policy.min_entropy_bits) {
    char bits[32];
    std::snprintf(bits, sizeof bits, "%.0f", result.entropy_bits);
    result.problem = std::string("is too easy to guess (a common password, a name, a pattern or a date; about ") +
                     bits + " bits, at least " + std::to_string(static_cast<int>(policy.min_entropy_bits)) +
                     " needed): use a few unrelated words";
  }
  result.acceptable = result.problem.empty();
  return result;
}

}  // namespace parley::auth
