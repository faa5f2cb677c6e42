"""Test harness: real parleyd processes on free loopback ports, real WebSocket clients.

ParleyServer starts the binary named by $PARLEYD with a temporary data directory; Client is a
WebSocket client (websocket-client library) speaking the protocol of docs/protocol.md.
"""
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import requests
import websocket

import postgres
from ports import free_port  # noqa: F401 (tests import it from here)

PARLEYD = os.environ.get("PARLEYD", os.path.join(os.path.dirname(__file__), "../../build/src/app/parleyd"))

# Fast password hashing for tests only (the defaults are argon2id "interactive"), and sign-ups
# unthrottled: every test registers its users from 127.0.0.1. The throttles themselves are
# tested with their own settings (test_accounts.py).
FAST_HASH = ["--auth.argon2_opslimit", "1", "--auth.argon2_memlimit_kb", "8",
             "--auth.signups_per_address_per_hour", "1000000", "--auth.max_pending_hashes_per_address", "1024",
             "--server.metrics_token", "metrics-token-for-the-tests-0123456789"]
METRICS_TOKEN = FAST_HASH[-1]


# Tests that send bursts run against servers with the per-session and per-user rate limits
# lifted; the limits themselves are tested against the defaults or their own settings.
HIGH_RATE = ["--limits.frames_per_second", "100000", "--limits.frames_burst", "100000",
             "--limits.user_requests_per_second", "100000", "--limits.user_requests_burst", "100000"]


_DATABASES = {}  # data directory -> PostgreSQL URL (PARLEY_TEST_STORE=postgres)


