// Output formatting: human-readable lines and tables, and --json lines. Everything goes to
// stdout and is flushed per line, so a pipe sees a stream (`parley tail`) as it happens.
// Diagnostics go to stderr (print_note).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_doc.hpp"
#include "users.hpp"

namespace parley::cli {

void print_line(std::string_view line);
// A note for the human on stderr ("parley: ..."), never part of the result.
void print_note(std::string_view line);
// --json output of a reply frame: the frame without "type" and "id" (the REST body shape).
void print_reply_json(const JsonDoc& reply);

// Local time of a millisecond timestamp: "HH:MM:SS" / "YYYY-MM-DD HH:MM:SS".
std::string clock_time(std::int64_t ms);
std::string date_time(std::int64_t ms);

// "[seq] HH:MM:SS alice: text"; membership and message-state events read
// "[seq] HH:MM:SS * alice added bob", "... * bob reacted 👍 to [3]". Replies and thread posts
// say so ("alice (reply to [3]): ..."); reads also show edits, tombstones, reactions, threads.
// Attachments follow the text, each as "  [file NAME, SIZE, TYPE, WxH, media ID]".
std::string describe_event(JsonElement event, UserNames& names);
// "1.5 MiB", "820 bytes".
std::string human_size(std::int64_t bytes);
// A file: "IMG_0042.jpg, 47.1 KiB, image/jpeg, 1024x768, media Xq3vB0sQ9kz1Hh7wL2pA_g" (the size in
// pixels only when known: width 0 leaves it out).
std::string describe_file(std::string_view file_name, std::int64_t size, std::string_view content_type,
                          std::int64_t width, std::int64_t height, std::string_view media_id);
// A message's text as shown: its text, "text (edited)", "(deleted)", or "(hidden)" (you hid it).
std::string message_body(JsonElement event);
// message_body and the names of its files, short: "look [file a.jpg] [file b.pdf]" (lists).
std::string message_and_file_names(JsonElement event);
// `text` on one line (line breaks become spaces), cut to `max_chars` characters with "…".
std::string preview(std::string_view text, std::size_t max_chars);
// A conversation's title, or "@peer" for a direct conversation.
std::string conversation_label(JsonElement conversation);

// Columns padded to their widest cell, two spaces apart; the first row is the header.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace parley::cli
