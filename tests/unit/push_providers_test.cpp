// What each push service's answer means (push/providers.hpp), as Google's and Apple's
// documentation lists the codes; and the requests' shape. The requests are checked end to end
// against stand-ins by tests/integration/test_push_mobile.py.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>

#include "chat/push_dispatch.hpp"
#include "core/json_writer.hpp"
#include "push/providers.hpp"

namespace parley::push {
namespace {

TEST(PushVerdicts, WebPush) {
  EXPECT_EQ(web_push_verdict(201), Verdict::delivered);
  EXPECT_EQ(web_push_verdict(404), Verdict::gone);
  EXPECT_EQ(web_push_verdict(410), Verdict::gone);
  EXPECT_EQ(web_push_verdict(429), Verdict::retry);
  EXPECT_EQ(web_push_verdict(503), Verdict::retry);
  EXPECT_EQ(web_push_verdict(0), Verdict::retry);  // no answer
  EXPECT_EQ(web_push_verdict(413), Verdict::refused);
  EXPECT_EQ(web_push_verdict(400), Verdict::refused);
}

TEST(PushVerdicts, Fcm) {
  EXPECT_EQ(fcm_verdict(200, "{}"), Verdict::delivered);
  EXPECT_EQ(fcm_verdict(404, R"({"error":{"details":[{"errorCode":"UNREGISTERED"}]}})"), Verdict::gone);
  EXPECT_EQ(fcm_verdict(400, R"({"error":{"message":"The registration token is not a valid FCM registration token"}})"),
            Verdict::gone);
  EXPECT_EQ(fcm_verdict(400, R"({"error":{"message":"Invalid JSON payload received."}})"), Verdict::refused);
  EXPECT_EQ(fcm_verdict(401, "{}"), Verdict::renew_auth);
  EXPECT_EQ(fcm_verdict(429, "{}"), Verdict::retry);
  EXPECT_EQ(fcm_verdict(503, "{}"), Verdict::retry);
}

TEST(PushVerdicts, Apns) {
  EXPECT_EQ(apns_verdict(200, ""), Verdict::delivered);
  EXPECT_EQ(apns_verdict(410, R"({"reason":"Unregistered"})"), Verdict::gone);
  EXPECT_EQ(apns_verdict(400, R"({"reason":"BadDeviceToken"})"), Verdict::gone);
  EXPECT_EQ(apns_verdict(400, R"({"reason":"DeviceTokenNotForTopic"})"), Verdict::gone);
  EXPECT_EQ(apns_verdict(400, R"({"reason":"PayloadTooLarge"})"), Verdict::refused);
  EXPECT_EQ(apns_verdict(403, R"({"reason":"ExpiredProviderToken"})"), Verdict::renew_auth);
  EXPECT_EQ(apns_verdict(403, R"({"reason":"BadCertificate"})"), Verdict::refused);
  EXPECT_EQ(apns_verdict(429, R"({"reason":"TooManyRequests"})"), Verdict::retry);
  EXPECT_EQ(apns_verdict(503, R"({"reason":"ServiceUnavailable"})"), Verdict::retry);
}

TEST(PushRequests, FcmCarriesTheNotificationAsADataString) {
  const HttpRequest r = fcm_request("https://fcm.example", "proj", "tok", "device-1", R"({"seq":3})", "c9", true, 60);
  EXPECT_EQ(r.url, "https://fcm.example/v1/projects/proj/messages:send");
  EXPECT_TRUE(r.configured_url);
  EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), "Authorization: Bearer tok"), r.headers.end());
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.body).value();
  EXPECT_EQ(std::string_view(doc["message"]["token"].get_string().value()), "device-1");
  EXPECT_EQ(std::string_view(doc["message"]["data"]["parley"].get_string().value()), R"({"seq":3})");
  EXPECT_EQ(std::string_view(doc["message"]["android"]["priority"].get_string().value()), "HIGH");
  EXPECT_EQ(std::string_view(doc["message"]["android"]["collapse_key"].get_string().value()), "c9");
  EXPECT_EQ(std::string_view(doc["message"]["android"]["ttl"].get_string().value()), "60s");
}

TEST(PushRequests, ApnsIsAnAlertOverHttp2) {
  const HttpRequest r = apns_request("https://apns.example", "jwt", "abcd", "net.example", "Alice", "hi",
                                     R"({"seq":3})", "c9", false, 1000);
  EXPECT_EQ(r.url, "https://apns.example/3/device/abcd");
  EXPECT_TRUE(r.http2);
  for (const char* h : {"authorization: bearer jwt", "apns-topic: net.example", "apns-push-type: alert",
                        "apns-priority: 5", "apns-collapse-id: c9", "apns-expiration: 1000"})
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), h), r.headers.end()) << h;
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.body).value();
  EXPECT_EQ(std::string_view(doc["aps"]["alert"]["title"].get_string().value()), "Alice");
  EXPECT_EQ(std::string_view(doc["aps"]["alert"]["body"].get_string().value()), "hi");
  EXPECT_EQ(std::string_view(doc["aps"]["thread-id"].get_string().value()), "c9");
  EXPECT_EQ(doc["parley"]["seq"].get_int64().value(), 3);
}

TEST(PushRequests, FcmCredentialsNeedAnRsaServiceAccountKey) {
  EXPECT_FALSE(FcmAuth::from_json("not json").ok());
  EXPECT_FALSE(FcmAuth::from_json(R"({"project_id":"p","client_email":"e"})").ok());
  auto p256 = PrivateKey::generate_p256();
  ASSERT_TRUE(p256.ok());
  std::string json;
  JsonWriter(json).begin_object().field("project_id", "p").field("client_email", "e@x")
      .field("private_key", p256->private_pem()).end_object();
  EXPECT_FALSE(FcmAuth::from_json(json).ok());  // not RSA
}

}  // namespace
}  // namespace parley::push

namespace parley::chat {
namespace {

TEST(PushAlert, TitleIsTheSenderOrTheGroupAndTheBodyWhatTheContentSettingAllows) {
  PushContext c;
  c.job.count = 1;
  c.conversation = store::ConversationRecord{};
  c.conversation->kind = ConversationKind::group;
  c.conversation->title = "Team";
  c.event = store::EventRecord{};
  c.event->body = "lunch?";
  c.sender_name = "Alice";
  EXPECT_EQ(push_alert(c, "full"), (std::pair<std::string, std::string>{"Team", "Alice: lunch?"}));
  EXPECT_EQ(push_alert(c, "sender"), (std::pair<std::string, std::string>{"Team", "Alice: New message"}));
  EXPECT_EQ(push_alert(c, "none"), (std::pair<std::string, std::string>{"New message", ""}));
  c.conversation->kind = ConversationKind::direct;
  c.job.count = 3;
  EXPECT_EQ(push_alert(c, "full"), (std::pair<std::string, std::string>{"Alice", "lunch? (+2 more)"}));
}

}  // namespace
}  // namespace parley::chat
