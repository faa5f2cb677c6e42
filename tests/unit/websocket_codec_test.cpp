// Unit tests for gateway/websocket_codec: client header decoding (lengths, incompleteness, every
// protocol violation the decoder must reject), unmasking at any offset, server frame encoding,
// close payloads, the handshake accept key and UTF-8 validation.
#include "gateway/websocket_codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateway::websocket {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

// A client frame header as a client would send it; `length_form` forces the 7-, 16- or 64-bit
// length encoding (0 picks the shortest).
Bytes client_header(std::uint8_t first_byte, std::uint64_t length, bool masked = true, int length_form = 0) {
  Bytes out = {first_byte};
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  if (length_form == 0) length_form = length < 126 ? 7 : length <= 0xFFFF ? 16 : 64;
  if (length_form == 7) {
    out.push_back(static_cast<std::uint8_t>(mask_bit | length));
  } else if (length_form == 16) {
    out.push_back(mask_bit | 126);
    out.push_back(static_cast<std::uint8_t>(length >> 8));
    out.push_back(static_cast<std::uint8_t>(length));
  } else {
    out.push_back(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  }
  if (masked) out.insert(out.end(), kMask.begin(), kMask.end());
  return out;
}

std::uint8_t first_byte(bool fin, std::uint8_t opcode) { return static_cast<std::uint8_t>((fin ? 0x80 : 0) | opcode); }

HeaderStatus decode(const Bytes& bytes, FrameHeader& header) {
  return decode_client_header(bytes.data(), bytes.size(), header);
}

HeaderStatus decode(const Bytes& bytes) {
  FrameHeader header;
  return decode(bytes, header);
}

// --- decode_client_header -------------------------------------------------------------------------

struct LengthCase {
  std::uint64_t length;
  std::size_t header_length;
};

TEST(WebSocketDecode, LengthEncodings) {
  const std::vector<LengthCase> cases = {
      // The 7-bit, 16-bit and 64-bit forms, each at its edges.
      {0, 6},
      {1, 6},
      {125, 6},
      {126, 8},
      {127, 8},
      {65535, 8},
      {65536, 14},
      {0x100000000, 14},
      {0x7FFFFFFFFFFFFFFF, 14},
  };
  for (const LengthCase& c : cases) {
    const Bytes bytes = client_header(first_byte(true, 0x2), c.length);
    FrameHeader header;
    ASSERT_EQ(decode(bytes, header), HeaderStatus::complete) << c.length;
    EXPECT_EQ(header.payload_length, c.length);
    EXPECT_EQ(header.header_length, c.header_length) << c.length;
    EXPECT_EQ(header.header_length, bytes.size());
    EXPECT_TRUE(header.fin);
    EXPECT_EQ(header.opcode, Opcode::binary);
    EXPECT_EQ(header.mask, kMask);
  }
}

TEST(WebSocketDecode, NonMinimalLengthEncodingsStillDecodeTheirValue) {
  FrameHeader header;
  ASSERT_EQ(decode(client_header(first_byte(true, 0x1), 5, true, 16), header), HeaderStatus::complete);
  EXPECT_EQ(header.payload_length, 5u);
  EXPECT_EQ(header.header_length, 8u);
  ASSERT_EQ(decode(client_header(first_byte(true, 0x1), 300, true, 64), header), HeaderStatus::complete);
  EXPECT_EQ(header.payload_length, 300u);
  EXPECT_EQ(header.header_length, 14u);
}

TEST(WebSocketDecode, TrailingPayloadBytesAreNotPartOfTheHeader) {
  Bytes bytes = client_header(first_byte(true, 0x1), 3);
  bytes.insert(bytes.end(), {'a', 'b', 'c', 0xFF, 0x80});
  FrameHeader header;
  ASSERT_EQ(decode(bytes, header), HeaderStatus::complete);
  EXPECT_EQ(header.header_length, 6u);
  EXPECT_EQ(header.payload_length, 3u);
}

TEST(WebSocketDecode, IncompleteAtEveryPrefixLength) {
  for (std::uint64_t length : {std::uint64_t{10}, std::uint64_t{1000}, std::uint64_t{100000}}) {
    for (std::uint8_t opcode : {std::uint8_t{0x1}, std::uint8_t{0x9}}) {
      if (opcode == 0x9 && length > 125) continue;
      const Bytes bytes = client_header(first_byte(true, opcode), length);
      for (std::size_t size = 0; size < bytes.size(); ++size) {
        FrameHeader header;
        EXPECT_EQ(decode_client_header(bytes.data(), size, header), HeaderStatus::incomplete)
            << "length " << length << " opcode " << int{opcode} << " prefix " << size;
      }
      EXPECT_EQ(decode(bytes), HeaderStatus::complete) << length;
    }
  }
}

TEST(WebSocketDecode, UnmaskedFramesAreRejected) {
  for (std::uint64_t length : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{126}, std::uint64_t{70000}}) {
    const Bytes bytes = client_header(first_byte(true, 0x1), length, /*masked=*/false);
    EXPECT_EQ(decode(bytes), HeaderStatus::invalid) << length;
    // Already decidable from the first two bytes.
    FrameHeader header;
    EXPECT_EQ(decode_client_header(bytes.data(), 2, header), HeaderStatus::invalid) << length;
  }
}

