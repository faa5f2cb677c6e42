// libFuzzer target for gateway/client_address: arbitrary bytes as the start of a connection
// from a trusted proxy (a PROXY protocol v1/v2 header) and as an X-Forwarded-For header.
// Checks: a parsed header never claims more bytes than it was given, and parsing it again from
// exactly those bytes gives the same result; an incomplete header stays incomplete or becomes
// complete as bytes are added, never the other way; the client taken from X-Forwarded-For is
// the peer or an address the header names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/client_address.hpp"

namespace {

using namespace parley::gateway;

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ProxyHeader header;
  const ProxyParse whole = parse_proxy_header(data, size, header);
  if (whole == ProxyParse::done) {
    check(header.length > 0 && header.length <= size);
    ProxyHeader again;
    check(parse_proxy_header(data, header.length, again) == ProxyParse::done);
    check(again.length == header.length && again.source == header.source);
  }
  // Byte by byte, the way the connection reads: once invalid or done, more bytes do not change it.
  ProxyParse previous = ProxyParse::incomplete;
  for (std::size_t n = 0; n <= size && n <= 300; ++n) {
    ProxyHeader part;
    const ProxyParse now = parse_proxy_header(data, n, part);
    if (previous != ProxyParse::incomplete) check(now == previous);
    previous = now;
  }

  static const TrustedProxies trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1, fd00::/8");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto peer = boost::asio::ip::make_address("10.1.2.3");
  const auto client = client_from_forwarded_for(peer, text, trusted);
  check(client == peer || text.find(client.to_string()) != std::string_view::npos ||
        client.is_v6());  // (an IPv6 address may be written in another form than its canonical one)
  const auto stranger = boost::asio::ip::make_address("198.51.100.1");
  check(client_from_forwarded_for(stranger, text, trusted) == stranger);
  return 0;
}
