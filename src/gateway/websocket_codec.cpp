#include "gateway/websocket_codec.hpp"

#include <openssl/sha.h>
#include <simdjson.h>

#include <cstring>

#include "core/base64.hpp"

namespace parley::gateway::websocket {

namespace {

HeaderStatus decode_header(const std::uint8_t* data, std::size_t size, bool expect_mask, FrameHeader& out) {
  if (size < 2) return HeaderStatus::incomplete;
  const std::uint8_t b0 = data[0], b1 = data[1];
  if (b0 & 0x70) return HeaderStatus::invalid;  // RSV1-3: no extension negotiated
  const auto opcode = static_cast<Opcode>(b0 & 0x0F);
  switch (opcode) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong: break;
    default: return HeaderStatus::invalid;
  }
  const bool masked = b1 & 0x80;
  if (masked != expect_mask) return HeaderStatus::invalid;  // clients must mask, servers must not
  out.fin = b0 & 0x80;
  out.opcode = opcode;
  std::uint64_t length = b1 & 0x7F;
  std::size_t at = 2;
  if (length == 126) {
    if (size < at + 2) return HeaderStatus::incomplete;
    length = (std::uint64_t{data[2]} << 8) | data[3];
    at += 2;
  } else if (length == 127) {
    if (size < at + 8) return HeaderStatus::incomplete;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | data[at + i];
    if (length >> 63) return HeaderStatus::invalid;
    at += 8;
  }
  if (is_control(opcode) && (!out.fin || length > 125)) return HeaderStatus::invalid;
  if (masked) {
    if (size < at + 4) return HeaderStatus::incomplete;
    std::memcpy(out.mask.data(), data + at, 4);
    at += 4;
  } else {
    out.mask = {0, 0, 0, 0};
  }
  out.payload_length = length;
  out.header_length = at;
  return HeaderStatus::complete;
}

}  // namespace

HeaderStatus decode_client_header(const std::uint8_t* data, std::size_t size, FrameHeader& out) {
  return decode_header(data, size, true, out);
}

HeaderStatus decode_server_header(const std::uint8_t* data, std::size_t size, FrameHeader& out) {
  return decode_header(data, size, false, out);
}

std::string make_client_frame(Opcode opcode, std::string_view payload, const std::array<std::uint8_t, 4>& mask) {
  std::uint8_t header[14];
  std::size_t header_length = encode_header(header, opcode, payload.size());
  header[1] |= 0x80;
  std::memcpy(header + header_length, mask.data(), 4);
  header_length += 4;
  std::string frame;
  frame.reserve(header_length + payload.size());
  frame.append(reinterpret_cast<const char*>(header), header_length);
  frame.append(payload);
  unmask(reinterpret_cast<std::uint8_t*>(frame.data()) + header_length, payload.size(), mask);
  return frame;
}

void unmask(std::uint8_t* data, std::size_t size, const std::array<std::uint8_t, 4>& mask, std::size_t offset) {
  std::size_t i = 0;
  // Align the mask to the payload offset, then XOR 8 bytes at a time.
  std::uint8_t rotated[4];
  for (int k = 0; k < 4; ++k) rotated[k] = mask[(offset + k) & 3];
  std::uint32_t m32;
  std::memcpy(&m32, rotated, 4);
  const std::uint64_t m64 = (std::uint64_t{m32} << 32) | m32;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, data + i, 8);
    chunk ^= m64;
    std::memcpy(data + i, &chunk, 8);
  }
  for (; i < size; ++i) data[i] ^= rotated[i & 3];
}

std::size_t encode_header(std::uint8_t* out, Opcode opcode, std::size_t payload_length) {
  out[0] = 0x80 | static_cast<std::uint8_t>(opcode);
  if (payload_length < 126) {
    out[1] = static_cast<std::uint8_t>(payload_length);
    return 2;
  }
  if (payload_length <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<std::uint8_t>(payload_length >> 8);
    out[3] = static_cast<std::uint8_t>(payload_length);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(std::uint64_t{payload_length} >> (56 - 8 * i));
  return 10;
}

std::string make_frame(Opcode opcode, std::string_view payload) {
  std::uint8_t header[10];
  const std::size_t header_length = encode_header(header, opcode, payload.size());
  std::string frame;
  frame.reserve(header_length + payload.size());
  frame.append(reinterpret_cast<const char*>(header), header_length);
  frame.append(payload);
  return frame;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  // Truncate on a UTF-8 character boundary so the reason stays valid.
  std::size_t length = std::min<std::size_t>(reason.size(), 123);
  while (length > 0 && length < reason.size() && (static_cast<unsigned char>(reason[length]) & 0xC0) == 0x80) --length;
  payload.append(reason.substr(0, length));
  return payload;
}

bool is_valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008: case 1009: case 1010: case 1011:
      return true;
    default: return false;
  }
}

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool is_valid_utf8(const char* data, std::size_t size) { return simdjson::validate_utf8(data, size); }

}  // namespace parley::gateway::websocket

namespace parley::gateway {

SharedFrame make_text_frame(std::string_view json) {
  return std::make_shared<const std::string>(websocket::make_frame(websocket::Opcode::text, json));
}

SharedFrame make_text_frame_in_place(std::string&& json) {
  std::uint8_t header[10];
  const std::size_t length = websocket::encode_header(header, websocket::Opcode::text, json.size());
  json.insert(0, reinterpret_cast<const char*>(header), length);
  return std::make_shared<const std::string>(std::move(json));
}

}  // namespace parley::gateway
