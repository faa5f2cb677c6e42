#include "protocol/parse.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "core/json_writer.hpp"
#include "core/text.hpp"

namespace parley::protocol {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::optional<std::int64_t> parse_decimal(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// True for a decimal integer (optional '-', digits) too large for 64 bits: a valid number that
// is out of range, not a malformed one.
bool is_overlong_decimal(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  std::int64_t v = 0;
  return std::from_chars(text.data(), text.data() + text.size(), v).ec == std::errc::result_out_of_range;
}

// An integer field's value outside the 64-bit range (a JSON integer beyond uint64 reaches the
// fields as a huge double, see replace_huge_numbers): reported as out of range, not as a type error.
bool is_huge_number(const element& e) {
  double d = 0;
  if (e.is_uint64()) return true;  // fits uint64 but not int64
  return e.get_double().get(d) == simdjson::SUCCESS && (d >= 9.2e18 || d <= -9.2e18);
}

// A media id: 22 characters of A-Z a-z 0-9 - _ (128 random bits, base64url).
bool is_media_id(std::string_view text) {
  return text.size() == 22 &&
         text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string_view::npos;
}

// Reads fields from a JSON object and/or REST parameters (parameters win), remembering the
// first error. Every accessor returns a harmless default once an error is recorded.
class Fields {
 public:
  Fields(const object* json, const Params* params) : json_(json), params_(params) {}

  bool failed() const { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }

  // Sent as JSON null (a "remove" where null means that).
  bool is_null(std::string_view name) const {
    element e;
    return json_ && (*json_)[name].get(e) == simdjson::SUCCESS && e.is_null();
  }

  bool has(std::string_view name) {
    if (param(name)) return true;
    return json_ && (*json_)[name].error() == simdjson::SUCCESS && !(*json_)[name].is_null();
  }

  std::optional<std::int64_t> optional_integer(std::string_view name, std::int64_t min, std::int64_t max) {
    if (failed()) return std::nullopt;
    std::optional<std::int64_t> value;
    auto out_of_range = [&] {
      return fail(ErrorCode::invalid_field, name, "out of range " + std::to_string(min) + ".." + std::to_string(max));
    };
    if (const std::string* text = param(name)) {
      value = parse_decimal(*text);
      if (!value) return is_overlong_decimal(*text) ? out_of_range() : fail(ErrorCode::invalid_field, name, "must be an integer");
    } else if (json_) {
      element e;
      if ((*json_)[name].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
      std::int64_t v = 0;
      std::string_view s;
      if (e.get_int64().get(v) == simdjson::SUCCESS) value = v;
      else if (e.get_string().get(s) == simdjson::SUCCESS && parse_decimal(s)) value = parse_decimal(s);
      else if (is_huge_number(e) || (e.get_string().get(s) == simdjson::SUCCESS && is_overlong_decimal(s))) return out_of_range();
      else return fail(ErrorCode::invalid_field, name, "must be an integer");
    }
    if (value && (*value < min || *value > max)) return out_of_range();
    return value;
  }

  std::optional<bool> optional_bool(std::string_view name) {
    if (failed()) return std::nullopt;
    if (const std::string* text = param(name)) {
      if (*text == "true" || *text == "1") return true;
      if (*text == "false" || *text == "0") return false;
      return fail(ErrorCode::invalid_field, name, "must be true or false");
    }
    if (!json_) return std::nullopt;
    element e;
    if ((*json_)[name].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
    bool value = false;
    if (e.get_bool().get(value) != simdjson::SUCCESS) return fail(ErrorCode::invalid_field, name, "must be true or false");
    return value;
  }

  std::int64_t integer(std::string_view name, std::int64_t min, std::int64_t max) {
    auto v = optional_integer(name, min, max);
    if (!v && !failed()) fail(ErrorCode::missing_field, name, "is required");
    return v.value_or(0);
  }

  std::optional<std::string> optional_text(std::string_view name, std::size_t max_bytes) {
    if (failed()) return std::nullopt;
    std::string value;
    if (const std::string* text = param(name)) {
      // Path and query parameters arrive percent-decoded into arbitrary bytes (JSON strings are
      // checked by the JSON parser): a stored string must be UTF-8, or every frame carrying it
      // later is not valid text.
      if (!simdjson::validate_utf8(text->data(), text->size()))
        return fail(ErrorCode::bad_request, name, "is not valid UTF-8");
      value = *text;
    } else if (json_) {
      element e;
      if ((*json_)[name].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) return fail(ErrorCode::invalid_field, name, "must be a string");
      value.assign(s);
    } else {
      return std::nullopt;
    }
    if (value.size() > max_bytes)
      return fail(ErrorCode::too_large, name, "longer than " + std::to_string(max_bytes) + " bytes");
    // U+0000 ("\u0000") is valid JSON but no text column of PostgreSQL can hold it; refused on
    // every engine alike.
    if (value.find('\0') != std::string::npos) return fail(ErrorCode::invalid_field, name, "must not contain U+0000");
    return value;
  }

  std::string text(std::string_view name, std::size_t max_bytes, bool allow_empty = false) {
    auto v = optional_text(name, max_bytes);
    if (!v && !failed()) fail(ErrorCode::missing_field, name, "is required");
    if (v && v->empty() && !allow_empty && !failed()) fail(ErrorCode::invalid_field, name, "must not be empty");
    return v.value_or(std::string());
  }

  // A JSON array of media ids (each a string, or with `key` an object {key: id}); absent is
  // empty. Ids twice, more than `max_count`, or anything else is refused.
  std::vector<std::string> media_id_list(std::string_view name, std::size_t max_count, const char* key) {
    std::vector<std::string> out;
    if (failed() || !json_) return out;
    element e;
    if ((*json_)[name].get(e) != simdjson::SUCCESS || e.is_null()) return out;
    simdjson::dom::array array;
    if (e.get_array().get(array) != simdjson::SUCCESS) { fail(ErrorCode::invalid_field, name, "must be an array"); return {}; }
    const std::string shape = key ? std::string("objects {\"") + key + "\": media id}" : std::string("media ids");
    for (element item : array) {
      if (out.size() == max_count) {
        fail(ErrorCode::too_large, name, "more than " + std::to_string(max_count) + " entries");
        return {};
      }
      std::string_view id;
      bool is_string = false;
      if (key) {
        object entry;
        element value;
        is_string = item.get_object().get(entry) == simdjson::SUCCESS && entry[key].get(value) == simdjson::SUCCESS &&
                    value.get_string().get(id) == simdjson::SUCCESS;
      } else {
        is_string = item.get_string().get(id) == simdjson::SUCCESS;
      }
      if (!is_string || !is_media_id(id)) {
        fail(ErrorCode::invalid_field, name, "must be an array of " + shape);
        return {};
      }
      if (std::find(out.begin(), out.end(), id) != out.end()) {
        fail(ErrorCode::invalid_field, name, "names media id " + std::string(id) + " twice");
        return {};
      }
      out.emplace_back(id);
    }
    return out;
  }

  // A string member of the JSON object `outer` (e.g. keys.p256dh); nullopt if either is
  // absent. Errors name the field "outer.name".
  std::optional<std::string> optional_nested_text(std::string_view outer, std::string_view name, std::size_t max_bytes) {
    if (failed() || !json_) return std::nullopt;
    element e;
    if ((*json_)[outer].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
    object inner;
    if (e.get_object().get(inner) != simdjson::SUCCESS) return fail(ErrorCode::invalid_field, outer, "must be an object");
    Fields nested(&inner, nullptr);
    auto value = nested.optional_text(name, max_bytes);
    if (nested.failed()) {
      Error error = nested.take_error();
      error.field = std::string(outer) + "." + std::string(name);
      // "'name' ..." as the nested reader wrote it: name the field in full.
      if (error.message.rfind("'" + std::string(name) + "'", 0) == 0)
        error.message.replace(0, name.size() + 2, "'" + error.field + "'");
      error_ = std::move(error);
    }
    return value;
  }

  std::vector<std::int64_t> integer_list(std::string_view name, std::size_t max_count, bool required) {
    std::vector<std::int64_t> out;
    if (failed()) return out;
    if (const std::string* text = param(name)) {  // comma-separated in a query string
      std::string_view rest = *text;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto v = parse_decimal(rest.substr(0, comma));
        if (!v || *v <= 0) { fail(ErrorCode::invalid_field, name, "must be a list of ids"); return {}; }
        out.push_back(*v);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (json_) {
      element e;
      if ((*json_)[name].get(e) != simdjson::SUCCESS || e.is_null()) {
        if (required) fail(ErrorCode::missing_field, name, "is required");
        return out;
      }
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) { fail(ErrorCode::invalid_field, name, "must be an array"); return {}; }
      for (element item : array) {
        std::int64_t v = 0;
        std::string_view text;
        if (item.get_string().get(text) == simdjson::SUCCESS) v = parse_decimal(text).value_or(0);
        else if (item.get_int64().get(v) != simdjson::SUCCESS) v = 0;
        if (v <= 0) {
          fail(ErrorCode::invalid_field, name, "must be an array of positive integer ids");
          return {};
        }
        out.push_back(v);
        if (out.size() > max_count) {
          fail(ErrorCode::too_large, name, "more than " + std::to_string(max_count) + " entries");
          return {};
        }
      }
    } else if (required) {
      fail(ErrorCode::missing_field, name, "is required");
    }
    if (out.size() > max_count) fail(ErrorCode::too_large, name, "more than " + std::to_string(max_count) + " entries");
    return out;
  }

 private:
  const std::string* param(std::string_view name) const {
    if (!params_) return nullptr;
    for (const auto& [key, value] : *params_)
      if (key == name) return &value;
    return nullptr;
  }

  std::nullopt_t fail(ErrorCode code, std::string_view field, const std::string& what) {
    if (!error_) error_ = field_error(code, std::string(field), "'" + std::string(field) + "' " + what);
    return std::nullopt;
  }

  const object* json_;
  const Params* params_;
  std::optional<Error> error_;
};

// media.upload: a MIME type is short; a file name is cut to 255 bytes by the server, but a
// longer one as sent is not an error (browsers allow longer names).
constexpr std::size_t kMaxContentTypeBytes = 255;
constexpr std::size_t kMaxFileNameInputBytes = 1024;

// "type/subtype" of RFC 6838 restricted-name characters (parameters such as "; charset=" are
// not accepted: the type is only a claim to check against the bytes).
bool is_media_type(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == slash) continue;
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// Ceiling of every id, seq and cursor a client sends: 2^53 - 1, the largest integer a
// JavaScript number holds exactly. The server never assigns more, and arithmetic such as
// `after_seq + 1` on a value from the client can never overflow.
constexpr std::int64_t kMaxId = kMaxClientInteger;

// Commands that take one of two alternative fields: neither is missing_field, both is
// invalid_field.
std::optional<Error> exactly_one(bool first, bool second, const char* first_name, const char* second_name) {
  if (first && second)
    return make_error(ErrorCode::invalid_field, std::string("give only one of '") + first_name + "' and '" + second_name + "'");
  if (!first && !second)
    return make_error(ErrorCode::missing_field, std::string("one of '") + first_name + "' or '" + second_name + "' is required");
  return std::nullopt;
}

template <typename T>
Result<Command> finish(Fields& f, T command) {
  if (f.failed()) return f.take_error();
  return Command(std::move(command));
}

Result<Command> parse_command_fields(std::string_view type, Fields& f, const ParseLimits& limits) {
  if (type == "hello") {
    HelloCmd c;
    c.token = f.optional_text("token", 8192).value_or("");
    c.protocol = static_cast<int>(f.optional_integer("protocol", 1, 1).value_or(1));
    c.device = f.optional_text("device", 128).value_or("");
    return finish(f, std::move(c));
  }
  if (type == "ping") return finish(f, PingCmd{});
  if (type == "send") {
    SendCmd c;
    c.conversation_id = f.optional_integer("conversation_id", 1, kMaxId).value_or(0);
    c.to_user_id = f.optional_integer("to_user_id", 1, kMaxId).value_or(0);
    c.client_msg_id = f.text("client_msg_id", limits.max_client_msg_id_bytes);
    if (f.has("attachments")) {
      c.attachments = f.media_id_list("attachments", static_cast<std::size_t>(limits.max_attachments), "media_id");
      if (!f.failed() && c.attachments.empty())
        return field_error(ErrorCode::invalid_field, "attachments", "'attachments' must not be empty");
    }
    // A caption is optional: a message of attachments may have no text.
    c.text = c.attachments.empty() ? f.text("text", limits.max_text_bytes)
                                   : f.optional_text("text", limits.max_text_bytes).value_or("");
    c.reply_to_seq = f.optional_integer("reply_to_seq", 1, kMaxId).value_or(0);
    c.thread_root_seq = f.optional_integer("thread_root_seq", 1, kMaxId).value_or(0);
    if (!f.failed())
      if (auto e = exactly_one(c.conversation_id != 0, c.to_user_id != 0, "conversation_id", "to_user_id")) return *e;
    return finish(f, std::move(c));
  }
  if (type == "history") {
    HistoryCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.before_seq = f.optional_integer("before_seq", 1, kMaxId);
    c.after_seq = f.optional_integer("after_seq", 0, kMaxId);
    c.limit = static_cast<int>(f.optional_integer("limit", 1, limits.max_history_page).value_or(std::min(50, limits.max_history_page)));
    if (!f.failed() && c.before_seq && c.after_seq)
      return make_error(ErrorCode::invalid_field, "give at most one of 'before_seq' and 'after_seq'");
    return finish(f, std::move(c));
  }
  if (type == "sync") {
    SyncCmd c;
    c.cursor = f.integer("cursor", 0, kMaxId);
    c.limit = static_cast<int>(f.optional_integer("limit", 1, limits.max_sync_page).value_or(std::min(100, limits.max_sync_page)));
    return finish(f, std::move(c));
  }
  if (type == "conversations.list") return finish(f, ConversationsListCmd{});
  if (type == "conversation.get") {
    return finish(f, ConversationGetCmd{f.integer("conversation_id", 1, kMaxId)});
  }
  if (type == "direct.open") {
    DirectOpenCmd c;
    c.user_id = f.optional_integer("user_id", 1, kMaxId).value_or(0);
    c.username = f.optional_text("username", limits.max_username_bytes).value_or("");
    if (!f.failed())
      if (auto e = exactly_one(c.user_id != 0, !c.username.empty(), "user_id", "username")) return *e;
    return finish(f, std::move(c));
  }
  if (type == "group.create") {
    GroupCreateCmd c;
    c.title = f.text("title", limits.max_title_bytes);
    c.member_ids = f.integer_list("member_ids", limits.max_members_per_request, false);
    return finish(f, std::move(c));
  }
  if (type == "channel.create") {
    ChannelCreateCmd c;
    c.title = f.text("title", limits.max_title_bytes);
    c.topic = f.optional_text("topic", 1024).value_or("");
    return finish(f, std::move(c));
  }
  if (type == "channel.list") {
    ChannelListCmd c;
    c.query = f.optional_text("query", limits.max_title_bytes).value_or("");
    c.after_id = f.optional_integer("after_id", 0, kMaxId).value_or(0);
    c.limit = static_cast<int>(f.optional_integer("limit", 1, 100).value_or(50));
    return finish(f, std::move(c));
  }
  if (type == "channel.join") return finish(f, ChannelJoinCmd{f.integer("conversation_id", 1, kMaxId)});
  if (type == "conversation.rename") {
    RenameCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.title = f.text("title", limits.max_title_bytes);
    return finish(f, std::move(c));
  }
  if (type == "members.add") {
    MembersAddCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.user_ids = f.integer_list("user_ids", limits.max_members_per_request, true);
    if (!f.failed() && c.user_ids.empty()) return make_error(ErrorCode::invalid_field, "'user_ids' must not be empty");
    return finish(f, std::move(c));
  }
  if (type == "members.remove") {
    MemberRemoveCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.user_id = f.integer("user_id", 1, kMaxId);
    return finish(f, std::move(c));
  }
  if (type == "members.set_role") {
    MemberSetRoleCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.user_id = f.integer("user_id", 1, kMaxId);
    std::string role = f.text("role", 16);
    if (f.failed()) return f.take_error();
    auto parsed = role_from_name(role);
    if (!parsed || *parsed == Role::owner)
      return make_error(ErrorCode::invalid_field, "'role' must be \"admin\" or \"member\"");
    c.role = *parsed;
    return finish(f, std::move(c));
  }
  if (type == "conversation.leave") return finish(f, LeaveCmd{f.integer("conversation_id", 1, kMaxId)});
  if (type == "members.list") {
    MembersListCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.after_user_id = f.optional_integer("after_user_id", 0, kMaxId).value_or(0);
    c.limit = static_cast<int>(f.optional_integer("limit", 1, 1000).value_or(100));
    return finish(f, std::move(c));
  }
  if (type == "user.get") {
    UserGetCmd c;
    c.user_id = f.optional_integer("user_id", 1, kMaxId).value_or(0);
    c.username = f.optional_text("username", limits.max_username_bytes).value_or("");
    if (!f.failed())
      if (auto e = exactly_one(c.user_id != 0, !c.username.empty(), "user_id", "username")) return *e;
    return finish(f, std::move(c));
  }
  auto message_ref = [&]() { return MessageRef{f.integer("conversation_id", 1, kMaxId), f.integer("seq", 1, kMaxId)}; };
  if (type == "receipt") {
    ReceiptCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.delivered_seq = f.optional_integer("delivered_seq", 1, kMaxId).value_or(0);
    c.read_seq = f.optional_integer("read_seq", 1, kMaxId).value_or(0);
    if (!f.failed() && c.delivered_seq == 0 && c.read_seq == 0)
      return make_error(ErrorCode::missing_field, "one of 'delivered_seq' or 'read_seq' is required");
    return finish(f, std::move(c));
  }
  if (type == "receipts.get") {
    ReceiptsGetCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.seq = f.integer("seq", 1, kMaxId);
    return finish(f, std::move(c));
  }
  if (type == "typing") {
    TypingCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    const std::string state = f.optional_text("state", 8).value_or("start");
    if (!f.failed() && state != "start" && state != "stop")
      return make_error(ErrorCode::invalid_field, "'state' must be \"start\" or \"stop\"");
    c.typing = state == "start";
    return finish(f, std::move(c));
  }
  if (type == "presence.set") {
    const std::string status = f.text("status", 16);
    if (!f.failed() && status != "online" && status != "away")
      return make_error(ErrorCode::invalid_field, "'status' must be \"online\" or \"away\"");
    return finish(f, PresenceSetCmd{status == "away"});
  }
  if (type == "presence.get") {
    PresenceGetCmd c;
    c.user_ids = f.integer_list("user_ids", static_cast<std::size_t>(limits.max_members_per_request), true);
    return finish(f, std::move(c));
  }
  if (type == "settings.update") {
    SettingsUpdateCmd c;
    c.read_receipts = f.optional_bool("read_receipts");
    c.last_seen = f.optional_bool("last_seen");
    c.discoverable = f.optional_bool("discoverable");
    return finish(f, std::move(c));
  }
  if (type == "conversation.settings") {
    ConversationSettingsCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.muted_until = f.optional_integer("muted_until", -1, kMaxId);
    c.archived = f.optional_bool("archived");
    c.pinned = f.optional_bool("pinned");
    c.marked_unread = f.optional_bool("marked_unread");
    c.cleared_seq = f.optional_integer("cleared_seq", 0, kMaxId);
    if (auto notify = f.optional_text("notify", 16)) {
      const auto* at = std::find(std::begin(kNotifyLevelNames), std::end(kNotifyLevelNames), *notify);
      if (at == std::end(kNotifyLevelNames))
        return field_error(ErrorCode::invalid_field, "notify", "'notify' must be default, all, mentions or none");
      c.notify = static_cast<int>(at - std::begin(kNotifyLevelNames));
    }
    return finish(f, std::move(c));
  }
  if (type == "message.hide") {
    MessageHideCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    const auto seq = f.optional_integer("seq", 1, kMaxId);
    c.several = f.has("seqs");
    const auto list = f.integer_list("seqs", static_cast<std::size_t>(limits.max_hide_batch), false);
    if (f.failed()) return f.take_error();
    if (auto e = exactly_one(seq.has_value(), c.several, "seq", "seqs")) return *e;
    if (c.several && list.empty()) return field_error(ErrorCode::invalid_field, "seqs", "'seqs' must not be empty");
    for (std::int64_t s : list)
      if (s > kMaxId) return field_error(ErrorCode::invalid_field, "seqs", "'seqs' entries out of range 1.." + std::to_string(kMaxId));
    c.seqs = c.several ? std::vector<Seq>(list.begin(), list.end()) : std::vector<Seq>{*seq};
    std::sort(c.seqs.begin(), c.seqs.end());
    c.seqs.erase(std::unique(c.seqs.begin(), c.seqs.end()), c.seqs.end());
    return Command(std::move(c));
  }
  if (type == "message.edit") {
    MessageEditCmd c;
    c.message = message_ref();
    c.text = f.text("text", limits.max_text_bytes);
    return finish(f, std::move(c));
  }
  if (type == "message.delete") return finish(f, MessageDeleteCmd{message_ref()});
  if (type == "message.edits") return finish(f, MessageEditsCmd{message_ref()});
  if (type == "reaction.add" || type == "reaction.remove") {
    ReactionCmd c;
    c.message = message_ref();
    c.emoji = f.text("emoji", 32);
    c.add = type == "reaction.add";
    return finish(f, std::move(c));
  }
  if (type == "reactions.get") return finish(f, ReactionsGetCmd{message_ref()});
  if (type == "pin.add" || type == "pin.remove") return finish(f, PinCmd{message_ref(), type == "pin.add"});
  if (type == "pins.list") return finish(f, PinsListCmd{f.integer("conversation_id", 1, kMaxId)});
  if (type == "thread.history") {
    ThreadHistoryCmd c;
    c.conversation_id = f.integer("conversation_id", 1, kMaxId);
    c.root_seq = f.integer("root_seq", 1, kMaxId);
    c.before_seq = f.optional_integer("before_seq", 1, kMaxId);
    c.after_seq = f.optional_integer("after_seq", 0, kMaxId);
    c.limit = static_cast<int>(f.optional_integer("limit", 1, limits.max_history_page).value_or(std::min(50, limits.max_history_page)));
    if (!f.failed() && c.before_seq && c.after_seq)
      return make_error(ErrorCode::invalid_field, "give at most one of 'before_seq' and 'after_seq'");
    return finish(f, std::move(c));
  }
  if (type == "users.search") {
    UsersSearchCmd c;
    c.query = f.text("q", static_cast<std::size_t>(limits.max_display_name_bytes));
    c.cursor = f.optional_text("cursor", 1024).value_or("");
    c.limit = static_cast<int>(f.optional_integer("limit", 1, limits.max_search_results)
                                   .value_or(std::min(limits.default_search_results, limits.max_search_results)));
    return finish(f, std::move(c));
  }
  if (type == "users.get") {
    UsersGetCmd c;
    c.user_ids = f.integer_list("user_ids", static_cast<std::size_t>(limits.max_members_per_request), true);
    return finish(f, std::move(c));
  }
  if (type == "auth.register") {
    RegisterCmd c;
    c.username = f.text("username", limits.max_username_bytes);
    c.password = f.text("password", kMaxPasswordBytes);
    c.display_name = f.optional_text("display_name", kMaxDisplayNameInputBytes).value_or("");
    c.invite = f.optional_text("invite", 64).value_or("");
    c.device = f.optional_text("device", 128).value_or("");
    return finish(f, std::move(c));
  }
  if (type == "auth.login") {
    LoginCmd c;
    c.username = f.text("username", limits.max_username_bytes);
    c.password = f.text("password", kMaxPasswordBytes);
    c.device = f.optional_text("device", 128).value_or("");
    return finish(f, std::move(c));
  }
  if (type == "auth.password_check") {
    PasswordCheckCmd c;
    c.password = f.text("password", kMaxPasswordBytes, true);
    c.username = f.optional_text("username", limits.max_username_bytes).value_or("");
    c.display_name = f.optional_text("display_name", kMaxDisplayNameInputBytes).value_or("");
    return finish(f, std::move(c));
  }
  if (type == "account.sessions") return finish(f, AccountSessionsCmd{});
  if (type == "account.revoke_session") return finish(f, AccountRevokeSessionCmd{f.text("token_id", 128)});
  if (type == "account.logout_all") return finish(f, AccountLogoutAllCmd{f.optional_bool("keep_current").value_or(true)});
  if (type == "account.change_password") {
    AccountChangePasswordCmd c;
    c.current_password = f.text("current_password", kMaxPasswordBytes);
    c.new_password = f.text("new_password", kMaxPasswordBytes);
    return finish(f, std::move(c));
  }
  if (type == "account.update_profile")
    return finish(f, AccountUpdateProfileCmd{f.text("display_name", kMaxDisplayNameInputBytes, true)});
  if (type == "media.upload") {
    MediaUploadCmd c;
    c.size = f.integer("size", 0, kMaxId);
    c.content_type = f.text("content_type", kMaxContentTypeBytes);
    c.file_name = f.text("file_name", kMaxFileNameInputBytes);
    c.sha256 = f.optional_text("sha256", 64).value_or("");
    if (f.failed()) return f.take_error();
    for (auto& ch : c.content_type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!is_media_type(c.content_type))
      return field_error(ErrorCode::invalid_field, "content_type", "'content_type' must be a media type such as image/png");
    for (auto& ch : c.sha256) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!c.sha256.empty() && (c.sha256.size() != 64 || c.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
      return field_error(ErrorCode::invalid_field, "sha256", "'sha256' must be 64 hexadecimal digits");
    return finish(f, std::move(c));
  }
  if (type == "media.complete") {
    MediaCompleteCmd c;
    c.media_id = f.text("media_id", 64);
    if (f.failed()) return f.take_error();
    if (!is_media_id(c.media_id)) return field_error(ErrorCode::invalid_field, "media_id", "'media_id' is not a media id");
    return finish(f, std::move(c));
  }
  if (type == "media.urls") {
    MediaUrlsCmd c;
    if (!f.has("media_ids")) return field_error(ErrorCode::missing_field, "media_ids", "'media_ids' is required");
    c.media_ids = f.media_id_list("media_ids", static_cast<std::size_t>(limits.max_media_urls), nullptr);
    if (!f.failed() && c.media_ids.empty())
      return field_error(ErrorCode::invalid_field, "media_ids", "'media_ids' must not be empty");
    return finish(f, std::move(c));
  }
  if (type == "push.subscribe") {
    PushSubscribeCmd c;
    c.kind = f.text("kind", 16);
    const std::size_t max_endpoint = static_cast<std::size_t>(limits.max_push_endpoint_bytes);
    const bool by_token = c.kind == "fcm" || c.kind == "apns";
    if (!f.failed() && !by_token && c.kind != "webpush" && c.kind != "webhook")
      return field_error(ErrorCode::invalid_field, "kind", "'kind' must be webpush, fcm, apns or webhook");
    c.endpoint = f.text(by_token ? "token" : "endpoint", max_endpoint);
    c.p256dh = f.optional_nested_text("keys", "p256dh", 256).value_or("");
    c.auth = f.optional_nested_text("keys", "auth", 64).value_or("");
    if (c.kind == "apns") {
      c.topic = f.optional_text("topic", 255).value_or("");
      c.environment = f.optional_text("environment", 16).value_or("production");
      if (!f.failed() && c.environment != "production" && c.environment != "sandbox")
        return field_error(ErrorCode::invalid_field, "environment", "'environment' must be production or sandbox");
    }
    return finish(f, std::move(c));
  }
  if (type == "push.subscriptions") return finish(f, PushSubscriptionsCmd{});
  if (type == "account.notifications") {
    AccountNotificationsCmd c;
    c.dnd_until = f.optional_integer("dnd_until", -1, kMaxId);
    if (f.is_null("schedule")) {
      c.schedule_given = true;
    } else if (f.has("schedule")) {
      c.schedule_given = true;
      // The zone is checked against the time zone database by the op (chat/notification_settings.cpp).
      auto timezone = f.optional_nested_text("schedule", "timezone", 64);
      auto start = f.optional_nested_text("schedule", "start", 8);
      auto end = f.optional_nested_text("schedule", "end", 8);
      if (f.failed()) return f.take_error();
      for (auto [value, name] : {std::pair{&timezone, "schedule.timezone"}, {&start, "schedule.start"}, {&end, "schedule.end"}})
        if (!*value) return field_error(ErrorCode::missing_field, name, std::string("'") + name + "' is required");
      auto minutes = [](const std::string& hhmm) -> std::optional<int> {
        if (hhmm.size() != 5 || hhmm[2] != ':') return std::nullopt;
        for (int i : {0, 1, 3, 4})
          if (hhmm[i] < '0' || hhmm[i] > '9') return std::nullopt;
        const int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0'), m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
        if (h > 23 || m > 59) return std::nullopt;
        return h * 60 + m;
      };
      const auto start_min = minutes(*start), end_min = minutes(*end);
      if (!start_min) return field_error(ErrorCode::invalid_field, "schedule.start", "'schedule.start' must be HH:MM, 00:00 to 23:59");
      if (!end_min) return field_error(ErrorCode::invalid_field, "schedule.end", "'schedule.end' must be HH:MM, 00:00 to 23:59");
      if (*start_min == *end_min)
        return field_error(ErrorCode::invalid_field, "schedule.end", "'schedule.end' must differ from 'schedule.start'");
      if (timezone->empty())
        return field_error(ErrorCode::invalid_field, "schedule.timezone", "'schedule.timezone' must not be empty");
      c.timezone = std::move(*timezone);
      c.quiet_start_min = *start_min;
      c.quiet_end_min = *end_min;
    }
    return finish(f, std::move(c));
  }
  if (type == "push.unsubscribe") return finish(f, PushUnsubscribeCmd{f.integer("subscription_id", 1, kMaxId)});
  return make_error(ErrorCode::unknown_type, "unknown command type '" + utf8_prefix(type, 64) + "'");
}

Error json_error(simdjson::error_code code) {
  switch (code) {
    case simdjson::DEPTH_ERROR: return make_error(ErrorCode::bad_request, "JSON nested too deeply");
    case simdjson::UTF8_ERROR: return make_error(ErrorCode::bad_request, "invalid UTF-8");
    case simdjson::CAPACITY: return make_error(ErrorCode::too_large, "JSON document too large");
    default: return make_error(ErrorCode::bad_request, std::string("malformed JSON: ") + simdjson::error_message(code));
  }
}

// Copies `json` with every number that no 64-bit field can hold (an integer beyond the int64 /
// uint64 range, a float beyond double's) replaced by +-1e300, a double every integer field
// reports as out of range. simdjson refuses the whole document over one such number, which
// would turn a valid frame into "malformed JSON" and lose its request id. Strings are copied
// untouched. Returns nullopt if nothing was replaced (the document is malformed for another
// reason). Runs only after a number error, never on the normal path.
std::optional<std::string> replace_huge_numbers(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  bool replaced = false;
  std::size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {  // copy a string, escapes included
      const std::size_t start = i++;
      while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
      i = std::min(i + 1, json.size());
      out.append(json.substr(start, i - start));
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = i++;
      while (i < json.size() && (std::isdigit(static_cast<unsigned char>(json[i])) || json[i] == '.' || json[i] == 'e' ||
                                 json[i] == 'E' || json[i] == '+' || json[i] == '-'))
        ++i;
      const std::string_view number = json.substr(start, i - start);
      const bool negative = number.front() == '-';
      bool huge = false;
      if (number.find_first_of(".eE") == std::string_view::npos) {
        if (negative) {
          std::int64_t v = 0;
          huge = std::from_chars(number.data(), number.data() + number.size(), v).ec == std::errc::result_out_of_range;
        } else {
          std::uint64_t v = 0;
          huge = std::from_chars(number.data(), number.data() + number.size(), v).ec == std::errc::result_out_of_range;
        }
      } else {
        double v = 0;
        huge = std::from_chars(number.data(), number.data() + number.size(), v).ec == std::errc::result_out_of_range;
      }
      if (huge) {
        out.append(negative ? "-1e300" : "1e300");
        replaced = true;
      } else {
        out.append(number);
      }
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!replaced) return std::nullopt;
  return out;
}

// Nesting depth of `e`: 0 for a scalar, 1 + the deepest child for an array or object. Stops
// counting past `limit`.
int nesting_depth(const element& e, int limit) {
  if (limit < 0) return 1;
  int deepest = 0;
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (e.get_array().get(array) == simdjson::SUCCESS) {
    for (element child : array) deepest = std::max(deepest, nesting_depth(child, limit - 1));
  } else if (e.get_object().get(object) == simdjson::SUCCESS) {
    for (auto field : object) deepest = std::max(deepest, nesting_depth(field.value, limit - 1));
  } else {
    return 0;
  }
  return deepest + 1;
}

}  // namespace

struct FrameParser::Impl {
  ParseLimits limits;
  simdjson::dom::parser parser;
  std::string rewritten;  // a document with huge numbers replaced (replace_huge_numbers)
  explicit Impl(const ParseLimits& l) : limits(l), parser(static_cast<std::size_t>(l.max_frame_bytes)) {
    // Pre-size to the frame limit so parsing never allocates. simdjson counts a scalar inside
    // the deepest container as one more level, so it gets one level of slack; the exact limit
    // (containers only) is checked by nesting_depth.
    if (parser.allocate(static_cast<std::size_t>(l.max_frame_bytes) + 64, static_cast<std::size_t>(l.max_json_depth) + 1) !=
        simdjson::SUCCESS)
      throw std::bad_alloc();
  }

  // Parses a document that is followed by kParsePadding readable bytes.
  Result<element> parse(std::string_view json) {
    element doc;
    auto error = parser.parse(json.data(), json.size(), false).get(doc);
    if (error == simdjson::NUMBER_ERROR) {
      if (auto copy = replace_huge_numbers(json)) {
        rewritten = std::move(*copy);
        rewritten.reserve(rewritten.size() + kParsePadding);
        error = parser.parse(rewritten.data(), rewritten.size(), false).get(doc);
      }
    }
    if (error != simdjson::SUCCESS) return json_error(error);
    // A cheap walk: it visits JSON values, not bytes (a frame has a handful).
    if (nesting_depth(doc, limits.max_json_depth) > limits.max_json_depth)
      return make_error(ErrorCode::bad_request, "JSON nested too deeply");
    return doc;
  }
};

FrameParser::FrameParser(const ParseLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}
FrameParser::~FrameParser() = default;

Result<Command> FrameParser::parse_frame(std::string_view json, std::string& request_id) {
  request_id.clear();
  if (json.size() > static_cast<std::size_t>(impl_->limits.max_frame_bytes))
    return make_error(ErrorCode::too_large, "frame larger than limits.max_frame_bytes");
  auto parsed = impl_->parse(json);
  if (!parsed) return parsed.take_error();
  object obj;
  if (parsed->get_object().get(obj) != simdjson::SUCCESS)
    return make_error(ErrorCode::bad_request, "a frame must be a JSON object");

  element id;
  if (obj["id"].get(id) == simdjson::SUCCESS && !id.is_null()) {
    std::string_view s;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    if (id.get_string().get(s) == simdjson::SUCCESS && s.size() <= 64) {
      JsonWriter::append_escaped(request_id, s);
    } else if (id.get_int64().get(i) == simdjson::SUCCESS) {
      request_id = std::to_string(i);
    } else if (id.get_uint64().get(u) == simdjson::SUCCESS) {
      request_id = std::to_string(u);
    } else {
      return make_error(ErrorCode::invalid_field, "'id' must be a string of at most 64 bytes or an integer");
    }
  }
  std::string_view type;
  element type_element;
  if (obj["type"].get(type_element) != simdjson::SUCCESS)
    return make_error(ErrorCode::missing_field, "'type' is required");
  if (type_element.get_string().get(type) != simdjson::SUCCESS)
    return make_error(ErrorCode::invalid_field, "'type' must be a string");
  // Accounts are created and signed into over REST only; over the WebSocket these names are
  // not commands.
  if (type == "auth.register" || type == "auth.login" || type == "auth.password_check")
    return make_error(ErrorCode::unknown_type, "register and log in over REST: POST /v1/auth/register, /v1/auth/login");
  Fields fields(&obj, nullptr);
  return parse_command_fields(type, fields, impl_->limits);
}

Result<Command> FrameParser::parse_rest(std::string_view type, std::string_view body, const Params& params) {
  object obj;
  const object* json = nullptr;
  simdjson::padded_string padded;
  std::size_t start = body.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos) {
    if (body.size() > static_cast<std::size_t>(impl_->limits.max_frame_bytes))
      return make_error(ErrorCode::too_large, "request body larger than limits.max_frame_bytes");
    padded = simdjson::padded_string(body);
    auto parsed = impl_->parse(std::string_view(padded.data(), padded.size()));
    if (!parsed) return parsed.take_error();
    if (parsed->get_object().get(obj) != simdjson::SUCCESS)
      return make_error(ErrorCode::bad_request, "the request body must be a JSON object");
    json = &obj;
  }
  Fields fields(json, &params);
  return parse_command_fields(type, fields, impl_->limits);
}

bool is_valid_username(std::string_view name, int max_bytes) {
  if (name.size() < 3 || name.size() > static_cast<std::size_t>(max_bytes)) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (i == 0 ? !alnum : !(alnum || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

const char* command_name(const Command& command) {
  static constexpr const char* kNames[] = {
      "hello", "ping", "send", "history", "sync", "conversations.list", "conversation.get", "direct.open",
      "group.create", "channel.create", "channel.list", "channel.join", "conversation.rename", "members.add",
      "members.remove", "members.set_role", "conversation.leave", "members.list", "user.get",
      "auth.register", "auth.login", "receipt", "receipts.get", "typing", "presence.set", "presence.get",
      "settings.update", "message.edit", "message.delete", "message.edits", "reaction", "reactions.get", "pin",
      "pins.list", "thread.history", "users.get", "auth.password_check", "account.sessions",
      "account.revoke_session", "account.logout_all", "account.change_password", "conversation.settings", "users.search",
      "account.update_profile", "message.hide", "media.upload", "media.complete", "media.urls", "push.subscribe",
      "push.subscriptions", "push.unsubscribe", "account.notifications"};
  static_assert(std::size(kNames) == std::variant_size_v<Command>);
  return kNames[command.index()];
}

}  // namespace parley::protocol
