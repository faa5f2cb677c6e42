// Unit tests for protocol/parse: every command type parses into its typed struct, request ids
// are echoed as JSON, and every malformed or out-of-limit frame fails with the documented
// ErrorCode. Error cases are rows of a table so that a new case costs one line.
#include "protocol/parse.hpp"
#include "protocol/routes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::protocol {
namespace {

// parse_frame may read kParsePadding bytes past its input; the padding here is real, initialized
// memory so that a sanitizer build would flag any read beyond it.
class PaddedFrame {
 public:
  explicit PaddedFrame(std::string_view json) : bytes_(json), size_(json.size()) { bytes_.append(kParsePadding, ' '); }
  std::string_view view() const { return std::string_view(bytes_.data(), size_); }

 private:
  std::string bytes_;
  std::size_t size_;
};

std::string describe(const Result<Command>& result) {
  if (result) return std::string("ok: ") + command_name(*result);
  return std::string(error_code_name(result.error().code)) + ": " + result.error().message;
}

class ProtocolTest : public ::testing::Test {
 protected:
  explicit ProtocolTest(const ParseLimits& limits = ParseLimits{}) : limits_(limits), parser_(limits) {}

  Result<Command> parse(std::string_view json) {
    const PaddedFrame frame(json);
    return parser_.parse_frame(frame.view(), request_id_);
  }

  // Parses `json` and returns the command of type T; a failure or another type fails the test.
  template <typename T>
  T parse_as(std::string_view json) {
    auto result = parse(json);
    if (!result) {
      ADD_FAILURE() << json << " -> " << describe(result);
      return T{};
    }
    const T* command = std::get_if<T>(&*result);
    if (command == nullptr) {
      ADD_FAILURE() << json << " parsed as " << command_name(*result);
      return T{};
    }
    return *command;
  }

  template <typename T>
  T rest_as(std::string_view type, std::string_view body, const Params& params) {
    auto result = parser_.parse_rest(type, body, params);
    if (!result) {
      ADD_FAILURE() << type << " " << body << " -> " << describe(result);
      return T{};
    }
    const T* command = std::get_if<T>(&*result);
    if (command == nullptr) {
      ADD_FAILURE() << type << " parsed as " << command_name(*result);
      return T{};
    }
    return *command;
  }

  ParseLimits limits_;
  FrameParser parser_;
  std::string request_id_;
};

// --- every command type, with its fields -------------------------------------------------------

TEST_F(ProtocolTest, HelloWithAllFields) {
  const auto c = parse_as<HelloCmd>(R"({"type":"hello","token":"tok.en","protocol":1,"device":"phone"})");
  EXPECT_EQ(c.token, "tok.en");
  EXPECT_EQ(c.protocol, 1);
  EXPECT_EQ(c.device, "phone");
}

TEST_F(ProtocolTest, HelloFieldsAreOptional) {
  const auto c = parse_as<HelloCmd>(R"({"type":"hello"})");
  EXPECT_EQ(c.token, "");
  EXPECT_EQ(c.protocol, 1);
  EXPECT_EQ(c.device, "");
}

TEST_F(ProtocolTest, Ping) {
  auto result = parse(R"({"type":"ping"})");
  ASSERT_TRUE(result) << describe(result);
  EXPECT_TRUE(std::holds_alternative<PingCmd>(*result));
}

TEST_F(ProtocolTest, SendToConversation) {
  const auto c = parse_as<SendCmd>(R"({"type":"send","conversation_id":12,"client_msg_id":"c-1","text":"hi"})");
  EXPECT_EQ(c.conversation_id, 12);
  EXPECT_EQ(c.to_user_id, 0);
  EXPECT_EQ(c.client_msg_id, "c-1");
  EXPECT_EQ(c.text, "hi");
}

TEST_F(ProtocolTest, SendToUser) {
  const auto c = parse_as<SendCmd>(R"({"type":"send","to_user_id":34,"client_msg_id":"c-2","text":"yo"})");
  EXPECT_EQ(c.conversation_id, 0);
  EXPECT_EQ(c.to_user_id, 34);
}

TEST_F(ProtocolTest, SendUnescapesText) {
  const auto c = parse_as<SendCmd>(
      R"({"type":"send","conversation_id":1,"client_msg_id":"c","text":"a\"b\\c\nd\u00e9\ud83d\ude00"})");
  EXPECT_EQ(c.text, "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_F(ProtocolTest, SendTextAtExactlyMaxTextBytesIsAccepted) {
  const std::string text(static_cast<std::size_t>(limits_.max_text_bytes), 'x');
  const auto c = parse_as<SendCmd>(R"({"type":"send","conversation_id":1,"client_msg_id":"c","text":")" + text + "\"}");
  EXPECT_EQ(c.text.size(), text.size());
}

TEST_F(ProtocolTest, IntegersGivenAsDecimalStringsAreAccepted) {
  const auto c =
      parse_as<SendCmd>(R"({"type":"send","conversation_id":"9007199254740991","client_msg_id":"c","text":"t"})");
  EXPECT_EQ(c.conversation_id, 9007199254740991);
}

// Ids, seqs and cursors stop at 2^53 - 1 (exact in JavaScript), so that arithmetic such as
// after_seq + 1 on a client's value never overflows.
TEST_F(ProtocolTest, LargestIdIsTwoToThe53MinusOne) {
  const auto c = parse_as<ConversationGetCmd>(R"({"type":"conversation.get","conversation_id":9007199254740991})");
  EXPECT_EQ(c.conversation_id, kMaxClientInteger);
  for (const char* over : {"9007199254740992", "9223372036854775807", "\"9223372036854775807\"", "\"99999999999999999999\""}) {
    auto result = parse(std::string(R"({"type":"history","id":"q","conversation_id":1,"after_seq":)") + over + "}");
    ASSERT_FALSE(result) << over;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << over;
    EXPECT_NE(result.error().message.find("out of range"), std::string::npos) << result.error().message;
    EXPECT_EQ(request_id_, "\"q\"");
  }
}

// JSON integers beyond 64 bits are valid JSON: an integer field holding one is out of range
// (invalid_field), and the frame's own id is still echoed.
TEST_F(ProtocolTest, IntegersBeyond64BitsAreOutOfRangeAndKeepTheRequestId) {
  const std::string huge[] = {"18446744073709551616", "1180591620717411303424", "-9223372036854775809",
                              "123456789012345678901234567890123456789", "1e400", "18446744073709551615"};
  for (const std::string& number : huge) {
    for (const std::string& field : {std::string("limit"), std::string("conversation_id")}) {
      std::string frame = R"({"id":"r7","type":"history","conversation_id":1,"limit":5})";
      frame.replace(frame.find(field == "limit" ? "5}" : "1,"), 1, number);
      auto result = parse(frame);
      ASSERT_FALSE(result) << frame;
      EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << frame << " -> " << describe(result);
      EXPECT_NE(result.error().message.find("out of range"), std::string::npos) << frame << " -> " << describe(result);
      EXPECT_EQ(request_id_, "\"r7\"") << frame;
    }
  }
  // The same number inside a string is text, untouched.
  const auto c = parse_as<SendCmd>(R"({"type":"send","conversation_id":1,"client_msg_id":"c","text":"18446744073709551616"})");
  EXPECT_EQ(c.text, "18446744073709551616");
  // An id that does not fit is an unusable id: invalid_field, and no id to echo.
  auto result = parse(R"({"id":18446744073709551616,"type":"ping"})");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::invalid_field);
  EXPECT_EQ(request_id_, "");
  // Numbers that are malformed stay malformed JSON.
  EXPECT_EQ(parse(R"({"type":"ping","x":01})").error().code, ErrorCode::bad_request);
  EXPECT_EQ(parse(R"({"type":"ping","x":1.})").error().code, ErrorCode::bad_request);
}

