#include "json_doc.hpp"

#include "core/json_writer.hpp"

namespace parley::cli {

Outcome<JsonDoc> JsonDoc::parse(std::string_view json) {
  JsonDoc doc;
  doc.parser_ = std::make_unique<simdjson::dom::parser>();
  doc.text_ = std::make_unique<std::string>(json);
  if (auto error = doc.parser_->parse(*doc.text_).get(doc.root_); error != simdjson::SUCCESS)
    return refused("bad_response", std::string("the server sent invalid JSON: ") + simdjson::error_message(error));
  return doc;
}

std::string json_string(JsonElement object, std::string_view key) {
  std::string_view value;
  if (object[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

std::int64_t json_int(JsonElement object, std::string_view key) {
  std::int64_t value = 0;
  if (object[key].get_int64().get(value) != simdjson::SUCCESS) return 0;
  return value;
}

bool json_bool(JsonElement object, std::string_view key) {
  bool value = false;
  if (object[key].get_bool().get(value) != simdjson::SUCCESS) return false;
  return value;
}

bool json_has(JsonElement object, std::string_view key) {
  JsonElement ignored;
  return object[key].get(ignored) == simdjson::SUCCESS && !ignored.is_null();
}

simdjson::dom::array json_array(JsonElement object, std::string_view key) {
  simdjson::dom::array value;
  if (object[key].get_array().get(value) == simdjson::SUCCESS) return value;
  // An empty array that outlives this call: parsed once, kept for the process.
  static simdjson::dom::parser empty_parser;
  static const JsonElement empty = empty_parser.parse(std::string_view("[]")).value();
  return empty.get_array().value();
}

JsonElement json_object(JsonElement object, std::string_view key, bool& found) {
  JsonElement value;
  found = object[key].get(value) == simdjson::SUCCESS && value.is_object();
  return value;
}

std::string to_json(JsonElement element) { return simdjson::minify(element); }

std::string json_without(JsonElement object, std::initializer_list<std::string_view> dropped) {
  simdjson::dom::object members;
  if (object.get_object().get(members) != simdjson::SUCCESS) return to_json(object);
  std::string out = "{";
  for (auto [key, value] : members) {
    bool skip = false;
    for (auto name : dropped) skip = skip || key == name;
    if (skip) continue;
    if (out.size() > 1) out.push_back(',');
    JsonWriter::append_escaped(out, key);
    out.push_back(':');
    out += simdjson::minify(value);
  }
  out.push_back('}');
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  JsonWriter::append_escaped(out, text);
  return out;
}

}  // namespace parley::cli
