"""The cluster pass of the integration suite (PARLEY_TEST_TOPOLOGY=cluster, with
PARLEY_TEST_STORE=postgres): every server a test starts through the fixtures of conftest.py is
three parleyd nodes with the test's settings on one PostgreSQL database, joined by the run's
NATS cluster (three nats-server processes) and Redis, with HAProxy (deploy/haproxy.cfg) in front.

Where a test's clients go:
- REST (server.base, register(), api(), login()) and raw sockets (server.port) go through HAProxy;
- each WebSocket session (Client(server) reads server.ws_url) goes to the next node in turn, so
  the users of every test sit on different nodes: what one does on node 1 the others see live on
  nodes 2 and 3, through the bus.

Tests that check one process's own listener or files (TLS, the PROXY protocol, file modes, the
data directory, signals to one PID) carry @pytest.mark.single_node and are skipped here: the
cluster adds nothing to them and they ran in the SQLite and PostgreSQL passes."""
import atexit
import itertools
import os
import shutil
import signal
import tempfile
import time
import uuid

import requests

import postgres
from cluster import HAProxy, NatsCluster, RedisServer
from harness import FAST_HASH, METRICS_TOKEN, ParleyServer, free_port

NODES = 3
# The nodes' shared token key (a test that sets --auth.secret itself overrides it: later flags win).
SECRET = "cluster-pass-shared-token-key-0123456789abcdef"
# The local media backend in a cluster: one directory (a shared file system in production)
# and one URL key for every node, so that any node serves what another signed or stored.
MEDIA_SECRET = "cluster-pass-shared-media-key-0123456789abcdef"
# Every node signs Web Push requests with one VAPID key (docs/operations.md, "Push notifications").
VAPID_KEY = "cOT67U3xqV3WFfR0L76cGGz9QSH6KSQwRqNoTlWP7v8"


def enabled():
    return os.environ.get("PARLEY_TEST_TOPOLOGY") == "cluster"


_infra = None


def _shared_infra():
    """NATS (3 routed servers) and Redis for the whole run, started on first use, stopped at exit.
    Each clustered server has its own bus subject prefix and Redis key prefix."""
    global _infra
    if _infra is None:
        base = tempfile.mkdtemp(prefix="parley-cluster-pass-")
        nats = NatsCluster(n=3, base_dir=os.path.join(base, "nats"))
        redis = RedisServer(os.path.join(base, "redis"))

        def cleanup():
            redis.cleanup()
            nats.cleanup()
            shutil.rmtree(base, ignore_errors=True)
        atexit.register(cleanup)
        _infra = (nats, redis)
    return _infra


class ClusteredServer:
    """Three parleyd nodes and HAProxy standing in for one harness.ParleyServer (same methods)."""

    def __init__(self, *args, data_dir=None, port=None, defaults=None):
        self.args = list(args)
        self.defaults = FAST_HASH if defaults is None else list(defaults)
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="parley-test-")
        nats, redis = _shared_infra()
        # One database and one pair of prefixes per data directory: a cluster started again on
        # the same directory finds its data.
        pg = postgres.shared_server()
        prefix = "c" + uuid.uuid5(uuid.NAMESPACE_URL, os.path.abspath(self.data_dir)).hex[:12]
        if self.data_dir not in _DATABASES:
            _DATABASES[self.data_dir] = pg.url(pg.create_database())
        self.store_url = _DATABASES[self.data_dir]
        urls = nats.url.split(",")
        self.nodes = []
        for node_id in range(1, NODES + 1):
            node_dir = os.path.join(self.data_dir, f"node-{node_id}")
            os.makedirs(node_dir, mode=0o700, exist_ok=True)
            first = (node_id - 1) % len(urls)
            cluster_args = ["--store.url", self.store_url, "--server.node_id", str(node_id),
                            "--bus.url", ",".join(urls[first:] + urls[:first]), "--bus.subject_prefix", prefix,
                            "--directory.url", redis.url, "--directory.key_prefix", prefix,
                            "--auth.secret", SECRET, "--server.trusted_proxies", "127.0.0.1",
                            "--media.dir", os.path.join(self.data_dir, "media"), "--media.secret", MEDIA_SECRET,
                            "--push.vapid_private_key", VAPID_KEY]
            self.nodes.append(ParleyServer(*cluster_args, *self.args, data_dir=node_dir,
                                           port=port if node_id == 1 and port else None, defaults=self.defaults))
        self.haproxy = HAProxy(free_port(), [(f"parleyd-{i + 1}", n.port) for i, n in enumerate(self.nodes)],
                               os.path.join(self.data_dir, "haproxy"), start=False)
        self._next_node = itertools.cycle(range(NODES))
        self.log_path = self.nodes[0].log_path

    # -- where clients go
    @property
    def port(self):
        return self.haproxy.port

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        """The next node's WebSocket URL (each Client(server) lands on another node)."""
        return self.nodes[next(self._next_node)].ws_url

    @property
    def proc(self):
        return self.nodes[0].proc

    # -- lifecycle
    def start(self, *extra, ready_url=None, verify=True, proxy_header=None):
        if ready_url is not None or proxy_header is not None:
            raise AssertionError("a test of one listener (TLS, PROXY protocol) must be marked single_node")
        for node in self.nodes:
            node.start(*extra)
        if not self.haproxy.alive():
            self.haproxy.start()
        # Every node in service behind HAProxy (its checks run every second, rise 2).
        deadline = time.time() + 30
        while time.time() < deadline:
            states = self.haproxy.server_states()
            if len(states) == NODES and all(s == "UP" for s in states.values()):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"HAProxy did not see every node up: {self.haproxy.server_states()}")

    def read_log(self):
        return "".join(f"==== node {i + 1}\n{n.read_log()}" for i, n in enumerate(self.nodes))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops every node; returns the first non-zero exit code, else 0."""
        codes = [node.stop(sig, timeout) for node in self.nodes]
        bad = [c for c in codes if c not in (0, None)]
        return bad[0] if bad else (0 if any(c == 0 for c in codes) else None)

    def kill9(self):
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                node.kill9()

    def cleanup(self):
        try:
            self.stop()
        finally:
            self.haproxy.stop()
            if self.owns_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- REST helpers (through HAProxy)
    register = ParleyServer.register
    login = ParleyServer.login
    api = ParleyServer.api

    def metric(self, name):
        """The sum over the nodes of one Prometheus metric."""
        total = 0.0
        for node in self.nodes:
            text = requests.get(node.base + "/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN},
                                timeout=10).text
            for line in text.splitlines():
                if line.split(" ")[0] == name:
                    total += float(line.split(" ")[1])
        return total


_DATABASES = {}

# What the cluster adds to how soon a revoked token is refused on other nodes: the revocation
# travels over the bus (docs/protocol.md 2.1: within bus.gap_wait_ms + bus.probe_ms if the bus
# lost it), plus slack for a loaded machine.
REVOCATION_SPREAD_S = 0.45 + 2


def after_revocation(call, accepted=lambda response: response.status_code == 200):
    """call() (a request with a token just revoked: REST by default); in the cluster pass,
    repeated while another node still accepts the token (up to REVOCATION_SPREAD_S; protocol.md:
    other nodes refuse it a bus hop later). Returns the last response."""
    response = call()
    if enabled():
        deadline = time.monotonic() + REVOCATION_SPREAD_S
        while accepted(response) and time.monotonic() < deadline:
            time.sleep(0.01)
            response = call()
    return response


def server_class():
    """What the fixtures start: ClusteredServer in the cluster pass, else harness.ParleyServer."""
    return ClusteredServer if enabled() else ParleyServer