// Register and log in exist over REST only: over the WebSocket they are unknown commands,
// whatever fields they carry.
TEST_F(ProtocolTest, AccountCommandsAreUnknownOverTheWebSocket) {
  for (const char* frame : {R"({"type":"auth.register","id":1})", R"({"type":"auth.login"})",
                            R"({"type":"auth.login","username":"alice","password":"correct horse"})"}) {
    auto result = parse(frame);
    ASSERT_FALSE(result) << frame;
    EXPECT_EQ(result.error().code, ErrorCode::unknown_type) << frame;
  }
  EXPECT_TRUE(parser_.parse_rest("auth.login", R"({"username":"alice","password":"correct horse"})", {}));
}

TEST_F(ProtocolTest, NullFieldsCountAsAbsent) {
  const auto c =
      parse_as<SendCmd>(R"({"type":"send","conversation_id":5,"to_user_id":null,"client_msg_id":"c","text":"t"})");
  EXPECT_EQ(c.conversation_id, 5);
  EXPECT_EQ(c.to_user_id, 0);
}

TEST_F(ProtocolTest, HistoryLatestUsesDefaults) {
  const auto c = parse_as<HistoryCmd>(R"({"type":"history","conversation_id":3})");
  EXPECT_EQ(c.conversation_id, 3);
  EXPECT_FALSE(c.before_seq.has_value());
  EXPECT_FALSE(c.after_seq.has_value());
  EXPECT_EQ(c.limit, 50);
}

TEST_F(ProtocolTest, HistoryBefore) {
  const auto c = parse_as<HistoryCmd>(R"({"type":"history","conversation_id":3,"before_seq":40,"limit":100})");
  ASSERT_TRUE(c.before_seq.has_value());
  EXPECT_EQ(*c.before_seq, 40);
  EXPECT_FALSE(c.after_seq.has_value());
  EXPECT_EQ(c.limit, 100);
}

TEST_F(ProtocolTest, HistoryAfterAcceptsZero) {
  const auto c = parse_as<HistoryCmd>(R"({"type":"history","conversation_id":3,"after_seq":0,"limit":1})");
  ASSERT_TRUE(c.after_seq.has_value());
  EXPECT_EQ(*c.after_seq, 0);
  EXPECT_FALSE(c.before_seq.has_value());
  EXPECT_EQ(c.limit, 1);
}

TEST_F(ProtocolTest, SyncWithAndWithoutLimit) {
  auto c = parse_as<SyncCmd>(R"({"type":"sync","cursor":0})");
  EXPECT_EQ(c.cursor, 0);
  EXPECT_EQ(c.limit, 100);
  c = parse_as<SyncCmd>(R"({"type":"sync","cursor":77,"limit":500})");
  EXPECT_EQ(c.cursor, 77);
  EXPECT_EQ(c.limit, 500);
}

TEST_F(ProtocolTest, ConversationsList) {
  auto result = parse(R"({"type":"conversations.list"})");
  ASSERT_TRUE(result) << describe(result);
  EXPECT_TRUE(std::holds_alternative<ConversationsListCmd>(*result));
}

TEST_F(ProtocolTest, ConversationGet) {
  EXPECT_EQ(parse_as<ConversationGetCmd>(R"({"type":"conversation.get","conversation_id":8})").conversation_id, 8);
}

TEST_F(ProtocolTest, DirectOpenById) {
  const auto c = parse_as<DirectOpenCmd>(R"({"type":"direct.open","user_id":21})");
  EXPECT_EQ(c.user_id, 21);
  EXPECT_EQ(c.username, "");
}

TEST_F(ProtocolTest, DirectOpenByUsername) {
  const auto c = parse_as<DirectOpenCmd>(R"({"type":"direct.open","username":"bob"})");
  EXPECT_EQ(c.user_id, 0);
  EXPECT_EQ(c.username, "bob");
}

TEST_F(ProtocolTest, GroupCreate) {
  const auto c = parse_as<GroupCreateCmd>(R"({"type":"group.create","title":"Team","member_ids":[2,3,5]})");
  EXPECT_EQ(c.title, "Team");
  EXPECT_EQ(c.member_ids, (std::vector<UserId>{2, 3, 5}));
}

TEST_F(ProtocolTest, GroupCreateMembersAreOptional) {
  const auto c = parse_as<GroupCreateCmd>(R"({"type":"group.create","title":"Solo"})");
  EXPECT_EQ(c.title, "Solo");
  EXPECT_TRUE(c.member_ids.empty());
}

TEST_F(ProtocolTest, GroupCreateAcceptsExactlyMaxMembers) {
  std::string ids;
  for (int i = 1; i <= limits_.max_members_per_request; ++i) ids += (i > 1 ? "," : "") + std::to_string(i);
  const auto c = parse_as<GroupCreateCmd>(R"({"type":"group.create","title":"Big","member_ids":[)" + ids + "]}");
  EXPECT_EQ(c.member_ids.size(), static_cast<std::size_t>(limits_.max_members_per_request));
}

TEST_F(ProtocolTest, ChannelCreate) {
  const auto c = parse_as<ChannelCreateCmd>(R"({"type":"channel.create","title":"news","topic":"daily"})");
  EXPECT_EQ(c.title, "news");
  EXPECT_EQ(c.topic, "daily");
}

TEST_F(ProtocolTest, ChannelList) {
  auto c = parse_as<ChannelListCmd>(R"({"type":"channel.list"})");
  EXPECT_EQ(c.query, "");
  EXPECT_EQ(c.after_id, 0);
  EXPECT_EQ(c.limit, 50);
  c = parse_as<ChannelListCmd>(R"({"type":"channel.list","query":"ne","after_id":40,"limit":100})");
  EXPECT_EQ(c.query, "ne");
  EXPECT_EQ(c.after_id, 40);
  EXPECT_EQ(c.limit, 100);
}

TEST_F(ProtocolTest, ChannelJoin) {
  EXPECT_EQ(parse_as<ChannelJoinCmd>(R"({"type":"channel.join","conversation_id":6})").conversation_id, 6);
}

TEST_F(ProtocolTest, ConversationRename) {
  const auto c = parse_as<RenameCmd>(R"({"type":"conversation.rename","conversation_id":6,"title":"New"})");
  EXPECT_EQ(c.conversation_id, 6);
  EXPECT_EQ(c.title, "New");
}

TEST_F(ProtocolTest, MembersAdd) {
  const auto c = parse_as<MembersAddCmd>(R"({"type":"members.add","conversation_id":6,"user_ids":[7,8]})");
  EXPECT_EQ(c.conversation_id, 6);
  EXPECT_EQ(c.user_ids, (std::vector<UserId>{7, 8}));
}

TEST_F(ProtocolTest, MembersAddAcceptsDecimalStringIds) {
  const auto c = parse_as<MembersAddCmd>(R"({"type":"members.add","conversation_id":1,"user_ids":["2",3]})");
  EXPECT_EQ(c.user_ids, (std::vector<UserId>{2, 3}));
}

TEST_F(ProtocolTest, MembersRemove) {
  const auto c = parse_as<MemberRemoveCmd>(R"({"type":"members.remove","conversation_id":6,"user_id":7})");
  EXPECT_EQ(c.conversation_id, 6);
  EXPECT_EQ(c.user_id, 7);
}

