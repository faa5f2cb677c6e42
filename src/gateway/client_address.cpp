#include "gateway/client_address.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace parley::gateway {

namespace ip = boost::asio::ip;

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<ip::address> parse_address(std::string_view text) {
  text = trim(text);
  // "[::1]" and "1.2.3.4:5678" forms appear in some headers: take the address part.
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    text = text.substr(0, text.find(':'));
  }
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  // An IPv4 client seen through an IPv6 socket is the same client.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) return ip::address(ip::make_address_v4(ip::v4_mapped, address.to_v6()));
  return address;
}

std::array<unsigned char, 16> bytes_of(const ip::address& address) {
  std::array<unsigned char, 16> out{};
  if (address.is_v4()) {
    const auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), out.begin());
  } else {
    out = address.to_v6().to_bytes();
  }
  return out;
}

bool prefix_matches(const ip::address& a, const ip::address& b, unsigned prefix) {
  if (a.is_v4() != b.is_v4()) return false;
  const auto x = bytes_of(a), y = bytes_of(b);
  for (unsigned bit = 0; bit < prefix; ++bit) {
    const unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
    if ((x[byte] & mask) != (y[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    const auto slash = entry.find('/');
    const auto address = parse_address(entry.substr(0, slash));
    if (!address) throw std::runtime_error("server.trusted_proxies: not an address: '" + std::string(entry) + "'");
    unsigned prefix = address->is_v4() ? 32 : 128;
    if (slash != std::string_view::npos) {
      const std::string_view bits = entry.substr(slash + 1);
      unsigned parsed = 0;
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), parsed);
      if (ec != std::errc() || end != bits.data() + bits.size() || parsed > prefix)
        throw std::runtime_error("server.trusted_proxies: bad prefix length in '" + std::string(entry) + "'");
      prefix = parsed;
    }
    out.ranges_.push_back(Range{*address, prefix});
  }
  return out;
}

bool TrustedProxies::contains(const ip::address& address) const {
  ip::address plain = address;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) plain = ip::make_address_v4(ip::v4_mapped, address.to_v6());
  for (const Range& range : ranges_)
    if (prefix_matches(plain, range.network, range.prefix)) return true;
  return false;
}

ip::address client_from_forwarded_for(const ip::address& peer, std::string_view header, const TrustedProxies& trusted) {
  if (!trusted.contains(peer)) return peer;
  ip::address client = peer;
  while (!header.empty()) {
    const auto comma = header.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? header : header.substr(comma + 1);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(0, comma);
    const auto address = parse_address(entry);
    if (!address) return client;  // malformed: trust nothing further left
    client = *address;
    if (!trusted.contains(client)) return client;
  }
  return client;
}

ProxyParse parse_proxy_header(const std::uint8_t* data, std::size_t size, ProxyHeader& out) {
  static constexpr std::uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  out = ProxyHeader{};
  if (size == 0) return ProxyParse::incomplete;  // (and `data` may be null)
  // Version 2: 12-byte signature, version/command, family/protocol, 16-bit length, addresses.
  const std::size_t v2_prefix = std::min(size, sizeof kV2Signature);
  if (std::memcmp(data, kV2Signature, v2_prefix) == 0 && data[0] == 0x0D) {
    if (size < 16) return ProxyParse::incomplete;
    const unsigned version = data[12] >> 4, command = data[12] & 0x0F;
    const std::size_t length = (static_cast<std::size_t>(data[14]) << 8) | data[15];
    if (version != 2 || command > 1 || length > 2048) return ProxyParse::invalid;
    if (size < 16 + length) return ProxyParse::incomplete;
    out.length = 16 + length;
    if (command == 0) return ProxyParse::done;  // LOCAL: the proxy's own connection (health check)
    const unsigned family = data[13] >> 4;
    const std::uint8_t* addresses = data + 16;
    if (family == 1 && length >= 12) {  // AF_INET: source, destination, ports
      ip::address_v4::bytes_type source;
      std::memcpy(source.data(), addresses, 4);
      out.source = ip::address_v4(source);
    } else if (family == 2 && length >= 36) {  // AF_INET6
      ip::address_v6::bytes_type source;
      std::memcpy(source.data(), addresses, 16);
      out.source = ip::address_v6(source);
    }  // AF_UNSPEC / AF_UNIX: no client address
    return ProxyParse::done;
  }
  // Version 1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" or "PROXY UNKNOWN ...\r\n", at
  // most 107 bytes.
  static constexpr char kV1[] = "PROXY ";
  const std::size_t v1_prefix = std::min<std::size_t>(size, 6);
  if (std::memcmp(data, kV1, v1_prefix) != 0) return ProxyParse::invalid;
  const auto* text = reinterpret_cast<const char*>(data);
  const std::string_view line(text, std::min<std::size_t>(size, 107));
  const auto end = line.find("\r\n");
  if (end == std::string_view::npos) return size >= 107 ? ProxyParse::invalid : ProxyParse::incomplete;
  out.length = end + 2;
  std::vector<std::string_view> words;
  std::string_view rest = line.substr(0, end);
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    words.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (words.size() >= 2 && words[1] == "UNKNOWN") return ProxyParse::done;
  if (words.size() != 6 || (words[1] != "TCP4" && words[1] != "TCP6")) return ProxyParse::invalid;
  boost::system::error_code ec;
  const auto source = ip::make_address(std::string(words[2]), ec);
  if (ec || source.is_v4() != (words[1] == "TCP4")) return ProxyParse::invalid;
  out.source = source;
  return ProxyParse::done;
}

}  // namespace parley::gateway