class ParleyServer:
    def __init__(self, *args, data_dir=None, port=None, defaults=None):
        self.args = list(args)
        self.defaults = FAST_HASH if defaults is None else list(defaults)
        self.port = port or free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="parley-test-")
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "parleyd.log")
        # PARLEY_TEST_STORE=postgres: a database per data directory (a server restarted on the
        # same directory finds its data) on the run's PostgreSQL server, unless the test chose a
        # store itself.
        self.store_url = None
        if postgres.engine() == "postgres" and "--store.url" not in self.args:
            if self.data_dir not in _DATABASES:
                pg = postgres.shared_server()
                _DATABASES[self.data_dir] = pg.url(pg.create_database())
            self.store_url = _DATABASES[self.data_dir]

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, *extra, ready_url=None, verify=True, proxy_header=None):
        """Starts parleyd and waits until /readyz answers 200: over TLS with `ready_url` (and the
        CA file `verify`), or, when it expects the PROXY protocol, after `proxy_header`."""
        store = ["--store.url", self.store_url] if self.store_url and "--store.url" not in extra else []
        cmd = [PARLEYD, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir, *self.defaults, *store,
               *self.args, *extra]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"parleyd exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if proxy_header is not None and self._ready_behind_proxy(proxy_header):
                    return self
                if proxy_header is None and requests.get(ready_url or self.base + "/readyz", verify=verify,
                                                         timeout=0.5).status_code == 200:
                    return self
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("parleyd did not become ready:\n" + self.read_log())

    def _ready_behind_proxy(self, proxy_header):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(proxy_header + b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return b" 200 " in sock.recv(4096).split(b"\r\n")[0]

    def read_log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the server; returns its exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("parleyd did not stop in time:\n" + self.read_log())
        finally:
            self.log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- REST helpers ---
    def register(self, username=None, password="correct horse", **extra):
        username = username or "u" + uuid.uuid4().hex[:12]
        r = requests.post(self.base + "/v1/auth/register", json={"username": username, "password": password, **extra})
        assert r.status_code == 201, r.text
        body = r.json()
        return User(self, body["user"], body["token"], password)

    def login(self, username, password):
        return requests.post(self.base + "/v1/auth/login", json={"username": username, "password": password})

    def metric(self, name):
        """The value of one Prometheus metric of this server (0 if absent)."""
        text = requests.get(self.base + "/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN}, timeout=10).text
        for line in text.splitlines():
            if line.split(" ")[0] == name:
                return float(line.split(" ")[1])
        return 0.0

    def api(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = "Bearer " + token
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kwargs)


class User:
    def __init__(self, server, user, token, password):
        self.server = server
        self.id = user["id"]
        self.username = user["username"]
        self.token = token
        self.password = password

    def connect(self, **kwargs):
        return Client(self.server, self.token, **kwargs)

    def api(self, method, path, **kwargs):
        return self.server.api(method, path, token=self.token, **kwargs)


class ProtocolError(AssertionError):
    pass


class Client:
    """A WebSocket session. request() sends a frame with a fresh id and returns its reply;
    events and other unsolicited frames are buffered in self.events / self.frames."""

    _ids = itertools.count(1)

    def __init__(self, server, token=None, hello=True, timeout=10, url=None, device=None, **ws_options):
        self.server = server
        self.timeout = timeout
        self.ws = websocket.create_connection(url or server.ws_url, timeout=timeout, **ws_options)
        self.events = []       # "event" payloads in arrival order
        self.frames = []       # every frame received, parsed
        self.close_code = None
        self.hello_reply = None
        if hello:
            fields = {"token": token}
            if device:
                fields["device"] = device
            self.hello_reply = self.request("hello", **fields)
            assert self.hello_reply["type"] == "ok", self.hello_reply

    def send_json(self, obj):
        self.ws.send(json.dumps(obj))

    def recv_frame(self, timeout=None):
        """Next frame (parsed), or None once the server closed the connection."""
        self.ws.settimeout(timeout or self.timeout)
        try:
            opcode, data = self.ws.recv_data(control_frame=False)
        except websocket.WebSocketConnectionClosedException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
            return None
        frame = json.loads(data)
        self.frames.append(frame)
        if frame.get("type") == "event":
            self.events.append(frame["event"])
        return frame

    def request(self, type_, **fields):
        request_id = f"r{next(self._ids)}"
        self.send_json({"type": type_, "id": request_id, **fields})
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            frame = self.recv_frame(timeout=max(0.05, deadline - time.time()))
            if frame is None:
                raise ProtocolError(f"connection closed (code {self.close_code}) waiting for reply to {type_}")
            if frame.get("id") == request_id:
                return frame
        raise ProtocolError(f"no reply to {type_}")

    def ok(self, type_, **fields):
        reply = self.request(type_, **fields)
        if reply["type"] not in ("ok", "ack", "pong"):
            raise ProtocolError(f"{type_} failed: {reply}")
        return reply

    def send_text(self, conversation_id=None, text="hello", client_msg_id=None, to_user_id=None):
        fields = {"client_msg_id": client_msg_id or uuid.uuid4().hex, "text": text}
        if to_user_id:
            fields["to_user_id"] = to_user_id
        else:
            fields["conversation_id"] = conversation_id
        return self.ok("send", **fields)

    def wait_events(self, predicate, count=1, timeout=None):
        """Waits until `count` buffered events satisfy `predicate`; returns them."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            matching = [e for e in self.events if predicate(e)]
            if len(matching) >= count:
                return matching
            remaining = deadline - time.time()
            if remaining <= 0:
                raise ProtocolError(f"only {len(matching)} of {count} events arrived")
            if self.recv_frame(timeout=remaining) is None:
                raise ProtocolError(f"connection closed (code {self.close_code}) with {len(matching)} of {count} events")

    def wait_close(self, timeout=None):
        """Reads until the server closes; returns the close code."""
        deadline = time.time() + (timeout or self.timeout)
        while time.time() < deadline:
            try:
                if self.recv_frame(timeout=max(0.05, deadline - time.time())) is None:
                    return self.close_code
            except websocket.WebSocketTimeoutException:
                break
        raise ProtocolError("server did not close the connection")

    def sync_all(self, cursor, limit=None):
        """Pages sync from `cursor` until has_more is false; returns (events, final cursor, pages)."""
        events, pages = [], 0
        while True:
            fields = {"cursor": cursor}
            if limit:
                fields["limit"] = limit
            reply = self.ok("sync", **fields)
            pages += 1
            events.extend(reply["events"])
            assert reply["cursor"] >= cursor
            cursor = reply["cursor"]
            if not reply["has_more"]:
                return events, cursor, pages

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass



def frames_of(client, type_, predicate=lambda f: True, count=1, timeout=10):
    """Waits until `count` received frames of `type_` satisfy `predicate`; returns them."""
    deadline = time.time() + timeout
    while True:
        found = [f for f in client.frames if f.get("type") == type_ and predicate(f)]
        if len(found) >= count:
            return found
        if time.time() > deadline:
            raise AssertionError(f"only {len(found)} '{type_}' frames")
        client.recv_frame(timeout=max(0.05, deadline - time.time()))


def settle(client, seconds=0.4):
    """Reads whatever arrives for a moment (to prove something did NOT arrive)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            client.recv_frame(timeout=max(0.05, deadline - time.time()))
        except Exception:
            break

def assert_gap_free(events_by_conversation):
    """Each conversation's seqs are consecutive, with no duplicates."""
    for conversation_id, events in events_by_conversation.items():
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"conversation {conversation_id}: {seqs}"


def by_conversation(events):
    out = {}
    for e in events:
        out.setdefault(e["conversation_id"], []).append(e)
    return out


class RawWs:
    """A hand-driven WebSocket client for malformed traffic: builds frames byte by byte."""

    def __init__(self, server, token=None, rcvbuf=None):
        import base64 as b64
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", server.port))
        self.sock.settimeout(10)
        key = b64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during handshake"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        if token:
            self.send_text(json.dumps({"type": "hello", "id": "h", "token": token}))
            reply = self.recv_json()
            assert reply["type"] == "ok", reply

    @staticmethod
    def frame(opcode, payload, fin=True, mask=True, rsv=0, length_override=None):
        first = (0x80 if fin else 0) | rsv | opcode
        n = len(payload) if length_override is None else length_override
        mask_bit = 0x80 if mask else 0
        if n < 126:
            header = bytes([first, mask_bit | n])
        elif n < 65536:
            header = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
        if not mask:
            return header + payload
        key = os.urandom(4)
        return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_text(self, text):
        self.send_raw(self.frame(0x1, text.encode() if isinstance(text, str) else text))

    def recv_frame(self, timeout=10):
        """(opcode, payload) of the next server frame, or (None, b'') on EOF."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 2:
                n = self.buffer[1] & 0x7F
                at = 2
                if n == 126 and len(self.buffer) >= 4:
                    n, at = int.from_bytes(self.buffer[2:4], "big"), 4
                elif n == 127 and len(self.buffer) >= 10:
                    n, at = int.from_bytes(self.buffer[2:10], "big"), 10
                if n < 126 or at > 2:
                    if len(self.buffer) >= at + n:
                        opcode, payload = self.buffer[0] & 0x0F, self.buffer[at:at + n]
                        self.buffer = self.buffer[at + n:]
                        return opcode, payload
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None, b""
            if not chunk:
                return None, b""
            self.buffer += chunk

    def recv_json(self, timeout=10):
        while True:
            opcode, payload = self.recv_frame(timeout)
            if opcode == 0x1:
                return json.loads(payload)
            if opcode in (0x8, None):
                raise AssertionError(f"closed: {payload[:2].hex() if payload else 'EOF'}")

    def close_code(self, timeout=10):
        """Reads until a close frame (returns its code) or EOF (returns None)."""
        while True:
            opcode, payload = self.recv_frame(timeout)
            if opcode is None:
                return None
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005

    def close(self):
        self.sock.close()


# Fuzz seeds (tests/fuzz/make_corpus.py): with PARLEY_FRAME_LOG=path, every WebSocket message, raw
# frame and HTTP request the tests send is appended to path as one JSON line.
if os.environ.get("PARLEY_FRAME_LOG"):
    def _log_sent(entry, path=os.environ["PARLEY_FRAME_LOG"]):
        with open(path, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def _text(data):
        return data if isinstance(data, str) else bytes(data).decode("utf-8", "surrogateescape")

    def _logged(send, describe):
        def wrapper(*args, **kwargs):
            _log_sent(describe(*args, **kwargs))
            return send(*args, **kwargs)
        return wrapper

    websocket.WebSocket.send = _logged(websocket.WebSocket.send, lambda ws, payload, *a, **k: {"ws": _text(payload)})
    RawWs.send_raw = _logged(RawWs.send_raw, lambda raw, data: {"ws_raw": bytes(data).hex()})

    def _describe_http(session, method, url, params=None, data=None, json=None, **kwargs):
        request = requests.Request(method, url, params=params, data=data, json=json).prepare()
        return {"http": f"{request.method} {request.path_url}", "body": _text(request.body or "")}
    requests.Session.request = _logged(requests.Session.request, _describe_http)