TEST_F(ProtocolTest, MembersSetRole) {
  auto c = parse_as<MemberSetRoleCmd>(R"({"type":"members.set_role","conversation_id":6,"user_id":7,"role":"admin"})");
  EXPECT_EQ(c.conversation_id, 6);
  EXPECT_EQ(c.user_id, 7);
  EXPECT_EQ(c.role, Role::admin);
  c = parse_as<MemberSetRoleCmd>(R"({"type":"members.set_role","conversation_id":6,"user_id":7,"role":"member"})");
  EXPECT_EQ(c.role, Role::member);
}

TEST_F(ProtocolTest, ConversationLeave) {
  EXPECT_EQ(parse_as<LeaveCmd>(R"({"type":"conversation.leave","conversation_id":9})").conversation_id, 9);
}

TEST_F(ProtocolTest, MembersList) {
  EXPECT_EQ(parse_as<MembersListCmd>(R"({"type":"members.list","conversation_id":9})").conversation_id, 9);
}

TEST_F(ProtocolTest, UserGetByIdAndByUsername) {
  auto c = parse_as<UserGetCmd>(R"({"type":"user.get","user_id":4})");
  EXPECT_EQ(c.user_id, 4);
  EXPECT_EQ(c.username, "");
  c = parse_as<UserGetCmd>(R"({"type":"user.get","username":"carol"})");
  EXPECT_EQ(c.user_id, 0);
  EXPECT_EQ(c.username, "carol");
}

TEST_F(ProtocolTest, FieldOrderAndUnknownFieldsDoNotMatter) {
  const auto c =
      parse_as<SendCmd>(R"({"text":"t","extra":{"a":[1,2]},"client_msg_id":"c","conversation_id":2,"type":"send"})");
  EXPECT_EQ(c.conversation_id, 2);
  EXPECT_EQ(c.text, "t");
}

TEST_F(ProtocolTest, CommandNamesMatchWireTypes) {
  const std::vector<std::pair<std::string, std::string>> frames = {
      {R"({"type":"hello"})", "hello"},
      {R"({"type":"ping"})", "ping"},
      {R"({"type":"send","conversation_id":1,"client_msg_id":"c","text":"t"})", "send"},
      {R"({"type":"history","conversation_id":1})", "history"},
      {R"({"type":"sync","cursor":0})", "sync"},
      {R"({"type":"conversations.list"})", "conversations.list"},
      {R"({"type":"conversation.get","conversation_id":1})", "conversation.get"},
      {R"({"type":"direct.open","user_id":1})", "direct.open"},
      {R"({"type":"group.create","title":"g"})", "group.create"},
      {R"({"type":"channel.create","title":"c"})", "channel.create"},
      {R"({"type":"channel.list"})", "channel.list"},
      {R"({"type":"channel.join","conversation_id":1})", "channel.join"},
      {R"({"type":"conversation.rename","conversation_id":1,"title":"t"})", "conversation.rename"},
      {R"({"type":"members.add","conversation_id":1,"user_ids":[2]})", "members.add"},
      {R"({"type":"members.remove","conversation_id":1,"user_id":2})", "members.remove"},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2,"role":"admin"})", "members.set_role"},
      {R"({"type":"conversation.leave","conversation_id":1})", "conversation.leave"},
      {R"({"type":"members.list","conversation_id":1})", "members.list"},
      {R"({"type":"user.get","user_id":1})", "user.get"},
      {R"({"type":"conversation.settings","conversation_id":1})", "conversation.settings"},
      {R"({"type":"users.search","q":"a"})", "users.search"},
      {R"({"type":"account.update_profile","display_name":""})", "account.update_profile"},
      {R"({"type":"media.upload","size":1,"content_type":"image/png","file_name":"a.png"})", "media.upload"},
  };
  for (const auto& [frame, name] : frames) {
    auto result = parse(frame);
    ASSERT_TRUE(result) << frame << " -> " << describe(result);
    EXPECT_EQ(command_name(*result), name) << frame;
  }
}

// The display name is taken as sent (the chat layer normalizes it); it is required, may be empty.
TEST_F(ProtocolTest, UpdateProfileTakesTheDisplayNameAsSent) {
  EXPECT_EQ(parse_as<AccountUpdateProfileCmd>(R"({"type":"account.update_profile","display_name":"  Zo\u00eb  "})").display_name,
            "  Zo\xc3\xab  ");
  EXPECT_EQ(parse_as<AccountUpdateProfileCmd>(R"({"type":"account.update_profile","display_name":""})").display_name, "");
  EXPECT_EQ(parse(R"({"type":"account.update_profile"})").error().code, ErrorCode::missing_field);
  EXPECT_EQ(parse(R"({"type":"account.update_profile","display_name":3})").error().code, ErrorCode::invalid_field);
  EXPECT_EQ(parse(R"({"type":"account.update_profile","display_name":")" + std::string(1025, 'x') + R"("})").error().code,
            ErrorCode::too_large);
  Params params;
  EXPECT_EQ(match_route("PATCH", "/v1/me", params).command, "account.update_profile");
  EXPECT_EQ(match_route("GET", "/v1/me", params).command, "user.get");
}

// media.upload: the size, a "type/subtype" (lower-cased), the file name as sent, an optional
// SHA-256 in hex (lower-cased).
TEST_F(ProtocolTest, MediaUploadFields) {
  const auto c = parse_as<MediaUploadCmd>(
      R"({"type":"media.upload","size":1234,"content_type":"Image/PNG","file_name":"../a b.png","sha256":")" +
      std::string(64, 'A') + R"("})");
  EXPECT_EQ(c.size, 1234);
  EXPECT_EQ(c.content_type, "image/png");
  EXPECT_EQ(c.file_name, "../a b.png");  // sanitized by the chat layer, not here
  EXPECT_EQ(c.sha256, std::string(64, 'a'));
  EXPECT_EQ(parse_as<MediaUploadCmd>(R"({"type":"media.upload","size":0,"content_type":"text/plain","file_name":"e"})").sha256, "");
  auto refused = [&](const std::string& fields) {
    auto r = parse(R"({"type":"media.upload",)" + fields + "}");
    return r ? std::string("accepted") : r.error().field + ":" + std::string(error_code_name(r.error().code));
  };
  EXPECT_EQ(refused(R"("content_type":"image/png","file_name":"a")"), "size:missing_field");
  EXPECT_EQ(refused(R"("size":-1,"content_type":"image/png","file_name":"a")"), "size:invalid_field");
  EXPECT_EQ(refused(R"("size":9007199254740992,"content_type":"image/png","file_name":"a")"), "size:invalid_field");
  EXPECT_EQ(refused(R"("size":1,"file_name":"a")"), "content_type:missing_field");
  for (const char* type : {"png", "image/", "/png", "image/png; charset=x", "image/p ng", "a/b/c"})
    EXPECT_EQ(refused(R"("size":1,"file_name":"a","content_type":")" + std::string(type) + R"(")"), "content_type:invalid_field") << type;
  EXPECT_EQ(refused(R"("size":1,"content_type":"image/png")"), "file_name:missing_field");
  EXPECT_EQ(refused(R"("size":1,"content_type":"image/png","file_name":"")"), "file_name:invalid_field");
  EXPECT_EQ(refused(R"("size":1,"content_type":"image/png","file_name":")" + std::string(1025, 'x') + R"(")"), "file_name:too_large");
  EXPECT_EQ(refused(R"("size":1,"content_type":"image/png","file_name":"a","sha256":"abc")"), "sha256:invalid_field");
  EXPECT_EQ(refused(R"("size":1,"content_type":"image/png","file_name":"a","sha256":")" + std::string(64, 'g') + R"(")"),
            "sha256:invalid_field");
  Params params;
  EXPECT_EQ(match_route("POST", "/v1/media", params).command, "media.upload");
}

