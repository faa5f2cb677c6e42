#include "store/sqlite/sqlite_engine.hpp"

#include "store/sqlite/reads.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/writer.hpp"

namespace parley::store::sqlite {
namespace {

class SqliteReader final : public ReaderConnection {
 public:
  SqliteReader(const std::string& path, const EngineOptions& options)
      : db_(path, false), reads_(db_), begin_(db_.prepare("BEGIN")), end_(db_.prepare("COMMIT")) {
    configure_connection(db_, options.cache_mb);
  }

  ReadTxn& begin_read() override {
    begin_.run();
    begin_.reset();
    return reads_;
  }
  void end_read() override {
    end_.run();
    end_.reset();
  }

 private:
  Database db_;
  SqliteReads<ReadTxn> reads_;
  Statement begin_, end_;
};

class SqliteEngine final : public Engine {
 public:
  SqliteEngine(std::string path, EngineOptions options) : path_(std::move(path)), options_(std::move(options)) {
    Database db(path_, false);
    db.exec("PRAGMA page_size = " + std::to_string(options_.page_size));  // no effect on an existing file
    db.exec("PRAGMA journal_mode = WAL");
    migrate(db);
  }
  std::unique_ptr<ReaderConnection> open_reader() override { return std::make_unique<SqliteReader>(path_, options_); }
  std::unique_ptr<WriterConnection> open_writer() override { return open_sqlite_writer(path_, options_); }
  std::string describe() const override { return "sqlite:" + path_; }

 private:
  std::string path_;
  EngineOptions options_;
};

}  // namespace

std::unique_ptr<Engine> open_sqlite_engine(const std::string& path, const EngineOptions& options) {
  return std::make_unique<SqliteEngine>(path, options);
}

}  // namespace parley::store::sqlite