TEST(WebSocketDecode, ReservedBitsAreRejected) {
  for (std::uint8_t rsv : {std::uint8_t{0x40}, std::uint8_t{0x20}, std::uint8_t{0x10}, std::uint8_t{0x70}}) {
    const Bytes bytes = client_header(static_cast<std::uint8_t>(first_byte(true, 0x1) | rsv), 4);
    EXPECT_EQ(decode(bytes), HeaderStatus::invalid) << int{rsv};
  }
}

TEST(WebSocketDecode, OnlyKnownOpcodesAreAccepted) {
  for (int opcode = 0; opcode < 16; ++opcode) {
    const bool known = opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
    FrameHeader header;
    const Bytes bytes = client_header(first_byte(true, static_cast<std::uint8_t>(opcode)), 4);
    const HeaderStatus status = decode(bytes, header);
    EXPECT_EQ(status, known ? HeaderStatus::complete : HeaderStatus::invalid) << "opcode " << opcode;
    if (known) {
      EXPECT_EQ(static_cast<int>(header.opcode), opcode);
    }
  }
}

TEST(WebSocketDecode, FragmentedDataFramesAreAccepted) {
  FrameHeader header;
  ASSERT_EQ(decode(client_header(first_byte(false, 0x1), 4), header), HeaderStatus::complete);
  EXPECT_FALSE(header.fin);
  EXPECT_EQ(header.opcode, Opcode::text);
  ASSERT_EQ(decode(client_header(first_byte(true, 0x0), 4), header), HeaderStatus::complete);
  EXPECT_TRUE(header.fin);
  EXPECT_EQ(header.opcode, Opcode::continuation);
}

TEST(WebSocketDecode, ControlFramesMustBeFinalAndAtMost125Bytes) {
  for (std::uint8_t opcode : {std::uint8_t{0x8}, std::uint8_t{0x9}, std::uint8_t{0xA}}) {
    FrameHeader header;
    EXPECT_EQ(decode(client_header(first_byte(true, opcode), 125), header), HeaderStatus::complete) << int{opcode};
    EXPECT_TRUE(is_control(header.opcode));
    EXPECT_EQ(decode(client_header(first_byte(false, opcode), 0)), HeaderStatus::invalid) << int{opcode};
    EXPECT_EQ(decode(client_header(first_byte(true, opcode), 126)), HeaderStatus::invalid) << int{opcode};
    EXPECT_EQ(decode(client_header(first_byte(true, opcode), 65536)), HeaderStatus::invalid) << int{opcode};
  }
}

