// RFC 6455 framing, server side: decode client frame headers, unmask, encode server frames,
// compute the handshake accept key, validate UTF-8. Pure functions, no I/O, fuzzable.
//
// Why not Boost.Beast's websocket::stream: it keeps per-connection read and write buffers of
// several KiB, which alone would exceed the 2 KiB per idle connection Parley aims for. Here an
// idle connection holds no buffer at all: bytes are read into one buffer per I/O thread, and
// only an incomplete frame is copied into the session.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace parley::gateway::websocket {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

inline bool is_control(Opcode op) { return static_cast<std::uint8_t>(op) & 0x8; }

struct FrameHeader {
  bool fin = false;
  Opcode opcode = Opcode::continuation;
  std::array<std::uint8_t, 4> mask{};
  std::uint64_t payload_length = 0;
  std::size_t header_length = 0;  // bytes before the payload
};

enum class HeaderStatus {
  complete,    // `out` is filled
  incomplete,  // need more bytes
  invalid,     // protocol error: close with 1002
};

// Decodes a client frame header from `data`. Rejects unmasked frames, reserved bits (no
// extensions are negotiated), unknown opcodes, fragmented or oversized (>125) control frames
// and lengths with the top bit set.
HeaderStatus decode_client_header(const std::uint8_t* data, std::size_t size, FrameHeader& out);

// Decodes a server frame header (client side): like decode_client_header, but frames must
// NOT be masked.
HeaderStatus decode_server_header(const std::uint8_t* data, std::size_t size, FrameHeader& out);

// A complete masked client frame (client side), masked with `mask`.
std::string make_client_frame(Opcode opcode, std::string_view payload, const std::array<std::uint8_t, 4>& mask);

// XORs `size` payload bytes in place; `offset` is the position of data[0] within the payload.
void unmask(std::uint8_t* data, std::size_t size, const std::array<std::uint8_t, 4>& mask, std::size_t offset = 0);

// Writes an unmasked, final server frame header for `payload_length` bytes into `out` (room for
// 10 bytes); returns its length (2, 4 or 10).
std::size_t encode_header(std::uint8_t* out, Opcode opcode, std::size_t payload_length);

// A complete server frame (header + payload).
std::string make_frame(Opcode opcode, std::string_view payload);

// Payload of a close frame: 2-byte code + UTF-8 reason, truncated to fit 125 bytes.
std::string close_payload(std::uint16_t code, std::string_view reason);

// True if `code` may appear in a close frame sent by a peer (RFC 6455 section 7.4).
bool is_valid_close_code(std::uint16_t code);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_key(std::string_view client_key);

bool is_valid_utf8(const char* data, std::size_t size);

}  // namespace parley::gateway::websocket

namespace parley::gateway {

// A complete server frame, built once and shared by every session it is queued to.
using SharedFrame = std::shared_ptr<const std::string>;

// A text frame carrying `json`.
SharedFrame make_text_frame(std::string_view json);
// The same, reusing `json`'s buffer (reserve 10 spare bytes to avoid a reallocation).
SharedFrame make_text_frame_in_place(std::string&& json);

}  // namespace parley::gateway
