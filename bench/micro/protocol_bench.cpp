// Micro-benchmarks of the per-frame work on I/O and writer threads: parsing a client frame,
// serializing an event into its shared WebSocket frame, and decoding/unmasking a frame.
#include <benchmark/benchmark.h>

#include "chat/serialize.hpp"
#include "gateway/websocket_codec.hpp"
#include "protocol/parse.hpp"

namespace {

using namespace parley;

void BM_ParseSendFrame(benchmark::State& state) {
  protocol::FrameParser parser{protocol::ParseLimits{}};
  std::string frame =
      R"({"type":"send","id":"c123","conversation_id":4711,"client_msg_id":"0193a1b2c3d4e5f60718","text":"Hello there, how are you doing today?"})";
  const std::size_t size = frame.size();
  frame.append(protocol::kParsePadding, ' ');
  std::string request_id;
  for (auto _ : state) {
    auto command = parser.parse_frame(std::string_view(frame.data(), size), request_id);
    benchmark::DoNotOptimize(command);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSendFrame);

void BM_SerializeEventFrame(benchmark::State& state) {
  store::EventRecord event;
  event.conversation_id = 4711;
  event.seq = 123456;
  event.pos = 987654321;
  event.id = 119870742903914496ULL;
  event.sender_id = 42;
  event.kind = EventKind::text;
  event.client_msg_id = "0193a1b2c3d4e5f60718";
  event.body = "Hello there, how are you doing today?";
  event.created_at_ms = 1795805012199;
  for (auto _ : state) {
    auto frame = gateway::make_text_frame_in_place(chat::event_frame_json(event));
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeEventFrame);

void BM_DecodeAndUnmask(benchmark::State& state) {
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  const std::string frame =
      gateway::websocket::make_client_frame(gateway::websocket::Opcode::text, payload, {1, 2, 3, 4});
  std::string copy = frame;
  for (auto _ : state) {
    gateway::websocket::FrameHeader header;
    auto* data = reinterpret_cast<std::uint8_t*>(copy.data());
    benchmark::DoNotOptimize(gateway::websocket::decode_client_header(data, copy.size(), header));
    gateway::websocket::unmask(data + header.header_length, header.payload_length, header.mask);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeAndUnmask)->Arg(128)->Arg(4096);

}  // namespace
