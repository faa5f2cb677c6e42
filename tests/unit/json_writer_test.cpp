// Unit tests for core/json_writer: exact output for nesting, commas, escaping and numbers, and a
// round trip through simdjson that checks the output is JSON meaning what was written.
#include "core/json_writer.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace parley {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  JsonWriter::append_escaped(out, text);
  return out;
}

// Parses `json` (which must be a JSON string literal) and returns the decoded string.
std::string decode_string(const std::string& json) {
  simdjson::dom::parser parser;
  std::string_view decoded;
  const auto error = parser.parse(json).get_string().get(decoded);
  EXPECT_EQ(error, simdjson::SUCCESS) << json << ": " << simdjson::error_message(error);
  return std::string(decoded);
}

TEST(JsonWriter, EmptyObjectAndArray) {
  std::string out;
  JsonWriter(out).begin_object().end_object();
  EXPECT_EQ(out, "{}");
  out.clear();
  JsonWriter(out).begin_array().end_array();
  EXPECT_EQ(out, "[]");
}

TEST(JsonWriter, ObjectMembersAreSeparatedByCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("a", 1).field("b", "two").field("c", true).key("d").null().end_object();
  EXPECT_EQ(out, R"({"a":1,"b":"two","c":true,"d":null})");
}

TEST(JsonWriter, ArrayValuesAreSeparatedByCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_array().value(1).value("x").value(false).null().end_array();
  EXPECT_EQ(out, R"([1,"x",false,null])");
}

TEST(JsonWriter, NestedContainersGetCommasBetweenSiblingsOnly) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("a").begin_array().begin_object().end_object().begin_object().field("x", 1).end_object().end_array();
  w.key("b").begin_object().key("c").begin_array().end_array().field("d", 2).end_object();
  w.field("e", 3);
  w.key("f").begin_array().begin_array().value(1).end_array().begin_array().end_array().value(2).end_array();
  w.end_object();
  EXPECT_EQ(out, R"({"a":[{},{"x":1}],"b":{"c":[],"d":2},"e":3,"f":[[1],[],2]})");
}

TEST(JsonWriter, AppendsToExistingContent) {
  std::string out = "prefix:";
  JsonWriter(out).begin_object().field("k", 1).end_object();
  EXPECT_EQ(out, R"(prefix:{"k":1})");
}

TEST(JsonWriter, ContinuesAListOfFieldsAnotherWriterStarted) {
  std::string out = R"({"a":1)";
  JsonWriter(out).field("b", 2).end_object();
  EXPECT_EQ(out, R"({"a":1,"b":2})");

  out = R"({"s":"x")";
  JsonWriter(out).field("t", "y");
  EXPECT_EQ(out, R"({"s":"x","t":"y")");

  out = R"([{"k":[]})";
  JsonWriter(out).begin_object().end_object().end_array();
  EXPECT_EQ(out, R"([{"k":[]},{}])");
}

TEST(JsonWriter, NoCommaAfterAnOpeningBracketColonOrComma) {
  for (const std::string prefix : {"{", "[", R"({"k":)", R"({"a":1,)", R"([1,)"}) {
    std::string out = prefix;
    JsonWriter(out).value(7);
    EXPECT_EQ(out, prefix + "7") << prefix;
  }
}