// media.complete: a media id (22 characters of A-Z a-z 0-9 - _), also from the REST path.
TEST_F(ProtocolTest, MediaCompleteTakesAMediaId) {
  EXPECT_EQ(parse_as<MediaCompleteCmd>(R"({"type":"media.complete","media_id":"Xq3vB0sQ9kz1Hh7wL2pA_g"})").media_id,
            "Xq3vB0sQ9kz1Hh7wL2pA_g");
  auto refused = [&](const std::string& fields) {
    auto r = parse(R"({"type":"media.complete")" + fields + "}");
    return r ? std::string("accepted") : r.error().field + ":" + std::string(error_code_name(r.error().code));
  };
  EXPECT_EQ(refused(""), "media_id:missing_field");
  for (const char* id : {"short", "Xq3vB0sQ9kz1Hh7wL2pA_gX", "Xq3vB0sQ9kz1Hh7wL2pA/g", "..%2F..%2F..%2Fetc%2Fpa"})
    EXPECT_EQ(refused(R"(,"media_id":")" + std::string(id) + R"(")"), "media_id:invalid_field") << id;
  Params params;
  EXPECT_EQ(match_route("POST", "/v1/media/Xq3vB0sQ9kz1Hh7wL2pA_g/complete", params).command, "media.complete");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].second, "Xq3vB0sQ9kz1Hh7wL2pA_g");
}

TEST_F(ProtocolTest, ConversationSettingsFieldsAreOptional) {
  const auto none = parse_as<ConversationSettingsCmd>(R"({"type":"conversation.settings","conversation_id":4})");
  EXPECT_EQ(none.conversation_id, 4);
  EXPECT_FALSE(none.muted_until || none.archived || none.pinned || none.marked_unread);
  const auto all = parse_as<ConversationSettingsCmd>(
      R"({"type":"conversation.settings","conversation_id":4,"muted_until":-1,"archived":true,"pinned":false,)"
      R"("marked_unread":true})");
  EXPECT_EQ(all.muted_until, -1);
  EXPECT_EQ(all.archived, true);
  EXPECT_EQ(all.pinned, false);
  EXPECT_EQ(all.marked_unread, true);
  const auto rest = rest_as<ConversationSettingsCmd>("conversation.settings", R"({"archived":false})",
                                                     {{"conversation_id", "9"}, {"pinned", "1"}, {"muted_until", "0"}});
  EXPECT_EQ(rest.conversation_id, 9);
  EXPECT_EQ(rest.pinned, true);
  EXPECT_EQ(rest.muted_until, 0);
  EXPECT_EQ(rest.archived, false);
  for (const char* bad : {R"("muted_until":-2)", R"("muted_until":1.5)", R"("archived":1)", R"("pinned":"yes")"}) {
    auto result = parse(std::string(R"({"type":"conversation.settings","conversation_id":4,)") + bad + "}");
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << bad;
  }
}

TEST_F(ProtocolTest, ConversationSettingsClearedSeq) {
  EXPECT_EQ(parse_as<ConversationSettingsCmd>(R"({"type":"conversation.settings","conversation_id":4,"cleared_seq":"12"})")
                .cleared_seq,
            12);
  EXPECT_FALSE(parse_as<ConversationSettingsCmd>(R"({"type":"conversation.settings","conversation_id":4})").cleared_seq);
  for (const char* bad : {R"("cleared_seq":-1)", R"("cleared_seq":9007199254740992)", R"("cleared_seq":true)"}) {
    auto result = parse(std::string(R"({"type":"conversation.settings","conversation_id":4,)") + bad + "}");
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << bad;
    EXPECT_EQ(result.error().field, "cleared_seq") << bad;
  }
}

// message.hide names one message (`seq`) or several (`seqs`: sorted, each once, at most
// max_hide_batch).
TEST_F(ProtocolTest, MessageHideTakesASeqOrASeqList) {
  const auto one = parse_as<MessageHideCmd>(R"({"type":"message.hide","conversation_id":4,"seq":7})");
  EXPECT_EQ(one.conversation_id, 4);
  EXPECT_EQ(one.seqs, std::vector<Seq>{7});
  EXPECT_FALSE(one.several);
  const auto many = parse_as<MessageHideCmd>(R"({"type":"message.hide","conversation_id":4,"seqs":[9,"3",9,5]})");
  EXPECT_EQ(many.seqs, (std::vector<Seq>{3, 5, 9}));
  EXPECT_TRUE(many.several);
  const auto rest = rest_as<MessageHideCmd>("message.hide", "", {{"conversation_id", "4"}, {"seqs", "8,2"}});
  EXPECT_EQ(rest.seqs, (std::vector<Seq>{2, 8}));
  const std::string too_many = R"({"type":"message.hide","conversation_id":4,"seqs":[)" + [] {
    std::string list;
    for (int i = 1; i <= ParseLimits{}.max_hide_batch + 1; ++i) list += (i > 1 ? "," : "") + std::to_string(i);
    return list;
  }() + "]}";
  EXPECT_EQ(parse(too_many).error().code, ErrorCode::too_large);
  const struct {
    const char* fields;
    ErrorCode code;
  } bad[] = {
      {R"("conversation_id":4)", ErrorCode::missing_field},
      {R"("seq":1)", ErrorCode::missing_field},
      {R"("conversation_id":4,"seq":1,"seqs":[1])", ErrorCode::invalid_field},
      {R"("conversation_id":4,"seqs":[])", ErrorCode::invalid_field},
      {R"("conversation_id":4,"seqs":[0])", ErrorCode::invalid_field},
      {R"("conversation_id":4,"seqs":[9007199254740992])", ErrorCode::invalid_field},
      {R"("conversation_id":4,"seqs":2)", ErrorCode::invalid_field},
      {R"("conversation_id":4,"seq":0)", ErrorCode::invalid_field},
  };
  for (const auto& row : bad) {
    auto result = parse(std::string(R"({"type":"message.hide",)") + row.fields + "}");
    ASSERT_FALSE(result) << row.fields;
    EXPECT_EQ(result.error().code, row.code) << row.fields;
  }
  Params params;
  EXPECT_EQ(match_route("POST", "/v1/conversations/4/messages/7/hide", params).command, "message.hide");
  EXPECT_EQ(match_route("POST", "/v1/conversations/4/hide", params).command, "message.hide");
}

TEST_F(ProtocolTest, UsersSearch) {
  const auto c = parse_as<UsersSearchCmd>(R"({"type":"users.search","q":" Ann ","cursor":"abc","limit":7})");
  EXPECT_EQ(c.query, " Ann ");  // folded and trimmed by the search itself
  EXPECT_EQ(c.cursor, "abc");
  EXPECT_EQ(c.limit, 7);
  EXPECT_EQ(parse_as<UsersSearchCmd>(R"({"type":"users.search","q":"a"})").limit, limits_.default_search_results);
  for (const auto& [frame, code] : std::vector<std::pair<std::string, ErrorCode>>{
           {R"({"type":"users.search","query":"a"})", ErrorCode::missing_field},
           {R"({"type":"users.search","q":""})", ErrorCode::invalid_field},
           {R"({"type":"users.search","q":"a","limit":51})", ErrorCode::invalid_field},
           {R"({"type":"users.search","q":")" + std::string(65, 'a') + R"("})", ErrorCode::too_large}}) {
    auto result = parse(frame);
    ASSERT_FALSE(result) << frame;
    EXPECT_EQ(result.error().code, code) << frame;
  }
  Params params;
  EXPECT_EQ(match_route("GET", "/v1/users/search", params).command, "users.search");
  EXPECT_TRUE(params.empty());
  EXPECT_EQ(match_route("GET", "/v1/users/5", params).command, "user.get");
}