TEST(WebSocketDecode, SixtyFourBitLengthWithTopBitSetIsRejected) {
  for (std::uint64_t length : {std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
    const Bytes bytes = client_header(first_byte(true, 0x2), length, true, 64);
    EXPECT_EQ(decode(bytes), HeaderStatus::invalid) << length;
    // Decidable before the mask arrives.
    FrameHeader header;
    EXPECT_EQ(decode_client_header(bytes.data(), 10, header), HeaderStatus::invalid) << length;
  }
}

TEST(WebSocketDecode, OpcodeHelpers) {
  EXPECT_TRUE(is_control(Opcode::close));
  EXPECT_TRUE(is_control(Opcode::ping));
  EXPECT_TRUE(is_control(Opcode::pong));
  EXPECT_FALSE(is_control(Opcode::text));
  EXPECT_FALSE(is_control(Opcode::binary));
  EXPECT_FALSE(is_control(Opcode::continuation));
}

// --- unmask ------------------------------------------------------------------------------------------

void naive_unmask(std::uint8_t* data, std::size_t size, const std::array<std::uint8_t, 4>& mask, std::size_t offset) {
  for (std::size_t i = 0; i < size; ++i) data[i] ^= mask[(offset + i) % 4];
}

TEST(WebSocketUnmask, MatchesNaiveXorForManySizesAndOffsets) {
  std::mt19937 random(42);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::array<std::uint8_t, 4> mask = {0x01, 0x80, 0xfe, 0x5a};
  for (std::size_t size = 0; size <= 70; ++size) {
    for (std::size_t offset : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 125u, 1000003u}) {
      // Start at an odd address inside the buffer so the 8-byte path sees unaligned data.
      Bytes buffer(size + 3);
      for (auto& b : buffer) b = static_cast<std::uint8_t>(byte(random));
      Bytes expected = buffer;
      unmask(buffer.data() + 1, size, mask, offset);
      naive_unmask(expected.data() + 1, size, mask, offset);
      ASSERT_EQ(buffer, expected) << "size " << size << " offset " << offset;
    }
  }
}

TEST(WebSocketUnmask, DefaultOffsetIsZero) {
  Bytes data = {1, 2, 3, 4, 5};
  unmask(data.data(), data.size(), kMask);
  EXPECT_EQ(data, (Bytes{static_cast<std::uint8_t>(1 ^ 0x37), static_cast<std::uint8_t>(2 ^ 0xfa),
                         static_cast<std::uint8_t>(3 ^ 0x21), static_cast<std::uint8_t>(4 ^ 0x3d),
                         static_cast<std::uint8_t>(5 ^ 0x37)}));
}

TEST(WebSocketUnmask, PiecewiseEqualsWhole) {
  std::string text = "The quick brown fox jumps over the lazy dog, again and again and again.";
  Bytes whole(text.begin(), text.end());
  unmask(whole.data(), whole.size(), kMask);
  for (std::size_t split_a = 0; split_a <= whole.size(); split_a += 3) {
    for (std::size_t split_b = split_a; split_b <= whole.size(); split_b += 5) {
      Bytes pieces(text.begin(), text.end());
      unmask(pieces.data(), split_a, kMask, 0);
      unmask(pieces.data() + split_a, split_b - split_a, kMask, split_a);
      unmask(pieces.data() + split_b, pieces.size() - split_b, kMask, split_b);
      ASSERT_EQ(pieces, whole) << split_a << "/" << split_b;
    }
  }
}

TEST(WebSocketUnmask, UnmaskTwiceRestoresTheInput) {
  const std::string text = "round trip";
  Bytes data(text.begin(), text.end());
  unmask(data.data(), data.size(), kMask, 3);
  EXPECT_NE(std::string(data.begin(), data.end()), text);
  unmask(data.data(), data.size(), kMask, 3);
  EXPECT_EQ(std::string(data.begin(), data.end()), text);
}

// --- encoding server frames ------------------------------------------------------------------------

