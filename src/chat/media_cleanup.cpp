// The cleanup of uploads no message carries: pending ones never completed and completed ones
// never attached (media.upload_ttl_s after their request or completion), and released ones
// (every message carrying them deleted). Every media.cleanup_interval_s a write op deletes up
// to kBatch such rows past their expiry (in the writer's batch, so a media.complete or a send
// cannot slip in between: they then find no row), and the media worker removes their files
// afterwards (media.backend = s3: DELETEs their objects). Every node of a cluster runs it; a
// row is deleted once, whoever gets there first.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "chat/media_s3.hpp"
#include "chat/service.hpp"
#include "chat/worker_thread.hpp"
#include "core/clock.hpp"
#include "media/local_files.hpp"
#include "media/urls.hpp"

namespace parley::chat {
namespace {

constexpr int kBatch = 500;  // rows per run; a full run goes on at once

class ExpiredUploadsOp final : public ChatOp {
 public:
  ExpiredUploadsOp(ChatService& s, std::function<void(std::vector<std::string>)> done) : ChatOp(s, 0, ReplyTarget{}) {
    requester_.http = [done = std::move(done), deleted = deleted_](const Reply&) { done(std::move(*deleted)); };
  }
  void abort(const Error&) override {}

 protected:
  Status run(store::WriteTxn& txn) override {
    for (const auto& upload : txn.expired_uploads(wall_clock_ms() / 1000, kBatch))
      if (txn.delete_media(upload.id)) deleted_->push_back(upload.id);
    return Ok{};
  }

 private:
  std::shared_ptr<std::vector<std::string>> deleted_ = std::make_shared<std::vector<std::string>>();
};

}  // namespace

void ChatService::schedule_media_cleanup(int delay_ms) {
  poster_.post_after(0, delay_ms, [this] {
    if (!accepting_.load()) return;
    const int interval_ms = config_.media.cleanup_interval_s * 1000;
    auto done = [this, interval_ms](std::vector<std::string> deleted) {
      schedule_media_cleanup(deleted.size() >= static_cast<std::size_t>(kBatch) ? 0 : interval_ms);
      if (deleted.empty()) return;
      spdlog::info("media.expired_uploads_deleted count={}", deleted.size());
      auto remove_files = [this, dir = media::LocalMediaDir(config_.media_dir()), deleted = std::move(deleted)] {
        if (s3_client_) {
          // One DELETE at a time, each bounded by media.s3.timeout_ms; a store out of reach
          // stops the run (what is left stays in the bucket: docs/operations.md, "Media").
          std::size_t done = 0;
          while (done < deleted.size() && delete_s3_objects(*s3_client_, deleted[done])) ++done;
          if (done < deleted.size())
            spdlog::warn("media.expired_objects_left count={} reason=store_unreachable", deleted.size() - done);
          return;
        }
        for (const std::string& id : deleted) {
          for (auto variant : {media::MediaVariant::original, media::MediaVariant::thumbnail})
            if (auto path = dir.path_of(id, variant)) std::remove(path->c_str());
          if (auto part = dir.upload_path(id)) std::remove(part->c_str());
        }
      };
      if (!media_worker_->submit(std::move(remove_files)))
        spdlog::warn("media.expired_files_left count={} reason=worker_queue_full", deleted.size());
    };
    if (!submit_write(std::make_unique<ExpiredUploadsOp>(*this, std::move(done)))) schedule_media_cleanup(interval_ms);
  });
}

}  // namespace parley::chat