// --- request ids --------------------------------------------------------------------------------

struct RequestIdCase {
  std::string frame;
  std::string request_id;  // as re-serialized JSON
};

TEST_F(ProtocolTest, RequestIdIsEchoedAsJson) {
  const std::vector<RequestIdCase> cases = {
      {R"({"id":"abc","type":"ping"})", R"("abc")"},
      {R"({"id":"","type":"ping"})", R"("")"},
      {R"({"id":"q\"b\\s/","type":"ping"})", R"("q\"b\\s/")"},
      {R"({"id":"line\nfeed\t\u0001","type":"ping"})", R"("line\nfeed\t\u0001")"},
      {R"({"id":"\u00e9","type":"ping"})", "\"\xc3\xa9\""},  // unescaped to UTF-8, which needs no escape
      {R"({"id":42,"type":"ping"})", "42"},
      {R"({"id":-7,"type":"ping"})", "-7"},
      {R"({"id":0,"type":"ping"})", "0"},
      {R"({"id":18446744073709551615,"type":"ping"})", "18446744073709551615"},
      {R"({"id":null,"type":"ping"})", ""},
      {R"({"type":"ping"})", ""},
      {R"({"type":"ping","id":"after-type"})", R"("after-type")"},
      {R"({"id":")" + std::string(64, 'r') + R"(","type":"ping"})", "\"" + std::string(64, 'r') + "\""},
  };
  for (const auto& c : cases) {
    request_id_ = "stale";
    auto result = parse(c.frame);
    EXPECT_TRUE(result) << c.frame << " -> " << describe(result);
    EXPECT_EQ(request_id_, c.request_id) << c.frame;
  }
}

TEST_F(ProtocolTest, RequestIdIsFilledWhenTheFrameFailsLater) {
  const std::vector<std::pair<std::string, ErrorCode>> cases = {
      {R"({"id":"r1","type":"no.such.type"})", ErrorCode::unknown_type},
      {R"({"id":"r1"})", ErrorCode::missing_field},
      {R"({"id":"r1","type":7})", ErrorCode::invalid_field},
      {R"({"id":"r1","type":"send","conversation_id":1,"client_msg_id":"c"})", ErrorCode::missing_field},
      {R"({"id":"r1","type":"history","conversation_id":0})", ErrorCode::invalid_field},
  };
  for (const auto& [frame, code] : cases) {
    auto result = parse(frame);
    ASSERT_FALSE(result) << frame;
    EXPECT_EQ(result.error().code, code) << frame << " -> " << describe(result);
    EXPECT_EQ(request_id_, R"("r1")") << frame;
  }
}

TEST_F(ProtocolTest, UnusableRequestIdIsAnErrorAndLeavesRequestIdEmpty) {
  const std::vector<std::string> frames = {
      R"({"id":")" + std::string(65, 'r') + R"(","type":"ping"})",
      R"({"id":1.5,"type":"ping"})",
      R"({"id":true,"type":"ping"})",
      R"({"id":{"a":1},"type":"ping"})",
      R"({"id":[1],"type":"ping"})",
  };
  for (const auto& frame : frames) {
    request_id_ = "stale";
    auto result = parse(frame);
    ASSERT_FALSE(result) << frame;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << frame << " -> " << describe(result);
    EXPECT_EQ(request_id_, "") << frame;
  }
}

TEST_F(ProtocolTest, RequestIdIsClearedForUnparsableFrames) {
  request_id_ = "stale";
  EXPECT_FALSE(parse(R"({"id":"r1","type":"ping")"));
  EXPECT_EQ(request_id_, "");
}

// --- errors ------------------------------------------------------------------------------------

struct ErrorCase {
  std::string frame;
  ErrorCode code;
};

std::string send_with(std::string_view fields) { return R"({"type":"send",)" + std::string(fields) + "}"; }

// A valid send frame whose text is `json_text`, inserted between the quotes as is.
std::string send_text(std::string_view json_text) {
  return send_with(R"("conversation_id":1,"client_msg_id":"c","text":")" + std::string(json_text) + "\"");
}

std::string nested_arrays(int total_depth) {
  // The frame object is depth 1; each array adds one.
  std::string frame = R"({"type":"ping","x":)";
  frame.append(static_cast<std::size_t>(total_depth - 1), '[');
  frame.append(static_cast<std::size_t>(total_depth - 1), ']');
  frame += "}";
  return frame;
}

