// Result<T>: a value or an Error (an `expected` for C++20). Expected failures are
// return values in Parley; exceptions are for start-up only.
#pragma once

#include "core/error.hpp"
#include "core/expected.hpp"

namespace parley {

template <typename T>
using Result = Expected<T, Error>;

struct Ok {};
using Status = Result<Ok>;

}  // namespace parley
