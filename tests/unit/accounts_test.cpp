// Unit tests for auth/display_names, auth/password_policy and core/security_log.
#include <gtest/gtest.h>

#include <string>

#include "auth/display_names.hpp"
#include "auth/password_policy.hpp"
#include "core/security_log.hpp"

namespace parley {
namespace {

std::string normalized(std::string_view in) {
  auto r = auth::normalize_display_name(in, 64);
  return r ? *r : "ERROR " + r.error().message;
}

TEST(DisplayNames, NormalizesWhitespaceAndComposition) {
  EXPECT_EQ(normalized("  Alice   Liddell "), "Alice Liddell");
  EXPECT_EQ(normalized("Ame\xcc\x81lie"), "Am\xc3\xa9lie");  // e + combining acute -> é (NFC)
  EXPECT_EQ(normalized("tab\there\nnewline"), "tab here newline");
  EXPECT_EQ(normalized("\xe3\x80\x80wide\xe3\x80\x80space"), "wide space");  // ideographic spaces
  EXPECT_EQ(normalized(""), "");
  EXPECT_EQ(normalized("   "), "");
}

TEST(DisplayNames, KeepsScriptsAndEmojiSequences) {
  for (const char* fine : {"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\xe5\xbc\xa0\xe4\xbc\x9f", "Zo\xc3\xab",
                           "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb",            // woman technologist (ZWJ)
                           "\xf0\x9f\x91\xa9\xf0\x9f\x8f\xbd\xe2\x80\x8d\xf0\x9f\x92\xbb",  // with skin tone
                           "\xe2\x9d\xa4\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x94\xa5",    // heart on fire (VS16 + ZWJ)
                           "Weekend trip \xf0\x9f\x8f\x94\xef\xb8\x8f"}) {
    EXPECT_EQ(normalized(fine), fine);
  }
}

TEST(DisplayNames, RefusesInvisibleControlAndReorderingCharacters) {
  const char* refused[] = {
      "Mallory\xe2\x80\xaegnp.exe",  // RIGHT-TO-LEFT OVERRIDE
      "a\xe2\x80\x8b" "b",           // ZERO WIDTH SPACE
      "\xe2\x81\xa6x\xe2\x81\xa9",   // LEFT-TO-RIGHT ISOLATE ... POP
      "x\xe2\x80\x8e",               // LEFT-TO-RIGHT MARK
      "bell\x07",                    // a C0 control
      "x\xef\xbb\xbf",               // BOM
      "\xe3\x85\xa4",                // HANGUL FILLER (renders as nothing)
      "\xe2\xa0\x80",                // BRAILLE PATTERN BLANK
      "a\xe2\x80\x8d" "b",           // a joiner outside an emoji sequence
      "\xee\x80\x80",                // private use
      "e\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81",  // é and five more marks on it
      "\xcc\x81start",               // a mark with nothing to sit on
  };
  for (const char* name : refused) {
    auto r = auth::normalize_display_name(name, 64);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_field) << name;
  }
  auto long_name = auth::normalize_display_name(std::string(65, 'x'), 64);
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().code, ErrorCode::too_large);
}

TEST(DisplayNames, SanitizeDropsWhatNormalizeRefuses) {
  EXPECT_EQ(auth::sanitize_display_name("Mallory\xe2\x80\xae gnp", 64), "Mallory gnp");
  EXPECT_EQ(auth::sanitize_display_name("\xe2\x80\x8b\xe2\x80\x8b", 64), "");
  EXPECT_EQ(auth::sanitize_display_name("\xc3\xa9\xc3\xa9\xc3\xa9", 5), "\xc3\xa9\xc3\xa9");  // cut on a character
}

TEST(DisplayNames, SkeletonsMatchLookAlikes) {
  const std::string alice = auth::name_skeleton("alice");
  auto matches = [&](std::string_view display) {
    for (const auto& skeleton : auth::display_name_skeletons(display))
      if (skeleton == alice) return true;
    return false;
  };
  EXPECT_TRUE(matches("alice"));
  EXPECT_TRUE(matches("ALICE"));
  EXPECT_TRUE(matches("aIice"));                 // capital I for l
  EXPECT_TRUE(matches("\xd0\xb0lice"));          // Cyrillic a
  EXPECT_TRUE(matches("\xef\xbd\x81lice"));      // fullwidth a
  EXPECT_FALSE(matches("alicia"));
  EXPECT_FALSE(matches("Alice Liddell"));
  EXPECT_EQ(auth::name_skeleton(""), "");
}

TEST(PasswordPolicy, RefusesCommonShortAndPersonalPasswords) {
  const auth::PasswordPolicy policy;  // 8 bytes, 20 bits
  for (const char* weak : {"password", "password1", "12345678", "qwertyuiop", "iloveyou", "Summer2024!", "aaaaaaaaaaaa"})
    EXPECT_FALSE(auth::assess_password(weak, policy, {}).acceptable) << weak;
  EXPECT_FALSE(auth::assess_password("short", policy, {}).acceptable);
  EXPECT_NE(auth::assess_password("short", policy, {}).problem.find("at least 8 bytes"), std::string::npos);
  // The user's own name is a known word.
  EXPECT_TRUE(auth::assess_password("zebrafinch42", policy, {}).acceptable);
  EXPECT_FALSE(auth::assess_password("zebrafinch42", policy, {"zebrafinch"}).acceptable);
  for (const char* strong : {"correct horse battery", "violet staple rocket", "Tr0ub4dor&3x", "xk2-9aa-Qp"})
    EXPECT_TRUE(auth::assess_password(strong, policy, {}).acceptable) << strong;
  // Length only, when the operator turns the estimate off.
  EXPECT_TRUE(auth::assess_password("password", auth::PasswordPolicy{8, 0}, {}).acceptable);
  EXPECT_TRUE(auth::assess_password(std::string(1024, 'q') + "", policy, {}).entropy_bits >= 0);
}

TEST(SecurityLog, FieldsAreQuotedAndEscapedWhenNeeded) {
  EXPECT_EQ(security_log_line("login_failed", {{"username", "alice"}, {"address", "127.0.0.1"}}),
            "security.login_failed username=alice address=127.0.0.1");
  EXPECT_EQ(security_log_line("x", {{"device", "Pixel 9"}, {"q", "a\"b"}, {"c", "\n"}, {"e", ""}}),
            "security.x device=\"Pixel 9\" q=\"a\\\"b\" c=\"\\x0a\" e=\"\"");
  EXPECT_EQ(security_log_line("y", {{"k", "a=b"}}), "security.y k=\"a=b\"");
}

}  // namespace
}  // namespace parley
