"""The cluster-mode infrastructure of tests/integration/cluster.py, not parleyd's features (those
are test_cluster.py): a NATS cluster routes messages between servers and survives a server's
restart, Redis restarts, the PostgreSQL standby is synchronous and takes over, HAProxy's
template validates and balances to ready nodes only, and the CLI's up/status/down (with a
stand-in parleyd) stops everything it started, also after a failed up. Runs once, in the SQLite
pass of scripts/test.sh (the store engine makes no difference here)."""
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import postgres
from cluster import (HAProxy, LocalCluster, NatsCluster, PostgresPair, RedisServer, check_haproxy_config, free_port,
                     http_get, load_state, down_state, pid_alive, psql, render_haproxy_config, s3rver_available,
                     wait_for)

pytestmark = pytest.mark.skipif(postgres.engine() == "postgres",
                                reason="infrastructure only; run once, in the SQLite pass")

CLUSTER_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster.py")


# --- a raw-socket NATS client (the text protocol) ---------------------------------------------

class RawNats:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        assert self._line(10).startswith(b"INFO ")
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
        self.ping()

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("NATS server closed the connection")
        self.buffer += chunk

    def _line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buffer:
            self._fill(deadline)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def ping(self, timeout=10):
        """PING → PONG: the server has processed everything sent before."""
        self.sock.sendall(b"PING\r\n")
        while True:
            line = self._line(timeout)
            if line == b"PONG":
                return
            assert not line.startswith(b"-ERR"), line

    def sub(self, subject, sid):
        self.sock.sendall(f"SUB {subject} {sid}\r\n".encode())
        self.ping()

    def pub(self, subject, payload):
        self.sock.sendall(f"PUB {subject} {len(payload)}\r\n".encode() + payload + b"\r\n")

    def next_msg(self, timeout):
        """(subject, payload) of the next MSG, or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                line = self._line(max(0.0, deadline - time.monotonic()))
                if line == b"PING":
                    self.sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    parts = line.split()
                    size = int(parts[-1])
                    while len(self.buffer) < size + 2:
                        self._fill(deadline)
                    payload, self.buffer = self.buffer[:size], self.buffer[size + 2:]
                    return parts[1].decode(), payload
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


def crosses(nats, from_server, to_server, timeout=15):
    """A message published on `from_server` reaches a subscriber on `to_server` (published
    until it arrives: the subscription's interest crosses the route asynchronously)."""
    subject = "infra.test." + uuid.uuid4().hex[:8]
    sub, pub = RawNats(nats.client_ports[to_server]), RawNats(nats.client_ports[from_server])
    try:
        sub.sub(subject, 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            payload = f"hello from server {from_server + 1}".encode()
            pub.pub(subject, payload)
            pub.ping()
            got = sub.next_msg(0.3)
            if got:
                return got == (subject, payload)
        return False
    finally:
        sub.close()
        pub.close()


@pytest.fixture(scope="module")
def nats(tmp_path_factory):
    servers = NatsCluster(n=3, base_dir=str(tmp_path_factory.mktemp("nats")))
    yield servers
    servers.stop_all()


def test_nats_servers_are_routed_and_a_message_crosses_from_server_1_to_server_3(nats):
    assert [nats.num_routes(i) for i in range(3)] == [2, 2, 2]
    assert all(nats.healthy(i) for i in range(3))  # JetStream has a meta leader
    assert nats.url == ",".join(f"nats://127.0.0.1:{p}" for p in nats.client_ports)
    jsz = nats.monitor(0, "/jsz")
    assert jsz and jsz.get("meta_cluster", {}).get("cluster_size") == 3, jsz
    assert crosses(nats, 0, 2)


def test_a_nats_server_restarts_on_its_ports_after_stop_and_after_kill(nats):
    old_pid = nats.pid(1)
    nats.stop(1)
    wait_for("the others to lose their route to server 2",
             lambda: nats.num_routes(0) == 1 and nats.num_routes(2) == 1)
    assert crosses(nats, 0, 2)  # the other two still talk
    nats.start(1)
    assert nats.pid(1) != old_pid
    assert [nats.num_routes(i) for i in range(3)] == [2, 2, 2]
    assert crosses(nats, 1, 0)
    nats.kill(2)
    assert not nats.running(2)
    nats.start(2)
    wait_for("every server to have 2 routes", lambda: [nats.num_routes(i) for i in range(3)] == [2, 2, 2])
    assert crosses(nats, 2, 1)


def test_redis_restarts_on_its_port_and_answers_ping_again(tmp_path):
    redis = RedisServer(str(tmp_path / "redis"))
    try:
        assert redis.url == f"redis://127.0.0.1:{redis.port}"
        assert redis.ping()
        old_pid = redis.pid
        redis.restart()
        assert redis.ping() and redis.pid != old_pid
        redis.stop()
        assert not redis.ping() and not pid_alive(old_pid)
    finally:
        redis.stop()


def test_postgres_standby_is_synchronous_then_takes_over_behind_the_same_url():
    pair = PostgresPair()
    try:
        primary, standby = pair.primary, pair.standby
        assert pair.sync_state() == "sync"
        assert pair.replication() == [("standby1", "streaming", "sync")]
        assert primary.query("SHOW synchronous_standby_names") == "standby1"
        assert primary.query("SHOW synchronous_commit") == "on"
        assert primary.in_recovery() is False and standby.in_recovery() is True
        db = pair.create_database()
        url = pair.url(db)
        assert url == (f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/{db}"
                       "?target_session_attrs=read-write&connect_timeout=2")
        pair.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)", db)
        # Commits wait for the standby's flush; replay (of the CREATE DATABASE too) follows
        # just after, so until then the standby may not have the database or the table yet.
        def rows_on_standby():
            try:
                return standby.query("SELECT count(*) FROM t", db)
            except RuntimeError as e:
                if "does not exist" in str(e):
                    return None
                raise
        wait_for("the row on the standby", lambda: rows_on_standby() == "1")
        assert psql(url, "SELECT inet_server_port()") == str(primary.port)

        new = pair.promote_standby()
        assert new is standby and pair.primary is standby and not primary.running()
        assert psql(url, "SELECT inet_server_port(), pg_is_in_recovery(), (SELECT count(*) FROM t)") == \
            f"{standby.port}|f|1"
        psql(url, "INSERT INTO t VALUES (2)")  # the new primary waits for no standby
        assert psql(url, "SELECT count(*) FROM t") == "2"
    finally:
        pair.cleanup()
    assert not os.path.exists(pair.dir)


# --- HAProxy ------------------------------------------------------------------------------------

class StandInNode:
    """An HTTP server answering /readyz with `status` and anything else with its name,
    remembering the X-Forwarded-For it was sent."""

    def __init__(self, name, status):
        node = self
        self.name, self.status, self.forwarded = name, status, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                code = node.status if self.path == "/readyz" else 200
                if self.path != "/readyz":
                    node.forwarded.append(self.headers.get("X-Forwarded-For"))
                body = node.name.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.handle_error = lambda *args: None  # health checks hang up early
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def config_lines(text):
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def test_haproxy_template_validates_and_sends_clients_to_ready_nodes_only(tmp_path):
    text = render_haproxy_config("127.0.0.1:8080", [("parleyd-1", 9001), ("parleyd-2", "127.0.0.1:9002")],
                                 "127.0.0.1:8404")
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    check_haproxy_config(str(path))
    lines = config_lines(text)
    for directive in ("mode http", "balance leastconn", "option httpchk GET /readyz", "http-check expect status 200",
                      "default-server check inter 1s fall 2 rise 2 observe layer4 error-limit 10 on-error mark-down",
                      "timeout connect 5s", "timeout client 60s",
                      "timeout server 60s", "timeout tunnel 1h", "timeout client-fin 5s", "option redispatch 1",
                      "retries 3", "option forwardfor", "server parleyd-1 127.0.0.1:9001",
                      "server parleyd-2 127.0.0.1:9002", "bind 127.0.0.1:8404"):
        assert directive in lines, directive
    assert not [line for line in lines if "shutdown-sessions" in line or "http-server-close" in line]
    assert all(int(line.split()[1]) < 10000 for line in lines if line.startswith("maxconn"))

    ready, draining = StandInNode("ready", 200), StandInNode("draining", 503)
    proxy = HAProxy(free_port(), [("ready", ready.port), ("draining", draining.port)], str(tmp_path / "run"))
    try:
        wait_for("HAProxy to mark the 503 node down and the 200 node up",
                 lambda: proxy.server_states() == {"ready": "UP", "draining": "DOWN"}, timeout=30)
        for _ in range(6):
            assert http_get(proxy.url + "/who") == (200, "ready")
        assert ready.forwarded[-6:] == ["127.0.0.1"] * 6 and not draining.forwarded
        draining.status = 200  # rise 2: back in the pool within seconds
        wait_for("the node to come back", lambda: proxy.server_states().get("draining") == "UP", timeout=30)
        # A node that dies (its port refuses): no request fails while the checks have not noticed
        # (each refused connection is retried on the other node), and the refusals themselves
        # mark it down (observe layer4), as the checks would.
        draining.close()
        for _ in range(12):
            assert http_get(proxy.url + "/who") == (200, "ready")
        wait_for("the dead node to be marked down", lambda: proxy.server_states().get("draining") == "DOWN",
                 timeout=30)
    finally:
        proxy.stop()
        ready.close()
        draining.close()
    assert not pid_alive(proxy.proc.pid)


# --- the CLI and LocalCluster, with a stand-in parleyd -----------------------------------------

FAKE_PARLEYD = r'''#!{python}
# A stand-in for parleyd: checks the cluster's flags, answers /readyz on both ports.
import os, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM, signal.SIGINT}})
args = sys.argv[1:]
opts = dict(zip(args[::2], args[1::2]))
if os.environ.get("FAKE_FAIL_NODE") == opts.get("--server.node_id"):
    print("unknown option --bus.url (stand-in)", flush=True)
    sys.exit(2)
problems = []
if not 1 <= int(opts.get("--server.node_id", "0")) <= 1023: problems.append("node_id")
if "target_session_attrs=read-write" not in opts.get("--store.url", "") or "," not in opts["--store.url"]:
    problems.append("store.url")
if len(opts.get("--bus.url", "").split(",")) != 3: problems.append("bus.url")
if not opts.get("--directory.url", "").startswith("redis://127.0.0.1:"): problems.append("directory.url")
if len(os.environ.get("PARLEY_AUTH_SECRET", "")) < 32: problems.append("PARLEY_AUTH_SECRET")
if problems:
    print("bad flags:", problems, args, flush=True)
    sys.exit(3)
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
for key in ("--listen", "--server.metrics_listen"):
    host, port = opts[key].rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.handle_error = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("stand-in parleyd serving", flush=True)
signal.sigwait({{signal.SIGTERM, signal.SIGINT}})
'''


@pytest.fixture(scope="module")
def scratch():
    """A directory the postgres user can reach (pytest's tmp_path is private to root), with a
    stand-in parleyd."""
    directory = tempfile.mkdtemp(prefix="parley-infra-")
    os.chmod(directory, 0o755)
    fake = os.path.join(directory, "parleyd")
    with open(fake, "w") as f:
        f.write(FAKE_PARLEYD.format(python=sys.executable))
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    yield directory, fake
    for name in ("cluster", "cluster-b"):
        state = load_state(os.path.join(directory, name))
        if state:  # a failed test: stop what it left
            down_state(state, out=lambda *a: None)
    shutil.rmtree(directory, ignore_errors=True)


def cli(*args, env=None):
    return subprocess.run([sys.executable, CLUSTER_PY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300, env=dict(os.environ, **(env or {})))


def recorded(state):
    return [(c["component"], c["pid"], c["starttime"]) for c in state["components"] if c.get("pid")]


def test_cli_down_stops_everything_after_a_failed_up(scratch):
    directory, fake = scratch
    where = os.path.join(directory, "cluster")
    # A node that cannot start: up fails naming it, with its log; the rest stays for `down`.
    r = cli("up", "--nodes", "2", "--dir", where, "--port", str(free_port()), "--parleyd", fake,
            env={"FAKE_FAIL_NODE": "2"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "parleyd-2" in r.stderr and "unknown option --bus.url (stand-in)" in r.stderr and " down " in r.stderr
    state = load_state(where)
    media = {"s3rver"} if s3rver_available() else set()  # the media store, when it is installed
    assert {c["kind"] for c in state["components"]} == {"nats", "redis", "postgres", "parleyd"} | media
    started = recorded(state)
    assert len(started) == 3 + 1 + 2 + 2 + len(media)
    assert [name for name, pid, t in started if not pid_alive(pid, t)] == ["parleyd-2"]
    assert cli("status", "--dir", where).returncode == 2
    r = cli("down", "--dir", where)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [name for name, pid, t in started if pid_alive(pid, t)]
    assert load_state(where) is None and os.path.exists(os.path.join(where, "postgres"))  # data kept


def test_cluster_nodes_are_killed_stopped_and_started_again_then_the_cli_takes_it_down(scratch):
    directory, fake = scratch
    where = os.path.join(directory, "cluster-b")
    cluster = LocalCluster(where, parleyd=fake, state_path=os.path.join(where, "cluster.json"))
    try:
        cluster.up(nodes=2)
        assert all(s["healthy"] for s in cluster.status()), cluster.status()
        assert [c["component"] for c in load_state(where)["components"]] == [
            "parley-nats-1", "parley-nats-2", "parley-nats-3", "redis", "postgres-primary", "postgres-standby",
            "parleyd-1", "parleyd-2", "haproxy"]
        node = cluster.node(1)
        port, pid = node.port, node.pid
        cluster.kill_node(1)
        assert not pid_alive(pid)
        wait_for("HAProxy to mark the killed node down",
                 lambda: cluster.haproxy.server_states().get("parleyd-1") == "DOWN")
        assert http_get(cluster.haproxy.url + "/readyz")[0] == 200  # the other node serves
        assert [s["healthy"] for s in cluster.status() if s["component"] == "parleyd-1"] == [False]
        cluster.start_node(1)
        assert node.port == port and node.pid != pid and node.ready()
        assert cluster.stop_node(2) == 0  # SIGTERM: a clean exit
        cluster.start_node(2)
        wait_for("HAProxy to have both nodes up",
                 lambda: cluster.haproxy.server_states() == {"parleyd-1": "UP", "parleyd-2": "UP"})
        # The CLI's stop-node / start-node, from the state file alone (cluster.sh stop-node N).
        for node_id, how in ((1, ["--kill"]), (2, [])):
            before = next(c for c in load_state(where)["components"] if c.get("node_id") == node_id)
            r = cli("stop-node", str(node_id), *how, "--dir", where)
            assert r.returncode == 0 and f"parleyd-{node_id} (pid {before['pid']}): stopped" in r.stdout, r.stdout + r.stderr
            assert not pid_alive(before["pid"], before["starttime"])
            r = cli("start-node", str(node_id), "--dir", where)
            assert r.returncode == 0 and "started" in r.stdout, r.stdout + r.stderr
            after = next(c for c in load_state(where)["components"] if c.get("node_id") == node_id)
            assert after["pid"] != before["pid"] and pid_alive(after["pid"], after["starttime"])
            assert after["port"] == before["port"] and http_get(f"http://127.0.0.1:{after['port']}/readyz")[0] == 200
        assert "already running" in cli("start-node", "2", "--dir", where).stdout
        r = cli("stop-node", "9", "--dir", where)
        assert r.returncode != 0 and "no node 9" in r.stderr
        # The CLI reads the state file this cluster keeps.
        r = cli("status", "--dir", where)
        assert r.returncode == 0, r.stdout
        assert cli("up", "--dir", where, "--port", str(free_port()), "--parleyd", fake).returncode == 1  # already up
    finally:
        started = recorded(load_state(where) or cluster.state())  # the file: start-node updated it
        r = cli("down", "--dir", where, "--wipe")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(started) == 9 and not [name for name, p, t in started if pid_alive(p, t)]
    assert not os.path.exists(where)