std::vector<ErrorCase> frame_error_cases(const ParseLimits& limits) {
  const std::string max_text(static_cast<std::size_t>(limits.max_text_bytes), 'x');
  std::string too_many_ids;
  for (int i = 1; i <= limits.max_members_per_request + 1; ++i) too_many_ids += (i > 1 ? "," : "") + std::to_string(i);
  return {
      // Not JSON, or not an object.
      {"", ErrorCode::bad_request},
      {"   ", ErrorCode::bad_request},
      {R"({"type":"ping")", ErrorCode::bad_request},
      {R"({"type":"ping",})", ErrorCode::bad_request},
      {R"({"type":'ping'})", ErrorCode::bad_request},
      {R"({"type":"ping"} {})", ErrorCode::bad_request},
      {R"([{"type":"ping"}])", ErrorCode::bad_request},
      {R"("ping")", ErrorCode::bad_request},
      {"42", ErrorCode::bad_request},
      {"null", ErrorCode::bad_request},
      // Nesting beyond max_json_depth (16 levels are fine, see DepthLimitBoundary).
      {nested_arrays(limits.max_json_depth + 1), ErrorCode::bad_request},
      {nested_arrays(limits.max_json_depth + 10), ErrorCode::bad_request},
      // Invalid UTF-8 inside a string, raw or through escapes.
      {send_text("a\xffz"), ErrorCode::bad_request},
      {send_text("\xc0\xaf"), ErrorCode::bad_request},      // overlong '/'
      {send_text("\xed\xa0\x80"), ErrorCode::bad_request},  // a surrogate, CESU-8 style
      {send_text("\xe2\x82z"), ErrorCode::bad_request},     // truncated sequence
      {send_text(R"(\ud800)"), ErrorCode::bad_request},     // lone surrogate as an escape
      {"{\"type\":\"ping\",\"k\x80z\":1}", ErrorCode::bad_request},
      // The type.
      {R"({})", ErrorCode::missing_field},
      {R"({"typ":"ping"})", ErrorCode::missing_field},
      {R"({"type":1})", ErrorCode::invalid_field},
      {R"({"type":null})", ErrorCode::invalid_field},
      {R"({"type":["ping"]})", ErrorCode::invalid_field},
      {R"({"type":"pong"})", ErrorCode::unknown_type},
      {R"({"type":"PING"})", ErrorCode::unknown_type},
      {R"({"type":""})", ErrorCode::unknown_type},
      {R"({"type":"ping "})", ErrorCode::unknown_type},
      // hello
      {R"({"type":"hello","protocol":2})", ErrorCode::invalid_field},
      {R"({"type":"hello","protocol":0})", ErrorCode::invalid_field},
      {R"({"type":"hello","token":5})", ErrorCode::invalid_field},
      {R"({"type":"hello","device":")" + std::string(129, 'd') + R"("})", ErrorCode::too_large},
      {R"({"type":"hello","token":")" + std::string(8193, 't') + R"("})", ErrorCode::too_large},
      // send: required fields, types, ranges, sizes.
      {send_with(R"("conversation_id":1,"text":"t")"), ErrorCode::missing_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c")"), ErrorCode::missing_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":null)"), ErrorCode::missing_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":"")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":")" + max_text + R"(x")"), ErrorCode::too_large},
      {send_with(R"("conversation_id":1,"client_msg_id":")" + std::string(65, 'c') + R"(","text":"t")"),
       ErrorCode::too_large},
      {send_with(R"("conversation_id":1,"client_msg_id":7,"text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":7)"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":["t"])"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"abc","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"12x","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":" 12","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":1.5,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":true,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":{},"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":0,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":-4,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"0","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"-4","client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":9223372036854775808,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("conversation_id":"9223372036854775808","client_msg_id":"c","text":"t")"),
       ErrorCode::invalid_field},
      {send_with(R"("to_user_id":0,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      {send_with(R"("client_msg_id":"c","text":"t")"), ErrorCode::missing_field},
      {send_with(R"("conversation_id":1,"to_user_id":2,"client_msg_id":"c","text":"t")"), ErrorCode::invalid_field},
      // history
      {R"({"type":"history"})", ErrorCode::missing_field},
      {R"({"type":"history","conversation_id":null})", ErrorCode::missing_field},
      {R"({"type":"history","conversation_id":1,"before_seq":0})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"after_seq":-1})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"before_seq":"x"})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"before_seq":9,"after_seq":2})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"limit":0})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"limit":101})", ErrorCode::invalid_field},
      {R"({"type":"history","conversation_id":1,"limit":"all"})", ErrorCode::invalid_field},
      // sync
      {R"({"type":"sync"})", ErrorCode::missing_field},
      {R"({"type":"sync","cursor":-1})", ErrorCode::invalid_field},
      {R"({"type":"sync","cursor":0,"limit":501})", ErrorCode::invalid_field},
      // conversation.get, channel.join, conversation.leave, members.list
      {R"({"type":"conversation.get"})", ErrorCode::missing_field},
      {R"({"type":"conversation.get","conversation_id":0})", ErrorCode::invalid_field},
      {R"({"type":"channel.join","conversation_id":"x"})", ErrorCode::invalid_field},
      {R"({"type":"conversation.leave"})", ErrorCode::missing_field},
      {R"({"type":"members.list","conversation_id":-1})", ErrorCode::invalid_field},
      // direct.open and user.get: exactly one of user_id / username.
      {R"({"type":"direct.open"})", ErrorCode::missing_field},
      {R"({"type":"direct.open","user_id":1,"username":"bob"})", ErrorCode::invalid_field},
      {R"({"type":"direct.open","username":""})", ErrorCode::missing_field},
      {R"({"type":"direct.open","user_id":0})", ErrorCode::invalid_field},
      {R"({"type":"direct.open","username":5})", ErrorCode::invalid_field},
      {R"({"type":"direct.open","username":")" + std::string(33, 'u') + R"("})", ErrorCode::too_large},
      {R"({"type":"user.get"})", ErrorCode::missing_field},
      {R"({"type":"user.get","user_id":2,"username":"bob"})", ErrorCode::invalid_field},
      // group.create
      {R"({"type":"group.create"})", ErrorCode::missing_field},
      {R"({"type":"group.create","title":""})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":")" + std::string(257, 't') + R"("})", ErrorCode::too_large},
      {R"({"type":"group.create","title":"g","member_ids":5})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":"1,2"})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":[1,0]})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":[1,-2]})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":[1,2.5]})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":[1,null]})", ErrorCode::invalid_field},
      {R"({"type":"group.create","title":"g","member_ids":[)" + too_many_ids + "]}", ErrorCode::too_large},
      // channel.create and channel.list
      {R"({"type":"channel.create","topic":"t"})", ErrorCode::missing_field},
      {R"({"type":"channel.create","title":"c","topic":")" + std::string(1025, 't') + R"("})", ErrorCode::too_large},
      {R"({"type":"channel.list","limit":101})", ErrorCode::invalid_field},
      {R"({"type":"channel.list","after_id":-1})", ErrorCode::invalid_field},
      {R"({"type":"channel.list","query":1})", ErrorCode::invalid_field},
      // conversation.rename
      {R"({"type":"conversation.rename","conversation_id":1})", ErrorCode::missing_field},
      {R"({"type":"conversation.rename","title":"t"})", ErrorCode::missing_field},
      {R"({"type":"conversation.rename","conversation_id":1,"title":""})", ErrorCode::invalid_field},
      // members.add / members.remove / members.set_role
      {R"({"type":"members.add","conversation_id":1})", ErrorCode::missing_field},
      {R"({"type":"members.add","conversation_id":1,"user_ids":[]})", ErrorCode::invalid_field},
      {R"({"type":"members.add","conversation_id":1,"user_ids":["2x"]})", ErrorCode::invalid_field},
      {R"({"type":"members.add","conversation_id":1,"user_ids":[)" + too_many_ids + "]}", ErrorCode::too_large},
      {R"({"type":"members.remove","conversation_id":1})", ErrorCode::missing_field},
      {R"({"type":"members.remove","conversation_id":1,"user_id":0})", ErrorCode::invalid_field},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2})", ErrorCode::missing_field},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2,"role":"owner"})", ErrorCode::invalid_field},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2,"role":"Admin"})", ErrorCode::invalid_field},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2,"role":"boss"})", ErrorCode::invalid_field},
      {R"({"type":"members.set_role","conversation_id":1,"user_id":2,"role":1})", ErrorCode::invalid_field},
      {R"({"type":"members.set_role","user_id":2,"role":"admin"})", ErrorCode::missing_field},
  };
}

TEST_F(ProtocolTest, MalformedFramesFailWithTheirErrorCode) {
  for (const ErrorCase& c : frame_error_cases(limits_)) {
    auto result = parse(c.frame);
    const std::string shown = c.frame.substr(0, 160);
    ASSERT_FALSE(result) << shown << " unexpectedly parsed as " << command_name(*result);
    EXPECT_EQ(result.error().code, c.code)
        << shown << " -> " << describe(result) << " (expected " << error_code_name(c.code) << ")";
    EXPECT_FALSE(result.error().message.empty()) << shown;
  }
}

TEST_F(ProtocolTest, ErrorMessageNamesTheField) {
  auto result = parse(send_with(R"("conversation_id":1,"client_msg_id":"c","text":7)"));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("'text'"), std::string::npos) << result.error().message;
}

TEST_F(ProtocolTest, DepthLimitBoundary) {
  auto at_limit = parse(nested_arrays(limits_.max_json_depth));
  EXPECT_TRUE(at_limit) << describe(at_limit);
  auto over = parse(nested_arrays(limits_.max_json_depth + 1));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::bad_request);
}

