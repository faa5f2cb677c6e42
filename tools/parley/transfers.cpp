#include "transfers.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/json_writer.hpp"
#include "output.hpp"

namespace parley::cli {

Status check_readable_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return usage_error("cannot read " + path + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return usage_error("cannot send " + path + ": not a regular file");
  if (::access(path.c_str(), R_OK) != 0) return usage_error("cannot read " + path + ": " + std::strerror(errno));
  return Done{};
}

namespace {
bool progress_shown = false;
}

client::TransferProgress progress_line(const std::string& what) {
  if (!::isatty(STDERR_FILENO)) return {};
  using Clock = std::chrono::steady_clock;
  auto last = std::make_shared<Clock::time_point>();
  return [what, last](std::uint64_t done, std::uint64_t total) {
    const auto now = Clock::now();
    if (done != total && now - *last < std::chrono::milliseconds(200)) return;
    *last = now;
    progress_shown = true;
    if (total > 0)
      std::fprintf(stderr, "\rparley: %s %3d%% of %s ", what.c_str(), static_cast<int>(done * 100 / total),
                   human_size(static_cast<std::int64_t>(total)).c_str());
    else
      std::fprintf(stderr, "\rparley: %s %s ", what.c_str(), human_size(static_cast<std::int64_t>(done)).c_str());
    std::fflush(stderr);
  };
}

void finish_progress() {
  if (!progress_shown) return;
  progress_shown = false;
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

Outcome<client::Media> upload_with_progress(WsSession& session, const std::string& path,
                                            const std::string& content_type) {
  client::UploadOptions options;
  options.content_type = content_type;
  options.progress = progress_line("uploading " + client::base_name(path));
  auto media = session.upload(path, std::move(options));
  finish_progress();
  return media;
}

std::string media_summary(const client::Media& media) {
  return describe_file(media.file_name, media.size, media.content_type, media.width, media.height, media.id);
}

std::string media_json(const client::Media& media) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("id", media.id).field("file_name", media.file_name).field("size", media.size);
  w.field("content_type", media.content_type);
  if (media.width > 0) w.field("width", media.width).field("height", media.height);
  w.field("thumbnail", media.thumbnail).end_object();
  return out;
}

}  // namespace parley::cli
