#include "media/urls.hpp"

#include <stdexcept>

namespace parley::media {
namespace {

std::string object_name(std::string_view media_id, MediaVariant variant) {
  return std::string(media_id) + (variant == MediaVariant::thumbnail ? ".thumb" : "");
}

}  // namespace

MediaUrls::MediaUrls(const Config& config) {
  if (config.media.backend == "s3") {
    const auto& s = config.media.s3;
    S3Location location{s.endpoint, s.bucket, s.region, s.access_key, s.secret_key, s.path_style};
    if (auto checked = check_s3_location(location); !checked)
      throw std::runtime_error("setting " + checked.error().field + ": " + checked.error().message);
    s3_ = std::move(location);
  } else {
    signer_.emplace(load_or_create_media_key(config.media.secret, config.server.data_dir));
  }
}

std::string MediaUrls::s3_key(std::string_view media_id, MediaVariant variant) {
  return "media/" + object_name(media_id, variant);
}

std::string MediaUrls::s3_upload_key(std::string_view media_id) { return "uploads/" + std::string(media_id); }

std::string MediaUrls::upload_url(std::string_view media_id, std::int64_t size, std::int64_t now_s,
                                  std::int64_t expires_at_s) const {
  if (s3_) {
    S3PresignRequest request{S3Method::put, s3_upload_key(media_id), expires_at_s - now_s, now_s, size};
    return presign_s3_url(*s3_, request).value();
  }
  const std::string sig = signer_->sign(SignedMethod::put, object_name(media_id, MediaVariant::original), expires_at_s, size);
  return "/v1/media/" + std::string(media_id) + "/content?size=" + std::to_string(size) +
         "&expires=" + std::to_string(expires_at_s) + "&sig=" + sig;
}

std::string MediaUrls::download_url(std::string_view media_id, MediaVariant variant, std::int64_t now_s,
                                    std::int64_t expires_at_s) const {
  if (s3_) {
    S3PresignRequest request{S3Method::get, s3_key(media_id, variant), expires_at_s - now_s, now_s, 0};
    return presign_s3_url(*s3_, request).value();
  }
  const std::string sig = signer_->sign(SignedMethod::get, object_name(media_id, variant), expires_at_s, -1);
  return "/v1/media/" + std::string(media_id) + (variant == MediaVariant::thumbnail ? "/thumbnail" : "/content") +
         "?expires=" + std::to_string(expires_at_s) + "&sig=" + sig;
}

UrlCheck MediaUrls::verify_local(SignedMethod method, std::string_view media_id, MediaVariant variant,
                                 std::int64_t expires_at_s, std::int64_t declared_size, std::string_view signature,
                                 std::int64_t now_s) const {
  if (!signer_) return UrlCheck::bad_signature;
  return signer_->verify(method, object_name(media_id, variant), expires_at_s, declared_size, signature, now_s);
}

}  // namespace parley::media
