// The file side of metadata_strip.hpp: the input mapped (never read into memory), the output
// written to a temporary file, synced and renamed over the original.
#include "media/metadata_strip.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace parley::media {
namespace {

// Maps the file at `path` read-only; an empty view for an empty file.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  Status open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0) return make_error(ErrorCode::internal, "cannot open " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode))
      return make_error(ErrorCode::internal, "not a regular file: " + path);
    mode_ = info.st_mode & 07777;
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ == 0) return Ok{};
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (mapped == MAP_FAILED)
      return make_error(ErrorCode::internal, "cannot map " + path + ": " + std::strerror(errno));
    data_ = mapped;
    return Ok{};
  }
  std::string_view bytes() const { return {static_cast<const char*>(data_), data_ ? size_ : 0}; }
  mode_t mode() const { return mode_; }

 private:
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  mode_t mode_ = 0600;
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), std::min<std::size_t>(bytes.size(), 1 << 20));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return true;
}

bool sync_folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

}  // namespace

Result<StripOutcome> strip_metadata_in_place(const std::string& path, StripFormat format,
                                             const std::string& temporary_path) {
  MappedFile input;
  if (auto opened = input.open(path); !opened) return opened.take_error();
  auto plan = plan_metadata_strip(input.bytes(), format);
  if (!plan) return plan.take_error();
  StripOutcome outcome{static_cast<std::int64_t>(plan->output_size), plan->changed, plan->orientation,
                       std::move(plan->removed)};
  if (!plan->changed) return outcome;

  const int fd = ::open(temporary_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, input.mode());
  if (fd < 0 && errno == EEXIST) {  // left by a crash mid-strip: never a file anyone serves
    ::unlink(temporary_path.c_str());
    return strip_metadata_in_place(path, format, temporary_path);
  }
  if (fd < 0) return make_error(ErrorCode::internal, "cannot create " + temporary_path + ": " + std::strerror(errno));
  bool written = true;
  for (const auto& piece : plan->pieces) {
    written = write_all(fd, piece.bytes.empty() ? input.bytes().substr(piece.offset, piece.length) : piece.bytes);
    if (!written) break;
  }
  written = written && ::fsync(fd) == 0;
  written = ::close(fd) == 0 && written;
  if (!written || std::rename(temporary_path.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary_path.c_str());
    return make_error(ErrorCode::internal, "cannot write " + temporary_path + ": " + std::strerror(error));
  }
  // Without this a crash could bring the old name, with the location, back.
  if (!sync_folder_of(path)) return make_error(ErrorCode::internal, "cannot sync the folder of " + path);
  return outcome;
}

bool is_stripped_image(const std::string& path, std::string_view mime_type) {
  const auto format = strip_format_of(mime_type);
  if (!format) return false;
  MappedFile input;
  if (!input.open(path)) return false;
  auto plan = plan_metadata_strip(input.bytes(), *format);
  return plan && !plan->changed;
}

}  // namespace parley::media
