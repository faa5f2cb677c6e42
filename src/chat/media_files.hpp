// The local media backend's file routes as the gateway sees them (gateway::MediaFileHandler):
// which signed URLs may PUT or GET which file. Paths are built here from media ids only.
#pragma once

#include "core/config.hpp"
#include "gateway/session.hpp"
#include "media/local_files.hpp"
#include "media/urls.hpp"

namespace parley::chat {

class MediaFiles final : public gateway::MediaFileHandler {
 public:
  // `urls` must outlive this object (the service owns both).
  MediaFiles(const Config& config, const media::MediaUrls& urls);

  bool is_media_path(std::string_view path) const override;
  gateway::MediaGrant authorize(const gateway::HttpRequest& request) const override;
  std::string content_type_of(const std::string& path) const override;
  bool is_inline_type(std::string_view content_type) const override;
  gateway::ByteRange range_of(std::string_view header, std::int64_t size) const override;

 private:
  const media::MediaUrls& urls_;
  media::LocalMediaDir dir_;
};

}  // namespace parley::chat
