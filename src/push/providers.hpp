// The requests of the two mobile push services, as their documentation specifies them (the
// services cannot be reached from the test machines: tests/integration/test_push_mobile.py
// runs stand-ins that check each request's shape and signature).
//
//   FCM HTTP v1: an OAuth 2.0 access token from the service account's RS256-signed assertion
//   (the token endpoint of the credentials file), then POST
//   {base}/v1/projects/{project}/messages:send with {"message": {"token", "data", "android"}}.
//   APNs: POST {base}/3/device/{token} over HTTP/2 with an ES256 provider token (header kid =
//   key id, claims iss = team id, iat), apns-topic, apns-push-type, apns-priority,
//   apns-collapse-id, apns-expiration.
//
// Both classes keep their token and renew it before it lapses; neither does I/O but
// FcmAuth::fetch (one blocking request, at most once an hour).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "push/http_sender.hpp"
#include "push/private_key.hpp"

namespace parley::push {

// What a delivery's answer means for the notification and the subscription.
enum class Verdict { delivered, retry, gone, refused, renew_auth };
// Web Push and webhooks: 2xx delivered; 404/410 gone; 408/429/5xx and no answer retry;
// anything else refused.
Verdict web_push_verdict(int status);
// FCM: 2xx delivered; 404 (UNREGISTERED) gone; 400 INVALID_ARGUMENT naming the token gone,
// other 400 refused; 401/403 renew_auth; 408/429/5xx retry.
Verdict fcm_verdict(int status, std::string_view body);
// APNs: 200 delivered; 410 (Unregistered) and 400 BadDeviceToken / DeviceTokenNotForTopic
// gone; 403 ExpiredProviderToken / InvalidProviderToken renew_auth; 429/5xx retry; other 4xx refused.
Verdict apns_verdict(int status, std::string_view body);

class FcmAuth {
 public:
  // The service account JSON file Firebase's console gives (project_id, client_email,
  // private_key, token_uri). invalid_field with the reason.
  static Result<FcmAuth> from_file(const std::string& path);
  static Result<FcmAuth> from_json(std::string_view json);

  const std::string& project_id() const { return project_id_; }
  // The bearer token, fetched (blocking, at most timeout_ms) when there is none or it lapses
  // within 5 minutes. unavailable if the token endpoint does not give one.
  Result<std::string> token(std::int64_t now_s, int timeout_ms);
  void forget_token() { token_.clear(); }

  // The assertion (RFC 7523) the token request carries; public for the tests.
  Result<std::string> assertion(std::int64_t now_s) const;

 private:
  std::string project_id_, client_email_, token_uri_;
  std::optional<PrivateKey> key_;
  std::string token_;
  std::int64_t token_expires_s_ = 0;
};

// The send request for one device: `payload_json` (the notification object) is carried as the
// data message's "parley" string (FCM data values are strings), and `sealed` (if not empty) as
// "parley_encrypted"; collapse_key groups a conversation's notifications on the device.
HttpRequest fcm_request(std::string_view base_url, const std::string& project_id, const std::string& access_token,
                        const std::string& device_token, const std::string& payload_json,
                        const std::string& collapse_key, bool high_priority, int ttl_s, const std::string& sealed = {});

class ApnsAuth {
 public:
  // The .p8 key file of an Apple developer account, its key id and the team id.
  static Result<ApnsAuth> from_file(const std::string& key_path, std::string key_id, std::string team_id);
  // The provider token: one per 50 minutes (Apple refuses tokens older than an hour and
  // tokens renewed more often than every 20 minutes).
  Result<std::string> token(std::int64_t now_s);
  void forget_token() { token_.clear(); }

 private:
  std::optional<PrivateKey> key_;
  std::string key_id_, team_id_;
  std::string token_;
  std::int64_t token_issued_s_ = 0;
};

// An alert for one device (HTTP/2): title and body as the notification's content allows,
// thread-id and apns-collapse-id per conversation, the notification object under "parley" and
// `sealed` (if not empty) as the string "parley_encrypted", for a notification service extension.
HttpRequest apns_request(std::string_view base_url, const std::string& provider_token, const std::string& device_token,
                         const std::string& topic, const std::string& title, const std::string& body,
                         const std::string& payload_json, const std::string& collapse_id, bool high_priority,
                         std::int64_t expires_at_s, const std::string& sealed = {});

}  // namespace parley::push