// The depth counts containers only: max_json_depth nested objects are accepted whether the
// innermost holds a scalar or an empty container; one more level is refused either way.
TEST_F(ProtocolTest, DepthCountsContainersNotTheScalarInside) {
  auto nested = [](int containers, const std::string& innermost) {
    std::string frame = R"({"type":"ping","x":)";
    for (int i = 1; i < containers - 1; ++i) frame += R"({"a":)";
    frame += containers > 1 ? R"({"a":)" + innermost + "}" : innermost;
    for (int i = 1; i < containers - 1; ++i) frame += "}";
    return frame + "}";
  };
  const int max = limits_.max_json_depth;
  for (const std::string& inside : {std::string("1"), std::string("\"s\""), std::string("null")}) {
    auto ok = parse(nested(max, inside));
    EXPECT_TRUE(ok) << nested(max, inside) << " -> " << describe(ok);
    auto over = parse(nested(max + 1, inside));
    ASSERT_FALSE(over) << nested(max + 1, inside);
    EXPECT_EQ(over.error().code, ErrorCode::bad_request);
  }
  // max containers where the innermost is itself an (empty) container: max + 1 levels.
  EXPECT_TRUE(parse(nested(max - 1, "{}")));
  EXPECT_FALSE(parse(nested(max, "{}")));
  EXPECT_FALSE(parse(nested(max, "[]")));
}

TEST_F(ProtocolTest, FrameSizeLimitBoundary) {
  const std::string ping = R"({"type":"ping"})";
  std::string frame = ping + std::string(static_cast<std::size_t>(limits_.max_frame_bytes) - ping.size(), ' ');
  auto at_limit = parse(frame);
  EXPECT_TRUE(at_limit) << describe(at_limit);

  frame.push_back(' ');
  request_id_ = "stale";
  auto over = parse(frame);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::too_large);
  EXPECT_EQ(request_id_, "");
}

TEST_F(ProtocolTest, OversizedFrameIsTooLargeEvenIfMalformed) {
  auto result = parse(std::string(static_cast<std::size_t>(limits_.max_frame_bytes) + 1, '{'));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::too_large);
}

TEST_F(ProtocolTest, ParserIsReusableAfterErrors) {
  EXPECT_FALSE(parse(R"({"type":)"));
  EXPECT_FALSE(parse(nested_arrays(40)));
  EXPECT_EQ(parse_as<ConversationGetCmd>(R"({"type":"conversation.get","conversation_id":31})").conversation_id, 31);
}

// Limits are read from ParseLimits, not hard-coded.
class ProtocolSmallLimitsTest : public ProtocolTest {
 protected:
  static ParseLimits small_limits() {
    ParseLimits limits;
    limits.max_json_depth = 4;
    limits.max_frame_bytes = 256;
    limits.max_text_bytes = 5;
    limits.max_client_msg_id_bytes = 3;
    limits.max_title_bytes = 4;
    limits.max_username_bytes = 6;
    limits.max_members_per_request = 2;
    limits.max_history_page = 10;
    limits.max_sync_page = 20;
    return limits;
  }
  ProtocolSmallLimitsTest() : ProtocolTest(small_limits()) {}
};

TEST_F(ProtocolSmallLimitsTest, ConfiguredLimitsApply) {
  const std::vector<ErrorCase> cases = {
      {nested_arrays(5), ErrorCode::bad_request},
      {R"({"type":"ping","pad":")" + std::string(256, 'p') + R"("})", ErrorCode::too_large},
      {send_with(R"("conversation_id":1,"client_msg_id":"c","text":"123456")"), ErrorCode::too_large},
      {send_with(R"("conversation_id":1,"client_msg_id":"abcd","text":"t")"), ErrorCode::too_large},
      {R"({"type":"group.create","title":"abcde"})", ErrorCode::too_large},
      {R"({"type":"group.create","title":"g","member_ids":[1,2,3]})", ErrorCode::too_large},
      {R"({"type":"user.get","username":"abcdefg"})", ErrorCode::too_large},
      {R"({"type":"history","conversation_id":1,"limit":11})", ErrorCode::invalid_field},
      {R"({"type":"sync","cursor":1,"limit":21})", ErrorCode::invalid_field},
  };
  for (const ErrorCase& c : cases) {
    auto result = parse(c.frame);
    ASSERT_FALSE(result) << c.frame;
    EXPECT_EQ(result.error().code, c.code) << c.frame << " -> " << describe(result);
  }
  EXPECT_TRUE(parse(nested_arrays(4)));
  EXPECT_EQ(parse_as<SendCmd>(send_with(R"("conversation_id":1,"client_msg_id":"abc","text":"12345")")).text, "12345");
  EXPECT_EQ(parse_as<GroupCreateCmd>(R"({"type":"group.create","title":"g","member_ids":[1,2]})").member_ids.size(),
            2u);
}

TEST_F(ProtocolSmallLimitsTest, DefaultPageSizesRespectSmallerConfiguredMaximums) {
  EXPECT_EQ(parse_as<HistoryCmd>(R"({"type":"history","conversation_id":1})").limit, 10);
  EXPECT_EQ(parse_as<SyncCmd>(R"({"type":"sync","cursor":0})").limit, 20);
}

// --- parse_rest ----------------------------------------------------------------------------------

TEST_F(ProtocolTest, RestRegister) {
  const auto c = rest_as<RegisterCmd>(
      "auth.register", R"({"username":"alice","password":"hunter2hunter2","display_name":"Alice A."})", {});
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "hunter2hunter2");
  EXPECT_EQ(c.display_name, "Alice A.");
}

TEST_F(ProtocolTest, RestRegisterDisplayNameIsOptional) {
  const auto c = rest_as<RegisterCmd>("auth.register", R"({"username":"alice","password":"pw"})", {});
  EXPECT_EQ(c.display_name, "");
}

TEST_F(ProtocolTest, RestLogin) {
  const auto c = rest_as<LoginCmd>("auth.login", "\n {\"username\":\"bob\",\"password\":\"s3cret\"} \n", {});
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.password, "s3cret");
}

TEST_F(ProtocolTest, RestParamsOverrideBodyFields) {
  const auto c = rest_as<RenameCmd>("conversation.rename", R"({"conversation_id":1,"title":"from body"})",
                                    {{"conversation_id", "9"}});
  EXPECT_EQ(c.conversation_id, 9);
  EXPECT_EQ(c.title, "from body");

  const auto login = rest_as<LoginCmd>("auth.login", R"({"username":"body","password":"pw"})", {{"username", "param"}});
  EXPECT_EQ(login.username, "param");
}

TEST_F(ProtocolTest, RestParamWinsEvenOverAnInvalidBodyField) {
  const auto c =
      rest_as<ConversationGetCmd>("conversation.get", R"({"conversation_id":"nope"})", {{"conversation_id", "4"}});
  EXPECT_EQ(c.conversation_id, 4);
}

TEST_F(ProtocolTest, RestEmptyBodyUsesParamsOnly) {
  for (std::string_view body : {std::string_view(""), std::string_view(" \r\n\t")}) {
    const auto c =
        rest_as<HistoryCmd>("history", body, {{"conversation_id", "7"}, {"before_seq", "100"}, {"limit", "20"}});
    EXPECT_EQ(c.conversation_id, 7);
    ASSERT_TRUE(c.before_seq.has_value());
    EXPECT_EQ(*c.before_seq, 100);
    EXPECT_EQ(c.limit, 20);
  }
  auto result = parser_.parse_rest("conversations.list", "", {});
  ASSERT_TRUE(result) << describe(result);
  EXPECT_TRUE(std::holds_alternative<ConversationsListCmd>(*result));
}

