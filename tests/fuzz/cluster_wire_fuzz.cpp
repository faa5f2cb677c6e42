// libFuzzer target for chat/cluster_wire: arbitrary bytes as a bus message from another node.
// The decoder must refuse or accept without reading past the input or allocating from a forged
// count; what it accepts must encode back to the same bytes (the layout has one spelling).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chat/cluster_wire.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);  // exact-size heap copy for ASan
  if (auto batch = parley::chat::wire::decode_batch(input)) {
    check(batch->batch.start_pos <= batch->batch.committed_pos);
    // Items that carry nothing for other nodes are never encoded, so an input with one does
    // not round-trip; every other accepted input does.
    bool all_relayed = true;
    for (const auto& item : batch->batch.items) all_relayed = all_relayed && parley::chat::wire::is_relayed(item);
    if (all_relayed) check(parley::chat::wire::encode_batch(batch->node_id, batch->batch) == input);
  }
  if (auto typing = parley::chat::wire::decode_typing(input)) {
    // A flag byte other than 1 decodes as "stopped" and encodes back as 0.
    const std::string again = parley::chat::wire::encode_typing(*typing);
    check(again.size() == input.size());
  }
  if (auto presence = parley::chat::wire::decode_presence(input))  // one spelling per message
    check(parley::chat::wire::encode_presence(*presence) == input);
  return 0;
}
