// libFuzzer target for media/metadata_strip: the metadata removal run on every uploaded image
// before anyone else downloads it. The input's first byte picks the format (JPEG, PNG, WebP,
// GIF), the rest is the file. Besides memory errors it checks the stripper's contract: every
// piece lies inside the input, the plan's size is its output's, the output is never larger
// than the input, `changed` says whether the output differs, the orientation is 1..8, and
// stripping the output again succeeds, changes nothing and keeps the same orientation;
// a refusal is invalid_field on field content_type.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "media/metadata_strip.hpp"

namespace {

void check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "contract broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::media;
  if (size == 0) return 0;
  const StripFormat format = static_cast<StripFormat>(data[0] % 4);
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);  // its own buffer: ASan sees overreads
  auto plan = plan_metadata_strip(input, format);
  if (!plan) {
    check(plan.error().code == parley::ErrorCode::invalid_field && plan.error().field == "content_type",
          "a refusal is invalid_field on content_type");
    return 0;
  }
  std::size_t total = 0;
  for (const auto& piece : plan->pieces) {
    if (piece.bytes.empty()) {
      check(piece.length > 0, "no empty pieces");
      check(piece.offset <= input.size() && piece.length <= input.size() - piece.offset, "a copy inside the input");
      total += piece.length;
    } else {
      check(piece.length == 0, "a made piece copies nothing");
      total += piece.bytes.size();
    }
  }
  check(total == plan->output_size, "output_size is the pieces' size");
  check(plan->output_size <= input.size(), "never larger than the input");
  check(plan->orientation >= 1 && plan->orientation <= 8, "orientation 1..8");
  const std::string output = apply_strip_plan(input, *plan);
  check((output != input) == plan->changed, "changed says whether the output differs");
  auto again = plan_metadata_strip(output, format);
  check(again.ok(), "a stripped file strips again");
  check(!again->changed, "stripping twice changes nothing");
  check(again->orientation == plan->orientation, "the orientation survives");
  return 0;
}
