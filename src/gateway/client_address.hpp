// Who the client is when Parley sits behind a load balancer or reverse proxy: the proxies it
// trusts (server.trusted_proxies), the address they report (X-Forwarded-For, or a PROXY
// protocol header as HAProxy sends it with send-proxy / send-proxy-v2). An address reported
// by anyone else is ignored: a client could put anything in X-Forwarded-For.
// Pure functions and a read-only list: any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateway {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Parses a comma-separated list of addresses and CIDR ranges ("10.0.0.0/8, 127.0.0.1,
  // ::1"). Throws std::runtime_error naming the first bad entry.
  static TrustedProxies parse(std::string_view list);

  bool empty() const { return ranges_.empty(); }
  bool contains(const boost::asio::ip::address& address) const;

 private:
  struct Range {
    boost::asio::ip::address network;
    unsigned prefix;  // bits
  };
  std::vector<Range> ranges_;
};

// The client behind `peer` according to an X-Forwarded-For header: the entries are read from
// the right (the one the nearest proxy added) and the first one not from a trusted proxy is
// the client. `peer` itself if it is not trusted, if the header is empty or malformed.
boost::asio::ip::address client_from_forwarded_for(const boost::asio::ip::address& peer, std::string_view header,
                                                   const TrustedProxies& trusted);

// A PROXY protocol header (version 1 text or version 2 binary) at the start of a connection.
struct ProxyHeader {
  std::size_t length = 0;  // bytes the header takes
  std::optional<boost::asio::ip::address> source;  // empty for LOCAL / UNKNOWN (health checks)
};
enum class ProxyParse { incomplete, invalid, done };

// Parses the header at the start of data[0, size). `incomplete`: read more (at most 232
// bytes are ever needed for TCP over IPv4/IPv6).
ProxyParse parse_proxy_header(const std::uint8_t* data, std::size_t size, ProxyHeader& out);

}  // namespace parley::gateway
