#include "push/providers.hpp"

#include <curl/curl.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "core/json_writer.hpp"
#include "push/jwt.hpp"

namespace parley::push {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool mentions(std::string_view body, std::string_view word) { return body.find(word) != std::string_view::npos; }

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

Verdict web_push_verdict(int status) {
  if (status >= 200 && status < 300) return Verdict::delivered;
  if (status == 404 || status == 410) return Verdict::gone;
  if (status == 0 || status == 408 || status == 429 || status >= 500) return Verdict::retry;
  return Verdict::refused;
}

Verdict fcm_verdict(int status, std::string_view body) {
  if (status >= 200 && status < 300) return Verdict::delivered;
  if (status == 404 || mentions(body, "UNREGISTERED")) return Verdict::gone;
  if (status == 400) {
    // The token itself is malformed: it will never work. Anything else wrong in the request is ours.
    return mentions(body, "registration token") || mentions(body, "message.token") ? Verdict::gone : Verdict::refused;
  }
  if (status == 401 || status == 403) return Verdict::renew_auth;
  if (status == 0 || status == 408 || status == 429 || status >= 500) return Verdict::retry;
  return Verdict::refused;
}

Verdict apns_verdict(int status, std::string_view body) {
  if (status == 200) return Verdict::delivered;
  if (status == 410 || mentions(body, "BadDeviceToken") || mentions(body, "DeviceTokenNotForTopic") ||
      mentions(body, "Unregistered"))
    return Verdict::gone;
  if (status == 403 && (mentions(body, "ExpiredProviderToken") || mentions(body, "InvalidProviderToken")))
    return Verdict::renew_auth;
  if (status == 0 || status == 429 || status >= 500) return Verdict::retry;
  return Verdict::refused;
}

Result<FcmAuth> FcmAuth::from_file(const std::string& path) {
  const std::string text = read_file(path);
  if (text.empty()) return make_error(ErrorCode::invalid_field, "push.fcm.credentials_file: cannot read " + path);
  return from_json(text);
}

Result<FcmAuth> FcmAuth::from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
    return make_error(ErrorCode::invalid_field, "push.fcm.credentials_file: not JSON");
  FcmAuth auth;
  std::string_view project, email, key, uri;
  if (doc["project_id"].get_string().get(project) != simdjson::SUCCESS ||
      doc["client_email"].get_string().get(email) != simdjson::SUCCESS ||
      doc["private_key"].get_string().get(key) != simdjson::SUCCESS)
    return make_error(ErrorCode::invalid_field,
                      "push.fcm.credentials_file: a service account key needs project_id, client_email and private_key");
  if (doc["token_uri"].get_string().get(uri) != simdjson::SUCCESS) uri = "https://oauth2.googleapis.com/token";
  auto pem = PrivateKey::from_pem(key);
  if (!pem) return make_error(ErrorCode::invalid_field, "push.fcm.credentials_file: private_key: " + pem.error().message);
  if (pem->kind() != KeyKind::rsa) return make_error(ErrorCode::invalid_field, "push.fcm.credentials_file: private_key is not RSA");
  auth.project_id_ = std::string(project);
  auth.client_email_ = std::string(email);
  auth.token_uri_ = std::string(uri);
  auth.key_ = std::move(*pem);
  return auth;
}

Result<std::string> FcmAuth::assertion(std::int64_t now_s) const {
  std::string claims;
  JsonWriter w(claims);
  w.begin_object();
  w.field("iss", client_email_);
  w.field("scope", "https://www.googleapis.com/auth/firebase.messaging");
  w.field("aud", token_uri_);
  w.field("iat", now_s);
  w.field("exp", now_s + 3600);
  w.end_object();
  return sign_jwt(JwtAlgorithm::rs256, R"({"alg":"RS256","typ":"JWT"})", claims, *key_);
}

Result<std::string> FcmAuth::token(std::int64_t now_s, int timeout_ms) {
  if (!token_.empty() && now_s < token_expires_s_ - 300) return token_;
  auto jwt = assertion(now_s);
  if (!jwt) return jwt.take_error();
  const std::string form = "grant_type=" + url_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=" + *jwt;
  std::string answer;
  CURL* e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, token_uri_.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
  const CURLcode result = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(e);
  if (result != CURLE_OK || status != 200)
    return make_error(ErrorCode::unavailable, "FCM token endpoint: " + (result != CURLE_OK ? std::string(curl_easy_strerror(result))
                                                                                            : "status " + std::to_string(status)));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view token;
  std::int64_t expires_in = 3600;
  if (parser.parse(answer).get(doc) != simdjson::SUCCESS || doc["access_token"].get_string().get(token) != simdjson::SUCCESS)
    return make_error(ErrorCode::unavailable, "FCM token endpoint: no access_token in its answer");
  if (doc["expires_in"].get_int64().get(expires_in) != simdjson::SUCCESS) expires_in = 3600;
  token_ = std::string(token);
  token_expires_s_ = now_s + expires_in;
  return token_;
}

