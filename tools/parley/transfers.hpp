// Files for `send --file`, `upload` and `get`: checking a local file before anything is sent,
// uploading with a progress line on a terminal, and describing media (human lines, --json).
#pragma once

#include <cstdint>
#include <string>

#include "client/media.hpp"
#include "outcome.hpp"
#include "ws_session.hpp"

namespace parley::cli {

// A usage error unless `path` is a regular file this process can read.
Status check_readable_file(const std::string& path);

// Uploads the file (WsSession::upload); on a terminal, shows progress on stderr.
Outcome<client::Media> upload_with_progress(WsSession& session, const std::string& path,
                                            const std::string& content_type);

// Progress on stderr ("parley: NAME 42% of 1.5 MiB"), redrawn at most a few times a second;
// nothing unless stderr is a terminal. finish_progress() ends its line.
client::TransferProgress progress_line(const std::string& what);
void finish_progress();

// "IMG_0042.jpg, 47.1 KiB, image/jpeg, 1024x768, media Xq3vB0sQ9kz1Hh7wL2pA_g"
std::string media_summary(const client::Media& media);
// The media object as the server writes it (id, file_name, size, content_type, width, height,
// thumbnail; no preview).
std::string media_json(const client::Media& media);

}  // namespace parley::cli
