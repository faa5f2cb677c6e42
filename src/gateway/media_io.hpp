// The blocking file steps of the local media backend's transfers (http_connection.cpp calls
// them on the FileThread only). Plain POSIX; every function returns 0 or an errno value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace parley::gateway {

// An upload being written: PART_PATH until it is complete, then linked to PATH.
struct UploadFile {
  std::string part_path;
  std::string path;
  int fd = -1;
  bool settled = false;  // completed or abandoned: nothing left to clean up
  ~UploadFile();         // closes the descriptor (a part file left unsettled is removed by abort_upload)
};

// Creates the folders and the part file, exclusively (EEXIST: an upload of this id is in
// progress, or the file is complete already).
int open_upload(UploadFile& upload);
// Appends `size` bytes (retries short writes and EINTR).
int write_upload(UploadFile& upload, const char* data, std::size_t size);
// fsync, then the part file becomes PATH (link, never replacing: EEXIST if a file is there
// already), the part's name is removed, and the folder is synced: a reader sees the whole
// file or none, and after a crash the file is either complete or absent.
int finish_upload(UploadFile& upload);
// Closes and removes the part file (a refused or interrupted upload).
void abort_upload(UploadFile& upload);

struct DownloadFile {
  int fd = -1;
  std::int64_t size = 0;
  std::string etag;  // strong: the inode, size and modification time
  ~DownloadFile();
};

// Opens a regular file (never a symbolic link) for reading. ENOENT for anything else.
int open_download(const std::string& path, DownloadFile& file);
// Reads up to `size` bytes at `offset`; the count, or -errno.
std::int64_t read_download(const DownloadFile& file, char* data, std::size_t size, std::int64_t offset);

}  // namespace parley::gateway
