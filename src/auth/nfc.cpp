#include "auth/nfc.hpp"

#include <stdexcept>

namespace parley::auth {

const icu::Normalizer2& nfc() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status)) throw std::runtime_error("ICU: no NFC normalizer");
    return n;
  }();
  return *instance;
}

}  // namespace parley::auth