TEST(JsonWriter, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(escaped(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(escaped(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(escaped(R"(\")"), R"("\\\"")");
  EXPECT_EQ(escaped("/"), R"("/")");
  EXPECT_EQ(escaped(""), R"("")");
}

TEST(JsonWriter, EscapesControlCharacters) {
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(escaped(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(escaped("\x01"), R"("\u0001")");
  EXPECT_EQ(escaped("\x1f"), R"("\u001f")");
  EXPECT_EQ(escaped("a\x1b[0m"), R"("a\u001b[0m")");
  EXPECT_EQ(escaped("\x0b"), R"("\u000b")");
  EXPECT_EQ(escaped("\x7f"), "\"\x7f\"");  // DEL needs no escape in JSON
}

TEST(JsonWriter, EveryControlCharacterIsEscapedAndRoundTrips) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = "a" + std::string(1, static_cast<char>(c)) + "b";
    const std::string json = escaped(text);
    for (char byte : json) EXPECT_GE(static_cast<unsigned char>(byte), 0x20) << "control byte " << c;
    EXPECT_EQ(decode_string(json), text) << "control byte " << c;
  }
}

TEST(JsonWriter, Utf8PassesThroughUnchanged) {
  const std::string text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad";
  EXPECT_EQ(escaped(text), "\"" + text + "\"");
}

TEST(JsonWriter, KeysAreEscapedToo) {
  std::string out;
  JsonWriter(out).begin_object().field("a\"b", 1).end_object();
  EXPECT_EQ(out, R"({"a\"b":1})");
}

TEST(JsonWriter, Numbers) {
  std::string out;
  JsonWriter w(out);
  w.begin_array()
      .value(0)
      .value(-1)
      .value(std::int64_t{-42})
      .value(std::numeric_limits<std::int64_t>::min())
      .value(std::numeric_limits<std::int64_t>::max())
      .value(std::numeric_limits<std::uint64_t>::max())
      .value(std::uint64_t{0})
      .end_array();
  EXPECT_EQ(out, "[0,-1,-42,-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST(JsonWriter, IdStringWritesAQuotedDecimal) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("id").id_string(std::numeric_limits<std::uint64_t>::max()).key("zero").id_string(0).end_object();
  EXPECT_EQ(out, R"({"id":"18446744073709551615","zero":"0"})");
}

TEST(JsonWriter, RawIsInsertedVerbatimWithSeparators) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("payload").raw(R"({"x":[1,2]})").field("n", 1).end_object();
  EXPECT_EQ(out, R"({"payload":{"x":[1,2]},"n":1})");
  out.clear();
  JsonWriter a(out);
  a.begin_array().raw("1").raw(R"("two")").end_array();
  EXPECT_EQ(out, R"([1,"two"])");
}

TEST(JsonWriter, FieldAcceptsStdString) {
  std::string out;
  const std::string value = "v";
  JsonWriter(out).begin_object().field("k", value).end_object();
  EXPECT_EQ(out, R"({"k":"v"})");
}

TEST(JsonWriter, RoundTripsThroughSimdjson) {
  const std::string tricky = std::string("q\"b\\s/\n\t\x01\x1f") + "\xc3\xa9\xf0\x9f\x98\x80" + std::string(1, '\0');
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("text", tricky);
  w.field("min", std::numeric_limits<std::int64_t>::min()).field("max", std::numeric_limits<std::int64_t>::max());
  w.field("umax", std::numeric_limits<std::uint64_t>::max()).field("neg", -5);
  w.field("yes", true).field("no", false);
  w.key("nothing").null();
  w.key("id").id_string(1234567890123456789ULL);
  w.key("list").begin_array().value(1).value("two").begin_object().field("three", 3).end_object().end_array();
  w.key("raw").raw(R"({"r":[true]})");
  w.end_object();

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;

  std::string_view text;
  ASSERT_EQ(doc["text"].get_string().get(text), simdjson::SUCCESS);
  EXPECT_EQ(text, tricky);
  std::int64_t i = 0;
  ASSERT_EQ(doc["min"].get_int64().get(i), simdjson::SUCCESS);
  EXPECT_EQ(i, std::numeric_limits<std::int64_t>::min());
  ASSERT_EQ(doc["max"].get_int64().get(i), simdjson::SUCCESS);
  EXPECT_EQ(i, std::numeric_limits<std::int64_t>::max());
  ASSERT_EQ(doc["neg"].get_int64().get(i), simdjson::SUCCESS);
  EXPECT_EQ(i, -5);
  std::uint64_t u = 0;
  ASSERT_EQ(doc["umax"].get_uint64().get(u), simdjson::SUCCESS);
  EXPECT_EQ(u, std::numeric_limits<std::uint64_t>::max());
  bool flag = false;
  ASSERT_EQ(doc["yes"].get_bool().get(flag), simdjson::SUCCESS);
  EXPECT_TRUE(flag);
  ASSERT_EQ(doc["no"].get_bool().get(flag), simdjson::SUCCESS);
  EXPECT_FALSE(flag);
  EXPECT_TRUE(doc["nothing"].is_null());
  std::string_view id;
  ASSERT_EQ(doc["id"].get_string().get(id), simdjson::SUCCESS);
  EXPECT_EQ(id, "1234567890123456789");

  simdjson::dom::array list;
  ASSERT_EQ(doc["list"].get_array().get(list), simdjson::SUCCESS);
  ASSERT_EQ(list.size(), 3u);
  ASSERT_EQ(list.at(0).get_int64().get(i), simdjson::SUCCESS);
  EXPECT_EQ(i, 1);
  std::string_view two;
  ASSERT_EQ(list.at(1).get_string().get(two), simdjson::SUCCESS);
  EXPECT_EQ(two, "two");
  ASSERT_EQ(list.at(2)["three"].get_int64().get(i), simdjson::SUCCESS);
  EXPECT_EQ(i, 3);
  ASSERT_EQ(doc["raw"]["r"].at(0).get_bool().get(flag), simdjson::SUCCESS);
  EXPECT_TRUE(flag);

  simdjson::dom::object root;
  ASSERT_EQ(doc.get_object().get(root), simdjson::SUCCESS);
  EXPECT_EQ(root.size(), 11u);
}

TEST(JsonWriter, EveryByteValueRoundTripsWhenValidUtf8) {
  // All ASCII, then multi-byte characters at every length.
  std::string text;
  for (int c = 0; c < 0x80; ++c) text.push_back(static_cast<char>(c));
  text += "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
  EXPECT_EQ(decode_string(escaped(text)), text);
}

}  // namespace
// The escaper skips 8 clean bytes at a time: a character needing escape at any offset, in
// any word, must still be escaped.
TEST(JsonWriter, EscapesAtEveryOffsetOfLongStrings) {
  for (char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::string text(40, 'a');
      text[at] = special;
      std::string out;
      JsonWriter::append_escaped(out, text);
      simdjson::dom::parser parser;
      std::string_view parsed;
      ASSERT_EQ(parser.parse(out).get_string().get(parsed), simdjson::SUCCESS) << out;
      EXPECT_EQ(parsed, text) << "offset " << at;
    }
  }
  std::string clean(1000, 'z');
  std::string out;
  JsonWriter::append_escaped(out, clean);
  EXPECT_EQ(out, "\"" + clean + "\"");
}

}  // namespace parley
