// JsonDoc: one parsed JSON document (simdjson DOM) that owns its parser, so elements stay valid
// as long as the JsonDoc lives. Plus lenient field readers: the CLI only displays what the server
// sent, so an absent or mistyped field reads as empty / 0 rather than failing.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "outcome.hpp"

namespace parley::cli {

using JsonElement = simdjson::dom::element;

class JsonDoc {
 public:
  // Parses `json`; a parse failure is reported as `bad_response` (the server sent garbage).
  static Outcome<JsonDoc> parse(std::string_view json);

  JsonElement root() const { return root_; }
  // The text that was parsed.
  const std::string& text() const { return *text_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  std::unique_ptr<std::string> text_;
  JsonElement root_;
};

std::string json_string(JsonElement object, std::string_view key);   // "" if absent
std::int64_t json_int(JsonElement object, std::string_view key);     // 0 if absent
bool json_bool(JsonElement object, std::string_view key);            // false if absent
bool json_has(JsonElement object, std::string_view key);
// The array under `key`, or an empty array if absent.
simdjson::dom::array json_array(JsonElement object, std::string_view key);
// `object[key]` as a JSON object element; `found` is false if absent.
JsonElement json_object(JsonElement object, std::string_view key, bool& found);

// Compact JSON of an element.
std::string to_json(JsonElement element);
// Compact JSON of `object` without the members named in `dropped` (e.g. a reply frame's
// "type" and "id", which leaves exactly the REST body of that reply).
std::string json_without(JsonElement object, std::initializer_list<std::string_view> dropped);

// A JSON string literal, quoted and escaped.
std::string json_quote(std::string_view text);

}  // namespace parley::cli