TEST_F(ProtocolTest, RestCommaSeparatedIntegerLists) {
  auto c = rest_as<MembersAddCmd>("members.add", "", {{"conversation_id", "5"}, {"user_ids", "1,22,333"}});
  EXPECT_EQ(c.conversation_id, 5);
  EXPECT_EQ(c.user_ids, (std::vector<UserId>{1, 22, 333}));
  c = rest_as<MembersAddCmd>("members.add", R"({"user_ids":[9]})", {{"conversation_id", "5"}, {"user_ids", "4"}});
  EXPECT_EQ(c.user_ids, (std::vector<UserId>{4}));
}

TEST_F(ProtocolTest, RestErrors) {
  std::string many_ids;
  for (int i = 1; i <= limits_.max_members_per_request + 1; ++i) many_ids += (i > 1 ? "," : "") + std::to_string(i);
  struct RestErrorCase {
    std::string type;
    std::string body;
    Params params;
    ErrorCode code;
  };
  const std::vector<RestErrorCase> cases = {
      {"auth.register", "{", {}, ErrorCode::bad_request},
      {"auth.register", "[]", {}, ErrorCode::bad_request},
      {"auth.register", R"("alice")", {}, ErrorCode::bad_request},
      {"auth.register", "{\"username\":\"a\xff\",\"password\":\"pw\"}", {}, ErrorCode::bad_request},
      {"auth.register", R"({"password":"pw"})", {}, ErrorCode::missing_field},
      {"auth.register", R"({"username":"alice"})", {}, ErrorCode::missing_field},
      {"auth.register", R"({"username":"alice","password":""})", {}, ErrorCode::invalid_field},
      {"auth.register", R"({"username":"alice","password":5})", {}, ErrorCode::invalid_field},
      {"auth.register", R"({"username":")" + std::string(33, 'u') + R"(","password":"pw"})", {}, ErrorCode::too_large},
      {"auth.register",
       R"({"username":"alice","password":")" + std::string(1025, 'p') + R"("})",
       {},
       ErrorCode::too_large},
      {"auth.login", "", {}, ErrorCode::missing_field},
      {"auth.login",
       R"({"username":"bob","password":"pw","pad":")" + std::string(static_cast<std::size_t>(ParseLimits{}.max_frame_bytes), 'p') + R"("})",
       {},
       ErrorCode::too_large},
      {"auth.logout", "", {}, ErrorCode::unknown_type},
      {"history", "", {{"conversation_id", "ten"}}, ErrorCode::invalid_field},
      {"history", "", {{"conversation_id", ""}}, ErrorCode::invalid_field},
      {"history", "", {{"conversation_id", "0"}}, ErrorCode::invalid_field},
      {"history", "", {{"conversation_id", "-1"}}, ErrorCode::invalid_field},
      {"history", "", {{"conversation_id", "1"}, {"limit", "101"}}, ErrorCode::invalid_field},
      {"history", "", {{"conversation_id", "1"}, {"before_seq", "5"}, {"after_seq", "2"}}, ErrorCode::invalid_field},
      {"history", "", {}, ErrorCode::missing_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", "1,x"}}, ErrorCode::invalid_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", "1,0"}}, ErrorCode::invalid_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", "1,,2"}}, ErrorCode::invalid_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", "1,-2"}}, ErrorCode::invalid_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", ""}}, ErrorCode::invalid_field},
      {"members.add", "", {{"conversation_id", "1"}}, ErrorCode::missing_field},
      {"members.add", "", {{"conversation_id", "1"}, {"user_ids", many_ids}}, ErrorCode::too_large},
      {"group.create", "", {{"title", "g"}, {"member_ids", many_ids}}, ErrorCode::too_large},
      {"group.create", "", {{"title", std::string(257, 't')}}, ErrorCode::too_large},
      {"members.set_role",
       "",
       {{"conversation_id", "1"}, {"user_id", "2"}, {"role", "owner"}},
       ErrorCode::invalid_field},
  };
  for (const auto& c : cases) {
    auto result = parser_.parse_rest(c.type, c.body, c.params);
    const std::string shown = c.type + " " + c.body.substr(0, 80);
    ASSERT_FALSE(result) << shown << " unexpectedly parsed";
    EXPECT_EQ(result.error().code, c.code) << shown << " -> " << describe(result);
  }
}

// --- usernames --------------------------------------------------------------------------------------

TEST(ProtocolUsername, ValidNames) {
  for (std::string_view name : {"abc", "a_b", "a.b-c", "0abc", "9__", "x..", "bob.smith-2"})
    EXPECT_TRUE(is_valid_username(name, 32)) << name;
  EXPECT_TRUE(is_valid_username(std::string(32, 'a'), 32));
}

TEST(ProtocolUsername, UpperCaseIsAcceptedBecauseTheCallerFoldsIt) {
  EXPECT_TRUE(is_valid_username("Alice", 32));
  EXPECT_TRUE(is_valid_username("ABC", 32));
}

TEST(ProtocolUsername, InvalidNames) {
  const std::vector<std::string> names = {
      "",     "a",    "ab",          std::string(33, 'a'),    "_abc",  ".abc", "-abc", "ab c", "ab@c",
      "ab/c", "ab+c", "caf\xc3\xa9", std::string("ab\0c", 4), "abc\n", " abc",
  };
  for (const auto& name : names) EXPECT_FALSE(is_valid_username(name, 32)) << name;
}

TEST(ProtocolUsername, MaxBytesIsAParameter) {
  EXPECT_TRUE(is_valid_username("abc", 3));
  EXPECT_FALSE(is_valid_username("abcd", 3));
  EXPECT_TRUE(is_valid_username("abcdefgh", 8));
}

// Found by rest_fuzz: strings from a REST path or query string are percent-decoded bytes; one
// that is not UTF-8 must be refused, or it would be stored and break every frame carrying it.
TEST_F(ProtocolTest, RestParametersMustBeUtf8) {
  auto result = parser_.parse_rest("send", "", {{"conversation_id", "5"}, {"client_msg_id", "x"}, {"text", "\xff\xfe"}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::bad_request);
  EXPECT_NE(result.error().message.find("'text'"), std::string::npos);
  EXPECT_TRUE(parser_.parse_rest("send", "", {{"conversation_id", "5"}, {"client_msg_id", "x"}, {"text", "\xc3\xa9"}}));
}

// Found by parse_fuzz: the unknown type echoed in the error is cut on a character boundary.
TEST_F(ProtocolTest, UnknownTypeEchoIsCutOnACharacter) {
  auto result = parse(R"({"type":")" + std::string(63, 'a') + "\xc3\xa9" + R"("})");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::unknown_type);
  const std::string& message = result.error().message;
  EXPECT_EQ(message.find('\xc3'), std::string::npos) << "half a character";
}

// Found by rest_fuzz: match_route appends the path's parameters and never drops the caller's,
// also when an earlier route has the same path with another method.
TEST(Routes, MatchAppendsAndKeepsTheCallersParameters) {
  Params params{{"mine", "1"}};
  const RouteMatch patch = match_route("PATCH", "/v1/conversations/5", params);
  EXPECT_EQ(patch.command, "conversation.rename");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"mine", "1"}));
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"conversation_id", "5"}));
  Params none{{"mine", "1"}};
  const RouteMatch wrong = match_route("PUT", "/v1/conversations/5", none);
  EXPECT_TRUE(wrong.path_known);
  EXPECT_TRUE(wrong.command.empty());
  EXPECT_EQ(none.size(), 1u);
  Params unknown;
  EXPECT_FALSE(match_route("GET", "/v1/nothing/here", unknown).path_known);
  EXPECT_EQ(match_route("GET", "/v1/account/sessions/", unknown).command, "account.sessions");  // trailing slash
}

}  // namespace
}  // namespace parley::protocol
