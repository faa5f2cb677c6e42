// JsonWriter: appends compact JSON to a std::string. Hand-written because outbound frames are
// built on the hot path and a DOM (Boost.JSON value) would allocate per field; this writes
// straight into the frame buffer. Strings must already be valid UTF-8 (they come from the
// validating parser or from the store, which only holds validated text).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

class JsonWriter {
 public:
  // Appends to `out`. If `out` already holds members ("\"a\":1"), the next one gets a comma,
  // so a writer can continue a list of fields another writer started.
  explicit JsonWriter(std::string& out)
      : out_(out), first_(out.empty() || out.back() == '{' || out.back() == '[' || out.back() == ':' ||
                          out.back() == ',') {}

  JsonWriter& begin_object() { separator(); out_.push_back('{'); first_ = true; return *this; }
  JsonWriter& end_object() { out_.push_back('}'); first_ = false; return *this; }
  JsonWriter& begin_array() { separator(); out_.push_back('['); first_ = true; return *this; }
  JsonWriter& end_array() { out_.push_back(']'); first_ = false; return *this; }

  // Writes `"name":`; the next value call completes the member.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();
  // A 64-bit id as a decimal string: JavaScript numbers lose precision above 2^53.
  JsonWriter& id_string(std::uint64_t number);
  // Inserts already-serialized JSON verbatim.
  JsonWriter& raw(std::string_view json);

  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) { key(name); return value(v); }
  JsonWriter& field(std::string_view name, const char* v) { key(name); return value(std::string_view(v)); }

  static void append_escaped(std::string& out, std::string_view text);

 private:
  void separator() {
    if (after_key_) { after_key_ = false; return; }
    if (!first_) out_.push_back(',');
    first_ = false;
  }

  std::string& out_;
  bool first_;
  bool after_key_ = false;
};

}  // namespace parley
