// libFuzzer target for gateway/websocket_codec: arbitrary bytes as a stream of client frames, read
// the way the session reads them (decode a header, unmask the payload, possibly in pieces, check
// UTF-8 of text frames, move on). Checks the decoder's promises and compares unmask against a
// byte-by-byte XOR; run it under ASan/UBSan (see README.md).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/websocket_codec.hpp"

namespace {

namespace ws = parley::gateway::websocket;

void check(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the abort with the crashing input
}

void naive_unmask(std::uint8_t* data, std::size_t size, const std::array<std::uint8_t, 4>& mask, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) data[i] ^= mask[(offset + i) % 4];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A heap copy of exactly `size` bytes, so ASan sees any read past the end of the input.
  std::vector<std::uint8_t> stream(data, data + size);
  std::size_t at = 0;
  while (at < stream.size()) {
    ws::FrameHeader header;
    const ws::HeaderStatus status = ws::decode_client_header(stream.data() + at, stream.size() - at, header);
    if (status != ws::HeaderStatus::complete) break;

    check(header.header_length >= 6 && header.header_length <= 14);  // 2 + (0|2|8) + 4-byte mask
    check(header.header_length <= stream.size() - at);
    check((header.payload_length >> 63) == 0);
    if (ws::is_control(header.opcode)) check(header.fin && header.payload_length <= 125);
    at += header.header_length;

    // Unmask what has arrived in two pieces split at a data-dependent point, as a session does
    // when a payload spans reads, and compare with the obvious implementation.
    const std::size_t available = std::min<std::uint64_t>(header.payload_length, stream.size() - at);
    std::uint8_t* payload = stream.data() + at;
    std::vector<std::uint8_t> expected(payload, payload + available);
    naive_unmask(expected.data(), expected.size(), header.mask, 0);
    const std::size_t split = available == 0 ? 0 : header.mask[0] % (available + 1);
    ws::unmask(payload, split, header.mask, 0);
    ws::unmask(payload + split, available - split, header.mask, split);
    check(std::equal(expected.begin(), expected.end(), payload));

    if (header.opcode == ws::Opcode::text || header.opcode == ws::Opcode::close)
      (void)ws::is_valid_utf8(reinterpret_cast<const char*>(payload), available);
    at += available;
  }

  // The encoding side, with the input as a close reason and as a payload.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::uint16_t code = size >= 2 ? static_cast<std::uint16_t>((data[0] << 8) | data[1]) : 1000;
  const std::string close = ws::close_payload(code, text);
  check(close.size() >= 2 && close.size() <= 125);
  check(text.substr(0, close.size() - 2) == std::string_view(close).substr(2));
  if (ws::is_valid_utf8(text.data(), text.size())) check(ws::is_valid_utf8(close.data() + 2, close.size() - 2));
  (void)ws::is_valid_close_code(code);

  const std::string frame = ws::make_frame(ws::Opcode::binary, text);
  std::uint8_t header[10];
  const std::size_t header_length = ws::encode_header(header, ws::Opcode::binary, size);
  check(frame.size() == header_length + size);
  check(std::string_view(frame).substr(header_length) == text);
  return 0;
}
