// Unit tests for gateway/client_address: trusted proxy ranges, X-Forwarded-For, and PROXY
// protocol headers (v1 text and v2 binary).
#include "gateway/client_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::gateway {
namespace {

namespace ip = boost::asio::ip;

TEST(TrustedProxies, AddressesAndRanges) {
  const auto trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8, ::1");
  EXPECT_TRUE(trusted.contains(ip::make_address("10.200.3.4")));
  EXPECT_TRUE(trusted.contains(ip::make_address("192.168.1.7")));
  EXPECT_FALSE(trusted.contains(ip::make_address("192.168.1.8")));
  EXPECT_FALSE(trusted.contains(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("fd12::1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("::1")));
  EXPECT_TRUE(trusted.contains(ip::make_address("::ffff:10.1.1.1")));  // v4 through a v6 socket
  EXPECT_TRUE(TrustedProxies::parse("").empty());
  EXPECT_THROW(TrustedProxies::parse("10.0.0.0/33"), std::runtime_error);
  EXPECT_THROW(TrustedProxies::parse("proxy.example"), std::runtime_error);
}

TEST(ForwardedFor, RightmostUntrustedEntryIsTheClient) {
  const auto trusted = TrustedProxies::parse("10.0.0.0/8");
  const auto proxy = ip::make_address("10.0.0.5");
  EXPECT_EQ(client_from_forwarded_for(proxy, "203.0.113.9", trusted).to_string(), "203.0.113.9");
  // The client may put anything on the left; only what trusted proxies appended counts.
  EXPECT_EQ(client_from_forwarded_for(proxy, "1.1.1.1, 203.0.113.9, 10.9.9.9", trusted).to_string(), "203.0.113.9");
  EXPECT_EQ(client_from_forwarded_for(proxy, "", trusted), proxy);
  EXPECT_EQ(client_from_forwarded_for(proxy, "garbage", trusted), proxy);
  EXPECT_EQ(client_from_forwarded_for(proxy, "[2001:db8::1]:443", trusted).to_string(), "2001:db8::1");
  EXPECT_EQ(client_from_forwarded_for(proxy, "198.51.100.3:5000", trusted).to_string(), "198.51.100.3");
  // From an untrusted peer, the header means nothing.
  const auto stranger = ip::make_address("198.51.100.1");
  EXPECT_EQ(client_from_forwarded_for(stranger, "10.0.0.1", trusted), stranger);
}

ProxyParse parse(const std::string& bytes, ProxyHeader& header) {
  return parse_proxy_header(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), header);
}

TEST(ProxyHeader, VersionOne) {
  ProxyHeader h;
  ASSERT_EQ(parse("PROXY TCP4 198.51.100.8 10.0.0.1 5555 443\r\nGET / HTTP/1.1", h), ProxyParse::done);
  EXPECT_EQ(h.length, 43u);
  EXPECT_EQ(h.source->to_string(), "198.51.100.8");
  ASSERT_EQ(parse("PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n", h), ProxyParse::done);
  EXPECT_EQ(h.source->to_string(), "2001:db8::7");
  ASSERT_EQ(parse("PROXY UNKNOWN\r\n", h), ProxyParse::done);
  EXPECT_FALSE(h.source);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2", h), ProxyParse::incomplete);
  EXPECT_EQ(parse("PRO", h), ProxyParse::incomplete);
  EXPECT_EQ(parse_proxy_header(nullptr, 0, h), ProxyParse::incomplete);  // nothing read yet
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n", h), ProxyParse::invalid);
  EXPECT_EQ(parse("PROXY TCP4 2001:db8::7 1.2.3.4 1 2\r\n", h), ProxyParse::invalid);  // family mismatch
  EXPECT_EQ(parse("PROXY TCP4 x y 1 2\r\n", h), ProxyParse::invalid);
  EXPECT_EQ(parse("PROXY " + std::string(200, 'A'), h), ProxyParse::invalid);  // no CRLF within 107 bytes
}

TEST(ProxyHeader, VersionTwo) {
  const std::string signature("\r\n\r\n\0\r\nQUIT\n", 12);
  std::string v4 = signature + std::string("\x21\x11\x00\x0c", 4) + std::string("\xcb\x00\x71\x2c", 4) +
                   std::string("\x7f\x00\x00\x01", 4) + std::string("\x11\x5c\x01\xbb", 4);
  ProxyHeader h;
  ASSERT_EQ(parse(v4 + "GET", h), ProxyParse::done);
  EXPECT_EQ(h.length, 28u);
  EXPECT_EQ(h.source->to_string(), "203.0.113.44");
  EXPECT_EQ(parse(v4.substr(0, 20), h), ProxyParse::incomplete);
  const std::string local = signature + std::string("\x20\x00\x00\x00", 4);
  ASSERT_EQ(parse(local, h), ProxyParse::done);
  EXPECT_FALSE(h.source);
  EXPECT_EQ(parse(signature + std::string("\x31\x11\x00\x0c", 4) + std::string(12, '\0'), h), ProxyParse::invalid);  // version 3
  std::string v6 = signature + std::string("\x21\x21\x00\x24", 4) + std::string(15, '\0') + "\x01" + std::string(20, '\0');
  ASSERT_EQ(parse(v6, h), ProxyParse::done);
  EXPECT_EQ(h.source->to_string(), "::1");
}

}  // namespace
}  // namespace parley::gateway