TEST(WebSocketEncode, HeaderSizesAtLengthBoundaries) {
  struct Case {
    std::size_t length;
    Bytes header;
  };
  const std::vector<Case> cases = {
      {0, {0x81, 0}},
      {125, {0x81, 125}},
      {126, {0x81, 126, 0x00, 0x7E}},
      {65535, {0x81, 126, 0xFF, 0xFF}},
      {65536, {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
      {0x123456789A, {0x81, 127, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9A}},
  };
  for (const Case& c : cases) {
    std::uint8_t out[10] = {};
    const std::size_t size = encode_header(out, Opcode::text, c.length);
    ASSERT_EQ(size, c.header.size()) << c.length;
    EXPECT_EQ(Bytes(out, out + size), c.header) << c.length;
    EXPECT_EQ(out[1] & 0x80, 0) << "server frames must not be masked";
  }
}

TEST(WebSocketEncode, OpcodeAndFinAreInTheFirstByte) {
  std::uint8_t out[10];
  encode_header(out, Opcode::close, 2);
  EXPECT_EQ(out[0], 0x88);
  encode_header(out, Opcode::pong, 0);
  EXPECT_EQ(out[0], 0x8A);
  encode_header(out, Opcode::binary, 70000);
  EXPECT_EQ(out[0], 0x82);
}

TEST(WebSocketEncode, MakeFrameIsHeaderPlusPayload) {
  for (std::size_t length : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    const std::string payload(length, 'p');
    const std::string frame = make_frame(Opcode::text, payload);
    std::uint8_t header[10];
    const std::size_t header_length = encode_header(header, Opcode::text, length);
    ASSERT_EQ(frame.size(), header_length + length) << length;
    EXPECT_EQ(frame.compare(0, header_length, std::string(reinterpret_cast<char*>(header), header_length)), 0);
    EXPECT_EQ(frame.substr(header_length), payload);
  }
  EXPECT_EQ(make_frame(Opcode::ping, "hi"), std::string("\x89\x02hi"));
}

TEST(WebSocketEncode, MakeTextFrame) {
  const SharedFrame frame = make_text_frame(R"({"type":"pong"})");
  ASSERT_NE(frame, nullptr);
  EXPECT_EQ(*frame, make_frame(Opcode::text, R"({"type":"pong"})"));
}

// --- close frames ------------------------------------------------------------------------------------

TEST(WebSocketClose, PayloadIsBigEndianCodeAndReason) {
  EXPECT_EQ(close_payload(1000, ""), std::string("\x03\xe8", 2));
  EXPECT_EQ(close_payload(1002, "bye"), std::string("\x03\xea") + "bye");
  EXPECT_EQ(close_payload(4999, "x"), std::string("\x13\x87") + "x");
}

TEST(WebSocketClose, LongAsciiReasonIsTruncatedTo125Bytes) {
  const std::string reason(300, 'r');
  const std::string payload = close_payload(1008, reason);
  EXPECT_EQ(payload.size(), 125u);
  EXPECT_EQ(payload.substr(2), reason.substr(0, 123));
}

TEST(WebSocketClose, TruncationKeepsUtf8ValidAndMaximal) {
  const std::vector<std::string> characters = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (const std::string& character : characters) {
    for (std::size_t ascii = 100; ascii <= 130; ++ascii) {
      std::string reason(ascii, 'a');
      while (reason.size() < 140) reason += character;
      const std::string payload = close_payload(1011, reason);
      const std::string kept = payload.substr(2);
      ASSERT_LE(payload.size(), 125u) << ascii;
      EXPECT_TRUE(is_valid_utf8(kept.data(), kept.size())) << "ascii " << ascii << " char " << character.size();
      EXPECT_EQ(reason.compare(0, kept.size(), kept), 0) << "kept a prefix";
      // At most one partial character is dropped.
      EXPECT_GT(kept.size() + character.size(), 123u) << "ascii " << ascii << " char " << character.size();
    }
  }
}

TEST(WebSocketClose, ShortReasonIsKeptWhole) {
  const std::string reason = "caf\xc3\xa9 \xf0\x9f\x98\x80";
  EXPECT_EQ(close_payload(1000, reason).substr(2), reason);
  const std::string exact(123, 'e');
  EXPECT_EQ(close_payload(1000, exact).substr(2), exact);
}

TEST(WebSocketClose, ValidCloseCodes) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
    EXPECT_TRUE(is_valid_close_code(code)) << code;
  for (std::uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    EXPECT_FALSE(is_valid_close_code(code)) << code;
}

// --- handshake and UTF-8 -----------------------------------------------------------------------------

TEST(WebSocketHandshake, AcceptKeyMatchesRfc6455Example) {
  // RFC 6455 section 1.3. (The value "s3pPLMBiTxaQ9kYGzzhZjK+xOo0=" sometimes quoted is a typo.)
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, AcceptKeyDependsOnTheKey) {
  const std::string a = accept_key("x3JJHMbDL1EzLkh9GBhXDw==");
  EXPECT_EQ(a, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");  // the widely quoted second example pair
  EXPECT_NE(a, accept_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_EQ(a.size(), 28u);
}

TEST(WebSocketUtf8, ValidSequences) {
  const std::vector<std::string> valid = {
      "",
      "plain ascii",
      std::string("nul\0inside", 10),
      "\xc2\x80",          // U+0080, smallest 2-byte
      "\xdf\xbf",          // U+07FF
      "\xe0\xa0\x80",      // U+0800, smallest 3-byte
      "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
      "\xee\x80\x80",      // U+E000, just above them
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x90\x80\x80",  // U+10000, smallest 4-byte
      "\xf4\x8f\xbf\xbf",  // U+10FFFF, largest code point
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
  };
  for (const std::string& s : valid) EXPECT_TRUE(is_valid_utf8(s.data(), s.size())) << s;
}

std::vector<std::string> invalid_utf8() {
  return {
      "\x80",  // lone continuation
      "\xbf",
      "\xc0\x80",                  // overlong NUL
      "\xc1\xbf",                  // overlong 2-byte
      "\xe0\x80\xaf",              // overlong 3-byte '/'
      "\xe0\x9f\xbf",              // overlong U+07FF
      "\xf0\x80\x80\xaf",          // overlong 4-byte '/'
      "\xf0\x8f\xbf\xbf",          // overlong U+FFFF
      "\xed\xa0\x80",              // U+D800, high surrogate
      "\xed\xbf\xbf",              // U+DFFF, low surrogate
      "\xed\xa0\xbd\xed\xb8\x80",  // CESU-8 surrogate pair
      "\xf4\x90\x80\x80",          // U+110000
      "\xf5\x80\x80\x80",
      "\xf8\x88\x80\x80\x80",
      "\xfe",
      "\xff",
      "\xc3",          // truncated 2-byte
      "\xe2\x82",      // truncated 3-byte
      "\xf0\x9f\x98",  // truncated 4-byte
      "\xe2\x82z",     // continuation replaced by ASCII
      "\xc3\xa9\xa9",  // extra continuation
  };
}

TEST(WebSocketUtf8, InvalidSequences) {
  for (const std::string& s : invalid_utf8())
    EXPECT_FALSE(is_valid_utf8(s.data(), s.size())) << testing::PrintToString(s);
}

TEST(WebSocketUtf8, InvalidSequencesAreFoundAnywhereInLongInput) {
  // Long inputs go through the vectorized path; place each bad sequence at many offsets.
  for (const std::string& bad : invalid_utf8()) {
    for (std::size_t at : {0u, 1u, 15u, 31u, 32u, 63u, 64u, 65u, 127u, 200u}) {
      std::string s(at, 'a');
      s += bad;
      s.append(256 - at, 'b');
      ASSERT_FALSE(is_valid_utf8(s.data(), s.size())) << testing::PrintToString(bad) << " at " << at;
    }
  }
  const std::string good = std::string(100, 'a') + "\xf0\x9f\x98\x80" + std::string(100, 'b');
  EXPECT_TRUE(is_valid_utf8(good.data(), good.size()));
}

TEST(WebSocketUtf8, SizeLimitsTheCheck) {
  const std::string s = "ok\xff";
  EXPECT_TRUE(is_valid_utf8(s.data(), 2));
  EXPECT_FALSE(is_valid_utf8(s.data(), 3));
}

}  // namespace
}  // namespace parley::gateway::websocket
