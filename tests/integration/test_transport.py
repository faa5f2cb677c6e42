"""Transport and the edge of the server: TLS (modern versions and suites only, reload on SIGHUP
without dropping connections, HSTS), browser origins (WebSocket and CORS), the operator port
and the metrics token, limits per client address and per user, the real client address behind
trusted proxies (X-Forwarded-For, PROXY protocol v1/v2), and HAProxy in front as
docs/operations.md configures it."""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests
import websocket

from harness import FAST_HASH, HIGH_RATE, Client, ParleyServer, free_port

STRONG = "correct horse battery"


def make_cert(directory, name, common_name="localhost"):
    """A self-signed ECDSA certificate for localhost and 127.0.0.1: (cert path, key path)."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + common_name,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_context(cafile):
    context = ssl.create_default_context(cafile=cafile)
    return context


def peer_cert(port, cafile):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with tls_context(cafile).wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True), tls.version(), tls.cipher()


def start_tls_server(make_server, tmp_path, *args):
    cert, key = make_cert(str(tmp_path), "a")
    s = make_server(*HIGH_RATE, "--server.tls_cert", cert, "--server.tls_key", key, *args)
    s.start(ready_url=f"https://127.0.0.1:{s.port}/readyz", verify=cert)
    return s, cert, key


@pytest.mark.single_node('TLS on one listener')
def test_tls_serves_rest_and_websocket_with_modern_settings_only(make_server, tmp_path):
    s, cert, key = start_tls_server(make_server, tmp_path)
    base = f"https://127.0.0.1:{s.port}"
    r = requests.post(base + "/v1/auth/register", json={"username": "tls" + uuid.uuid4().hex[:8], "password": STRONG},
                      verify=cert)
    assert r.status_code == 201
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    token = r.json()["token"]
    ws = websocket.create_connection(f"wss://127.0.0.1:{s.port}/ws", sslopt={"ca_certs": cert}, timeout=10)
    ws.send(json.dumps({"type": "hello", "id": 1, "token": token}))
    assert json.loads(ws.recv())["type"] == "ok"
    # A large frame crosses several TLS records both ways.
    ws.send(json.dumps({"type": "ping", "id": 2, "pad": "x" * 100000}))
    assert json.loads(ws.recv())["type"] == "pong"
    ws.close()
    _, version, _ = peer_cert(s.port, cert)
    assert version in ("TLSv1.2", "TLSv1.3")
    # TLS 1.1 and older are refused, and so is TLS 1.2 without forward secrecy.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_2
    old.set_ciphers("AES128-GCM-SHA256")  # RSA key exchange: no forward secrecy
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with socket.create_connection(("127.0.0.1", s.port)) as raw:
            old.wrap_socket(raw, server_hostname="localhost")
    # Plain HTTP to the TLS port gets nothing useful.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{s.port}/healthz", timeout=5)
    assert requests.get(base + "/healthz", verify=cert).status_code == 200


@pytest.mark.single_node('TLS on one listener, SIGHUP to one process')
def test_sighup_reloads_the_certificate_without_dropping_connections(make_server, tmp_path):
    s, cert, key = start_tls_server(make_server, tmp_path)
    first, _, _ = peer_cert(s.port, cert)
    user = requests.post(f"https://127.0.0.1:{s.port}/v1/auth/register", verify=cert,
                         json={"username": "re" + uuid.uuid4().hex[:8], "password": STRONG}).json()
    ws = websocket.create_connection(f"wss://127.0.0.1:{s.port}/ws", sslopt={"ca_certs": cert}, timeout=10)
    ws.send(json.dumps({"type": "hello", "id": 1, "token": user["token"]}))
    assert json.loads(ws.recv())["type"] == "ok"
    new_cert, new_key = make_cert(str(tmp_path), "b")
    shutil.copy(new_cert, cert)
    shutil.copy(new_key, key)
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    second = first
    while second == first and time.time() < deadline:
        time.sleep(0.1)
        second, _, _ = peer_cert(s.port, cert)
    assert second != first, "new connections still get the old certificate"
    assert "tls.reloaded" in s.read_log()
    ws.send(json.dumps({"type": "ping", "id": 2}))  # the old connection lives on
    assert json.loads(ws.recv())["type"] == "pong"
    ws.close()
    # A broken file is refused: the current certificate stays.
    with open(key, "w") as f:
        f.write("not a key")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "tls.reload_failed" not in s.read_log() and time.time() < deadline:
        time.sleep(0.1)
    assert "tls.reload_failed" in s.read_log()
    assert peer_cert(s.port, cert)[0] == second


def test_tls_settings_are_checked_at_start_up(tmp_path):
    cert, key = make_cert(str(tmp_path), "a")
    other_cert, other_key = make_cert(str(tmp_path), "b")
    from harness import PARLEYD
    r = subprocess.run([PARLEYD, "--server.tls_cert", cert], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "tls_key" in r.stderr
    s = ParleyServer("--server.tls_cert", cert, "--server.tls_key", other_key)
    with pytest.raises(RuntimeError) as failed:
        s.start()
    assert "server.tls_key" in str(failed.value) and "mismatch" in str(failed.value)
    s.cleanup()


@pytest.mark.single_node("the same-host origin of one listener (sessions go to the nodes' own ports here)")
def test_websocket_and_cors_only_for_allowed_origins(server, make_server):
    user = server.register()
    host = f"127.0.0.1:{server.port}"
    # Same host: the default.
    c = Client(server, hello=False, origin="http://" + host)
    assert c.request("hello", token=user.token)["type"] == "ok"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Client(server, hello=False, origin="https://evil.example")
    assert refused.value.status_code == 403
    # No Origin at all (CLI, apps): fine.
    assert Client(server, user.token, suppress_origin=True).hello_reply["user_id"] == user.id
    r = user.api("GET", "/v1/me", headers={"Origin": "http://" + host})
    assert r.headers["Access-Control-Allow-Origin"] == "http://" + host and r.headers["Vary"] == "Origin"
    r = user.api("GET", "/v1/me", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    preflight = requests.options(server.base + "/v1/me", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403
    assert requests.options(server.base + "/v1/me", headers={"Origin": "http://" + host}).status_code == 204
    assert "security.origin_refused origin=https://evil.example" in server.read_log()
    # An explicit list.
    s = make_server("--server.allowed_origins", "https://chat.example.com, https://app.example.com/").start()
    other = s.register()
    for origin, allowed in (("https://chat.example.com", True), ("https://app.example.com", True),
                            ("http://chat.example.com", False), ("http://127.0.0.1:%d" % s.port, False)):
        try:
            Client(s, other.token, origin=origin)
            assert allowed, origin
        except websocket.WebSocketBadStatusException as e:
            assert not allowed and e.status_code == 403, origin


@pytest.mark.single_node("one listener's metrics port")
def test_metrics_are_not_public(make_server):
    operator_port = free_port()
    s = make_server("--server.metrics_listen", f"127.0.0.1:{operator_port}").start()
    r = requests.get(s.base + "/metrics")
    assert r.status_code == 401  # the harness configures a metrics token
    assert requests.get(s.base + "/metrics", headers={"Authorization": "Bearer wrong" + "x" * 40}).status_code == 401
    assert "parley_ready 1" in requests.get(f"http://127.0.0.1:{operator_port}/metrics").text
    assert requests.get(f"http://127.0.0.1:{operator_port}/healthz").json() == {"status": "ok"}
    assert requests.get(f"http://127.0.0.1:{operator_port}/v1/auth/config").status_code == 404
    # Without a token, /metrics is not on the client port at all.
    plain = ParleyServer(defaults=[a for a in FAST_HASH if a not in ("--server.metrics_token", FAST_HASH[-1])])
    try:
        plain.start()
        assert requests.get(plain.base + "/metrics").status_code == 404
    finally:
        plain.cleanup()


def open_idle(source, port, count):
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def probe(sock):
    """The status of a GET /healthz on an open socket; 0 if the server had closed it."""
    sock.settimeout(10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return 0
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else 0


def wait_refusals(server, count):
    """Waits until the server has refused `count` connections for their address (accepts are
    handled asynchronously, on several threads, in no fixed order)."""
    deadline = time.time() + 10
    while server.metric("parley_connections_refused_per_address_total") < count:
        assert time.time() < deadline, "the server refused nothing"
        time.sleep(0.02)


@pytest.mark.single_node("a per-node limit of one listener (docs/operations.md: per address across nodes is HAProxy's)")
def test_one_address_cannot_take_every_connection(make_server):
    s = make_server("--limits.max_connections", "30", "--limits.max_connections_per_address", "10",
                    "--limits.max_pending_per_address", "20").start()
    hog = open_idle("127.0.0.21", s.port, 11)
    wait_refusals(s, 1)
    # Everyone else still gets in.
    assert Client(s, s.register().token).hello_reply["type"] == "ok"
    statuses = [probe(sock) for sock in hog]
    assert statuses.count(200) == 10 and len([x for x in statuses if x in (0, 429)]) == 1, statuses
    for sock in hog:
        sock.close()


@pytest.mark.single_node("a per-node limit of one listener (docs/operations.md: per address across nodes is HAProxy's)")
def test_pending_handshakes_are_capped_per_address(make_server):
    s = make_server("--limits.max_pending_per_address", "3").start()
    idle = open_idle("127.0.0.22", s.port, 4)
    wait_refusals(s, 1)
    statuses = [probe(sock) for sock in idle]  # a complete request: no longer pending
    assert statuses.count(200) == 3 and len([x for x in statuses if x in (0, 429)]) == 1, statuses
    fresh = open_idle("127.0.0.22", s.port, 1)[0]  # room again
    assert probe(fresh) == 200
    # An authenticated WebSocket session is not pending either.
    user = s.register()
    sessions = [Client(s, user.token, timeout=10) for _ in range(5)]
    assert all(c.hello_reply["type"] == "ok" for c in sessions)
    for sock in idle + [fresh]:
        sock.close()


def test_sessions_per_user_are_capped(make_server):
    s = make_server("--limits.max_sessions_per_user", "3").start()
    user = s.register()
    sessions = [Client(s, user.token) for _ in range(3)]
    limits = sessions[0].hello_reply["limits"]
    assert limits["max_sessions_per_user"] == 3 and limits["user_requests_per_second"] == 50
    fourth = Client(s, hello=False)
    reply = fourth.request("hello", token=user.token)
    assert reply["code"] == "limit_reached"
    assert fourth.wait_close() == 4003
    assert Client(s, s.register().token).hello_reply["type"] == "ok"  # other users are not affected
    sessions[0].close()
    deadline = time.time() + 10
    while time.time() < deadline:
        c = Client(s, hello=False)
        if c.request("hello", token=user.token)["type"] == "ok":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a closed session did not free its place")


@pytest.mark.single_node('the exact count of one node; across nodes the rate holds within directory.sync_ms (test_cluster.py)')
def test_rate_limit_is_per_user_across_sessions_and_rest(make_server):
    s = make_server("--limits.user_requests_per_second", "1", "--limits.user_requests_burst", "10").start()
    user = s.register()
    a, b = Client(s, user.token), Client(s, user.token)
    outcomes = []
    for i in range(4):
        outcomes.append(a.request("conversations.list")["type"])
        outcomes.append(b.request("conversations.list")["type"])
    outcomes.append("ok" if user.api("GET", "/v1/conversations").status_code == 200 else "error")
    outcomes.append("ok" if user.api("GET", "/v1/conversations").status_code == 200 else "error")
    assert outcomes.count("ok") == 10  # the burst, shared by both sessions and REST
    r = user.api("GET", "/v1/conversations")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    reply = a.request("conversations.list")
    assert reply["code"] == "rate_limited" and reply["retry_after_ms"] > 0
    assert a.ok("ping")["type"] == "pong"  # heartbeats are not counted
    assert Client(s, s.register().token).ok("conversations.list")["type"] == "ok"  # nor shared with others


@pytest.mark.single_node("one listener's trusted proxies")
def test_client_address_from_a_trusted_proxy_only(make_server):
    s = make_server("--server.trusted_proxies", "127.0.0.1, 10.0.0.0/8").start()
    user = s.register(password=STRONG)

    def failed_login(source, forwarded):
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=(source, 0))
        conn.request("POST", "/v1/auth/login", body=json.dumps({"username": user.username, "password": "nope"}),
                     headers={"X-Forwarded-For": forwarded, "Content-Type": "application/json"})
        assert conn.getresponse().status == 401
        conn.close()

    failed_login("127.0.0.1", "198.51.100.1, 203.0.113.9, 10.1.2.3")
    assert "address=203.0.113.9 reason=wrong_password" in s.read_log()  # the proxy's chain, proxies skipped
    failed_login("127.0.0.23", "198.51.100.77")  # not a trusted proxy: its header means nothing
    assert "address=127.0.0.23 reason=wrong_password" in s.read_log() and "198.51.100.77" not in s.read_log()


def proxy_v2(source, source_port, port):
    header = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12)
    return header + socket.inet_aton(source) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", source_port, port)


@pytest.mark.single_node('the PROXY protocol on one listener')
def test_proxy_protocol_names_the_client(make_server):
    s = make_server("--server.trusted_proxies", "127.0.0.1", "--server.proxy_protocol", "true")
    s.start(proxy_header=b"PROXY UNKNOWN\r\n")
    login = json.dumps({"username": "nobody", "password": "nope"}).encode()
    request = (b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
               b"Content-Length: " + str(len(login)).encode() + b"\r\n\r\n" + login)
    for header, client in ((b"PROXY TCP4 198.51.100.8 127.0.0.1 5555 80\r\n", "198.51.100.8"),
                           (proxy_v2("203.0.113.44", 4444, s.port), "203.0.113.44")):
        with socket.create_connection(("127.0.0.1", s.port)) as sock:
            sock.sendall(header + request)
            assert b" 401 " in sock.recv(4096).split(b"\r\n")[0]
        assert f"address={client} reason=unknown_user" in s.read_log()
    # Without the header, or from an address that is not a trusted proxy: closed, unanswered.
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(request)
        sock.settimeout(10)
        assert sock.recv(4096) == b""
    sock = socket.socket()
    sock.bind(("127.0.0.24", 0))
    sock.connect(("127.0.0.1", s.port))
    sock.sendall(b"PROXY TCP4 1.2.3.4 127.0.0.1 1 2\r\n" + request)
    sock.settimeout(10)
    try:
        assert sock.recv(4096) == b""
    except ConnectionResetError:
        pass
    sock.close()
    assert "security.proxy_refused address=127.0.0.24" in s.read_log()


HAPROXY_CONFIG = """
global
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
frontend chat
    bind 127.0.0.1:{front} ssl crt {pem} alpn http/1.1
    http-request set-header X-Forwarded-Proto https
    default_backend parley