HttpRequest fcm_request(std::string_view base_url, const std::string& project_id, const std::string& access_token,
                        const std::string& device_token, const std::string& payload_json,
                        const std::string& collapse_key, bool high_priority, int ttl_s, const std::string& sealed) {
  HttpRequest r;
  r.configured_url = true;
  r.url = std::string(base_url) + "/v1/projects/" + project_id + "/messages:send";
  r.headers = {"Content-Type: application/json", "Authorization: Bearer " + access_token};
  JsonWriter w(r.body);
  w.begin_object().key("message").begin_object();
  w.field("token", device_token);
  w.key("data").begin_object().field("parley", payload_json);
  if (!sealed.empty()) w.field("parley_encrypted", sealed);
  w.end_object();
  w.key("android").begin_object();
  w.field("priority", high_priority ? "HIGH" : "NORMAL");
  w.field("collapse_key", collapse_key);
  w.field("ttl", std::to_string(ttl_s) + "s");
  w.end_object();
  w.end_object().end_object();
  return r;
}

Result<ApnsAuth> ApnsAuth::from_file(const std::string& key_path, std::string key_id, std::string team_id) {
  const std::string pem = read_file(key_path);
  if (pem.empty()) return make_error(ErrorCode::invalid_field, "push.apns.key_file: cannot read " + key_path);
  auto key = PrivateKey::from_pem(pem);
  if (!key) return make_error(ErrorCode::invalid_field, "push.apns.key_file: " + key.error().message);
  if (key->kind() != KeyKind::p256) return make_error(ErrorCode::invalid_field, "push.apns.key_file: not a P-256 key");
  if (key_id.empty() || team_id.empty())
    return make_error(ErrorCode::invalid_field, "push.apns.key_id and push.apns.team_id are required with push.apns.key_file");
  ApnsAuth auth;
  auth.key_ = std::move(*key);
  auth.key_id_ = std::move(key_id);
  auth.team_id_ = std::move(team_id);
  return auth;
}

Result<std::string> ApnsAuth::token(std::int64_t now_s) {
  if (!token_.empty() && now_s - token_issued_s_ < 50 * 60) return token_;
  std::string header, claims;
  JsonWriter(header).begin_object().field("alg", "ES256").field("kid", key_id_).end_object();
  JsonWriter(claims).begin_object().field("iss", team_id_).field("iat", now_s).end_object();
  auto jwt = sign_jwt(JwtAlgorithm::es256, header, claims, *key_);
  if (!jwt) return jwt.take_error();
  token_ = std::move(*jwt);
  token_issued_s_ = now_s;
  return token_;
}

HttpRequest apns_request(std::string_view base_url, const std::string& provider_token, const std::string& device_token,
                         const std::string& topic, const std::string& title, const std::string& body,
                         const std::string& payload_json, const std::string& collapse_id, bool high_priority,
                         std::int64_t expires_at_s, const std::string& sealed) {
  HttpRequest r;
  r.http2 = true;
  r.configured_url = true;
  r.url = std::string(base_url) + "/3/device/" + device_token;
  r.headers = {"Content-Type: application/json",
               "authorization: bearer " + provider_token,
               "apns-topic: " + topic,
               "apns-push-type: alert",
               std::string("apns-priority: ") + (high_priority ? "10" : "5"),
               "apns-collapse-id: " + collapse_id,
               "apns-expiration: " + std::to_string(expires_at_s)};
  JsonWriter w(r.body);
  w.begin_object().key("aps").begin_object();
  w.key("alert").begin_object().field("title", title).field("body", body).end_object();
  w.field("thread-id", collapse_id);
  w.field("mutable-content", 1);
  w.end_object();
  w.key("parley").raw(payload_json);
  if (!sealed.empty()) w.field("parley_encrypted", sealed);
  w.end_object();
  return r;
}

}  // namespace parley::push
