#include "gateway/media_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace parley::gateway {
namespace {

int sync_folder(const std::string& file_path) {
  const std::string folder = std::filesystem::path(file_path).parent_path().string();
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

}  // namespace

UploadFile::~UploadFile() {
  if (fd >= 0) ::close(fd);
}

int open_upload(UploadFile& upload) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(upload.part_path).parent_path(), ec);
  if (!ec) std::filesystem::create_directories(std::filesystem::path(upload.path).parent_path(), ec);
  if (ec) return ec.value();
  if (::access(upload.path.c_str(), F_OK) == 0) return EEXIST;
  upload.fd = ::open(upload.part_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  return upload.fd < 0 ? errno : 0;
}

int write_upload(UploadFile& upload, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(upload.fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

int finish_upload(UploadFile& upload) {
  int result = ::fsync(upload.fd) == 0 ? 0 : errno;
  ::close(upload.fd);
  upload.fd = -1;
  if (result == 0 && ::link(upload.part_path.c_str(), upload.path.c_str()) != 0) result = errno;
  ::unlink(upload.part_path.c_str());
  if (result == 0) result = sync_folder(upload.path);
  upload.settled = true;
  return result;
}

void abort_upload(UploadFile& upload) {
  if (upload.settled) return;
  if (upload.fd >= 0) ::close(upload.fd);
  upload.fd = -1;
  ::unlink(upload.part_path.c_str());
  upload.settled = true;
}

DownloadFile::~DownloadFile() {
  if (fd >= 0) ::close(fd);
}

int open_download(const std::string& path, DownloadFile& file) {
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (file.fd < 0) return errno == ELOOP ? ENOENT : errno;
  struct stat info {};
  if (::fstat(file.fd, &info) != 0 || !S_ISREG(info.st_mode)) return ENOENT;
  file.size = info.st_size;
  char etag[96];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(info.st_ino),
                static_cast<unsigned long long>(info.st_size),
                static_cast<unsigned long long>(info.st_mtim.tv_sec) * 1000000000ULL +
                    static_cast<unsigned long long>(info.st_mtim.tv_nsec));
  file.etag = etag;
  return 0;
}

std::int64_t read_download(const DownloadFile& file, char* data, std::size_t size, std::int64_t offset) {
  for (;;) {
    const ssize_t n = ::pread(file.fd, data, size, offset);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace parley::gateway