backend parley
    option httpchk GET /readyz
    server node1 127.0.0.1:{back} check send-proxy-v2
"""


@pytest.mark.single_node('one listener behind a TLS-terminating HAProxy of its own')
def test_haproxy_terminates_tls_and_names_the_client(make_server, tmp_path):
    # The recipe of docs/operations.md: HAProxy terminates TLS and speaks the PROXY protocol to
    # parleyd; WebSocket sessions pass through.
    cert, key = make_cert(str(tmp_path), "front")
    pem = str(tmp_path / "front.pem")
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    s = make_server(*HIGH_RATE, "--server.trusted_proxies", "127.0.0.1", "--server.proxy_protocol", "true")
    s.start(proxy_header=b"PROXY UNKNOWN\r\n")
    front = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(front=front, pem=pem, back=s.port))
    haproxy = subprocess.Popen(["haproxy", "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"https://127.0.0.1:{front}"
        deadline = time.time() + 15
        while True:
            try:
                if requests.get(base + "/readyz", verify=cert, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "HAProxy did not come up"
            time.sleep(0.1)
        alice = requests.post(base + "/v1/auth/register", verify=cert,
                              json={"username": "ha" + uuid.uuid4().hex[:8], "password": STRONG}).json()
        bob = requests.post(base + "/v1/auth/register", verify=cert,
                            json={"username": "hb" + uuid.uuid4().hex[:8], "password": STRONG}).json()
        ws = websocket.create_connection(f"wss://127.0.0.1:{front}/ws", sslopt={"ca_certs": cert}, timeout=10)
        ws.send(json.dumps({"type": "hello", "id": 1, "token": bob["token"]}))
        assert json.loads(ws.recv())["type"] == "ok"
        r = requests.post(base + f"/v1/users/{bob['user']['id']}/messages", verify=cert,
                          headers={"Authorization": "Bearer " + alice["token"]}, json={"client_msg_id": "h1", "text": "via haproxy"})
        assert r.status_code == 200
        frames = []
        while not any(f.get("type") == "event" for f in frames):
            frames.append(json.loads(ws.recv()))
        assert [f for f in frames if f.get("type") == "event"][0]["event"]["text"] == "via haproxy"
        ws.close()
        sessions = requests.get(base + "/v1/account/sessions", verify=cert,
                                headers={"Authorization": "Bearer " + alice["token"]}).json()["sessions"]
        assert sessions[0]["address"] == "127.0.0.1"  # the client HAProxy saw (loopback here)
    finally:
        haproxy.terminate()
        haproxy.wait(timeout=10)
