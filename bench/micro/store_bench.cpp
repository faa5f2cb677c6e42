// Micro-benchmarks of the SQLite store: one group commit of N text events spread over C
// conversations, as the writer does it (append_event per message, one commit per batch).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <cstdio>
#include <random>

#include "store/store.hpp"

namespace {

using namespace parley;

struct Fixture {
  std::string dir;
  std::unique_ptr<store::Engine> engine;
  std::unique_ptr<store::WriterConnection> writer;
  std::vector<ConversationId> conversations;

  Fixture(int conversation_count, bool synchronous_full) {
    dir = std::filesystem::temp_directory_path() / ("parley-micro-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store::EngineOptions options;
    options.url = "sqlite:" + dir + "/bench.db";
    options.synchronous_full = synchronous_full;
    engine = store::open_engine(options);
    writer = engine->open_writer();
    auto& txn = writer->begin_batch();
    auto a = txn.create_user("alice", "alice", "", "", "");
    auto b = txn.create_user("bob", "bob", "", "", "");
    for (int i = 0; i < conversation_count; ++i) {
      auto c = txn.create_conversation(ConversationKind::group, "g", "", a->id, std::nullopt);
      txn.add_member(c.id, ConversationKind::group, a->id, Role::owner, 1, 0);
      txn.add_member(c.id, ConversationKind::group, b->id, Role::member, 1, 0);
      conversations.push_back(c.id);
    }
    writer->commit_batch();
  }
  ~Fixture() {
    writer.reset();
    engine.reset();
    std::filesystem::remove_all(dir);
  }
};

// state.range(0): messages per batch; state.range(1): conversations; state.range(2): fsync.
void BM_GroupCommit(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Fixture f(static_cast<int>(state.range(1)), state.range(2) != 0);
  std::mt19937_64 random(42);
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto& txn = f.writer->begin_batch();
    for (int i = 0; i < batch; ++i) {
      store::EventRecord e;
      e.conversation_id = f.conversations[random() % f.conversations.size()];
      e.sender_id = 1;
      e.kind = EventKind::text;
      // Time-ordered ids, as the Parley clients make them (random ones cost more: see README).
      char id[40];
      std::snprintf(id, sizeof id, "%012llx%08x", static_cast<unsigned long long>(1700000000000ULL + n),
                    static_cast<unsigned>(random()));
      e.client_msg_id = id;
      e.body = "T1234567890123:1:" + std::to_string(++n) + ":xxxxxxxxxx";
      benchmark::DoNotOptimize(txn.append_event(std::move(e)));
    }
    f.writer->commit_batch();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_GroupCommit)
    ->Args({1, 100, 1})
    ->Args({100, 100, 1})
    ->Args({1000, 100, 1})
    ->Args({1000, 100, 0})
    ->Args({1000, 1, 1})
    ->Args({1000, 10000, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
