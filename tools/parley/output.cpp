#include "output.hpp"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace parley::cli {

void print_line(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void print_note(std::string_view line) {
  std::fprintf(stderr, "parley: %.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(stderr);
}

void print_reply_json(const JsonDoc& reply) { print_line(json_without(reply.root(), {"type", "id"})); }

namespace {

std::string local_time(std::int64_t ms, const char* format) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  localtime_r(&seconds, &parts);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, format, &parts);
  return std::string(buffer, n);
}

std::string name_list(simdjson::dom::array ids, UserNames& names) {
  std::string out;
  for (JsonElement id : ids) {
    std::int64_t user_id = 0;
    if (id.get_int64().get(user_id) != simdjson::SUCCESS) continue;
    if (!out.empty()) out += ", ";
    out += names.name_of(user_id);
  }
  return out;
}

// The readable part of an event after the sender: ": text" or " added bob, carol".
std::string event_action(JsonElement event, std::string_view kind, UserNames& names) {
  if (kind == "conversation.created") return " created the conversation " + json_quote(json_string(event, "title"));
  if (kind == "conversation.renamed") return " renamed the conversation to " + json_quote(json_string(event, "title"));
  if (kind == "member.added") return " added " + name_list(json_array(event, "user_ids"), names);
  if (kind == "member.removed") return " removed " + names.name_of(json_int(event, "user_id"));
  if (kind == "member.left") return " left";
  if (kind == "member.joined") return " joined";
  const std::string target = "[" + std::to_string(json_int(event, "target_seq")) + "]";
  if (kind == "message.edited")
    return json_has(event, "text") ? " edited " + target + ": " + json_string(event, "text") : " edited " + target;
  if (kind == "message.deleted") return " deleted " + target;
  if (kind == "reaction.added") return " reacted " + json_string(event, "emoji") + " to " + target;
  if (kind == "reaction.removed") return " took back " + json_string(event, "emoji") + " from " + target;
  if (kind == "message.pinned") return " pinned " + target;
  if (kind == "message.unpinned") return " unpinned " + target;
  if (kind == "member.role_changed") {
    const std::string role = json_string(event, "role");
    const std::string target = names.name_of(json_int(event, "user_id"));
    if (role == "owner") return " passed ownership to " + target;
    return " made " + target + " " + (role == "admin" ? "an admin" : "a " + role);
  }
  return " (" + std::string(kind) + ")";
}

}  // namespace

std::string clock_time(std::int64_t ms) { return local_time(ms, "%H:%M:%S"); }
std::string date_time(std::int64_t ms) { return local_time(ms, "%Y-%m-%d %H:%M:%S"); }

std::string human_size(std::int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} {}", bytes, bytes == 1 ? "byte" : "bytes");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string describe_file(std::string_view file_name, std::int64_t size, std::string_view content_type,
                          std::int64_t width, std::int64_t height, std::string_view media_id) {
  std::string line = fmt::format("{}, {}, {}", file_name, human_size(size), content_type);
  if (width > 0) line += fmt::format(", {}x{}", width, height);
  return line + fmt::format(", media {}", media_id);
}

std::string message_body(JsonElement event) {
  if (json_bool(event, "hidden")) return "(hidden)";  // you deleted it for yourself (parley hide)
  if (json_bool(event, "deleted")) return "(deleted)";
  std::string body = json_string(event, "text");
  if (json_bool(event, "edited")) body += " (edited)";
  return body;
}

std::string message_and_file_names(JsonElement event) {
  std::string body = message_body(event);
  for (JsonElement file : json_array(event, "attachments"))
    body += (body.empty() ? "[file " : " [file ") + json_string(file, "file_name") + "]";
  return body;
}

std::string describe_event(JsonElement event, UserNames& names) {
  const std::string kind = json_string(event, "kind");
  std::string line = "[" + std::to_string(json_int(event, "seq")) + "] " + clock_time(json_int(event, "ts")) + " ";
  const std::string& sender = names.name_of(json_int(event, "sender_id"));
  if (kind != "text") return line + "* " + sender + event_action(event, kind, names);
  line += sender;
  if (const std::int64_t root = json_int(event, "thread_root")) line += " (in thread [" + std::to_string(root) + "])";
  if (const std::int64_t quoted = json_int(event, "reply_to")) line += " (reply to [" + std::to_string(quoted) + "])";
  line += ": " + message_body(event);
  for (JsonElement file : json_array(event, "attachments")) {
    line += (line.back() == ' ' ? "[file " : "  [file ");
    line += describe_file(json_string(file, "file_name"), json_int(file, "size"), json_string(file, "content_type"),
                          json_int(file, "width"), json_int(file, "height"), json_string(file, "id"));
    line += "]";
  }
  // Reads add the message's current reactions and thread summary (docs/protocol.md 3.1).
  std::string reactions;
  for (JsonElement r : json_array(event, "reactions"))
    reactions += (reactions.empty() ? "" : ", ") + json_string(r, "emoji") + " " + std::to_string(json_int(r, "count"));
  if (!reactions.empty()) line += "  [" + reactions + "]";
  bool has_thread = false;
  const JsonElement thread = json_object(event, "thread", has_thread);
  if (has_thread) {
    const std::int64_t replies = json_int(thread, "reply_count");
    line += fmt::format("  [{} {}]", replies, replies == 1 ? "reply" : "replies");
  }
  return line;
}

std::string preview(std::string_view text, std::size_t max_chars) {
  std::size_t total = 0;
  for (char c : text) total += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  const std::size_t keep = total <= max_chars ? total : (max_chars > 0 ? max_chars - 1 : 0);
  std::string out;
  std::size_t chars = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++chars > keep) break;  // at a character start
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  return total <= max_chars ? out : out + "…";
}

std::string conversation_label(JsonElement conversation) {
  bool has_peer = false;
  const JsonElement peer = json_object(conversation, "peer", has_peer);
  if (json_string(conversation, "kind") == "direct" && has_peer) return "@" + json_string(peer, "username");
  return json_string(conversation, "title");
}

namespace {

// Characters, not bytes, so that names and previews in UTF-8 line up (wide characters such as
// emoji still take two columns on most terminals; close enough).
std::size_t width_of(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

void Table::print() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width_of(row[i]));
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - width_of(row[i]) + 2, ' ');
    }
    print_line(line);
  }
}

}  // namespace parley::cli
