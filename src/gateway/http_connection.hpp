// HttpConnection: one accepted connection until it closes or becomes a WebSocket session: the
// PROXY protocol header (from a trusted proxy, when server.proxy_protocol is on), the TLS
// handshake (when TLS is on), then HTTP/1.1 requests one at a time: REST through the
// HttpHandler, static files of the web client, and the upgrade to a WsSession.
// Every method runs on the connection's I/O thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "gateway/io_threads.hpp"

namespace parley::gateway {

class Server;

// Starts serving an accepted socket (already counted in the server's connection count, which
// the connection gives back when it ends). `operator_port`: the operator listener, which
// serves /metrics, /healthz and /readyz only.
void serve_connection(Server& server, ThreadContext& thread, boost::asio::ip::tcp::socket socket, bool operator_port);

}  // namespace parley::gateway
