"""The whole cluster shape under faults, as clients see it through HAProxy: three parleyd nodes,
three NATS servers, Redis, PostgreSQL with a synchronous standby (tests/integration/cluster.py,
the code behind scripts/cluster.sh). Clients behave as docs/protocol.md tells them to: on a
close they reconnect (through HAProxy, to whichever node it picks), sync from their cursor and
resend what was not acked with the same client_msg_id.

- A rolling restart of every node under load: nothing acked is lost or doubled, every watcher
  gets every message, and each client reconnects only because its own node went away (close
  1001, the documented "reconnect elsewhere").
- A PostgreSQL failover (the primary dies, the standby is promoted behind the same multi-host
  URL): the nodes follow, nothing acked is lost (synchronous replication).
- A node killed (-9), one NATS server restarted and then all of them, Redis restarted (presence
  comes back), PostgreSQL restarted after a crash: nothing acked lost, doubled or missed.
- A network partition: a node in a network namespace of its own loses its only link under
  load; its clients move, nothing it could not store is acked, and it serves again when the
  link returns.

Runs once, in the SQLite pass of scripts/test.sh (it brings its own servers)."""
import os
import shutil
import tempfile
import subprocess
import threading
import time
import uuid

import pytest
import websocket

import postgres
from cluster import LocalCluster, tail, wait_for
from harness import HIGH_RATE, Client, ProtocolError

pytestmark = pytest.mark.skipif(postgres.engine() == "postgres",
                                reason="cluster tests bring their own databases; run once, in the SQLite pass")

GOING_AWAY = 1001


@pytest.fixture
def cluster():
    # The postgres user must reach the data directories: not under pytest's private tmp_path.
    base = tempfile.mkdtemp(prefix="parley-faults-")
    os.chmod(base, 0o755)
    c = LocalCluster(base, node_args=["--server.trusted_proxies", "127.0.0.1", "--server.drain_ms", "3000",
                                      *HIGH_RATE])
    try:
        c.up(nodes=3)
        yield c
    finally:
        c.down()
        shutil.rmtree(base, ignore_errors=True)


def connect(cluster, user):
    """A session through HAProxy; retried while no node takes it (all draining, store failing over)."""
    deadline = time.time() + 30
    while True:
        try:
            return Client(cluster.nodes[0], user.token, url=f"ws://127.0.0.1:{cluster.front_port}/ws", timeout=10)
        except (OSError, AssertionError, websocket.WebSocketException):  # ProtocolError is an AssertionError
            if time.time() > deadline:
                raise
            time.sleep(0.2)


class Chatter:
    """A user that keeps sending to one conversation through HAProxy, as a real client would:
    on a lost connection it reconnects and resends its unacked message with the same id."""

    def __init__(self, cluster, user, conversation):
        self.cluster, self.user, self.conversation = cluster, user, conversation
        self.acked = {}          # client_msg_id -> seq
        self.reconnects = []     # close codes that made it reconnect
        self.nodes = []          # the node_id of each session, in order
        self.acked_at = {}       # client_msg_id -> time.monotonic() of its ack
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            session = connect(self.cluster, self.user)
            self.nodes.append(session.hello_reply["server"]["node_id"])
            pending = None
            while not self.stop.is_set():
                pending = pending or uuid.uuid4().hex
                try:
                    reply = session.request("send", conversation_id=self.conversation, client_msg_id=pending,
                                            text="m " + pending)
                except (ProtocolError, OSError, websocket.WebSocketException):
                    self.reconnects.append(session.close_code)
                    session.close()
                    session = connect(self.cluster, self.user)
                    self.nodes.append(session.hello_reply["server"]["node_id"])
                    continue  # the same client_msg_id again: stored once whatever happened
                if reply["type"] == "ack":
                    self.acked[pending] = reply["seq"]
                    self.acked_at[pending] = time.monotonic()
                    pending = None
                elif reply.get("code") == "unavailable":
                    time.sleep(0.1)  # draining or the store failing over: retry the same id
                else:
                    self.errors.append(reply)
                    return
                time.sleep(0.01)
            session.close()
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))


class Watcher:
    """A member that only listens through HAProxy; after a reconnect it syncs from its cursor.
    As docs/protocol.md 11.2 says, a connection silent for a while gets an application ping, and
    one whose ping goes unanswered is taken for dead (a node cut off by a partition closes
    nothing)."""

    QUIET_S = 2.0        # silence before a ping
    PING_TIMEOUT_S = 5.0  # no answer to it: dead

    def __init__(self, cluster, user, conversation):
        self.cluster, self.user, self.conversation = cluster, user, conversation
        self.seen = {}  # seq -> client_msg_id, from live events and sync
        self.log = []   # (what, seq range, cursor) around reconnects, for failure messages
        self.reconnects = []
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def take(self, events):
        for e in events:
            if e.get("conversation_id") == self.conversation and e.get("kind") == "text":
                self.seen.setdefault(e["seq"], e["text"][2:])
        return max([e["pos"] for e in events], default=0)

    def take_live(self, session):
        """Live events the session buffered, also those that came while it waited for a reply."""
        events, session.events = session.events, []
        return self.take(events)

    def run(self):
        try:
            session = self.session
            cursor = session.hello_reply["cursor"]
            heard, pinged = time.monotonic(), None
            while not self.stop.is_set():
                try:
                    frame = session.recv_frame(timeout=0.5)
                    heard, pinged = time.monotonic(), None
                except websocket.WebSocketTimeoutException:
                    now = time.monotonic()
                    if pinged is None and now - heard > self.QUIET_S:
                        try:
                            session.send_json({"type": "ping", "id": "heartbeat"})
                        except (OSError, websocket.WebSocketException):
                            pass
                        pinged = now
                    if pinged is None or now - pinged < self.PING_TIMEOUT_S:
                        continue
                    session.close()
                    frame = None  # no answer: dead
                except (OSError, websocket.WebSocketException):
                    frame = None
                if frame is None:
                    self.reconnects.append(session.close_code)
                    self.log.append(("closed", session.close_code, max(self.seen, default=0), cursor))
                    session = connect(self.cluster, self.user)
                    events, _, _ = session.sync_all(cursor)
                    cursor = max(cursor, self.take(events), self.take_live(session))
                    self.log.append(("synced", [e.get("seq") for e in events], session.hello_reply["cursor"],
                                     session.hello_reply["server"]["node_id"]))
                    heard, pinged = time.monotonic(), None
                    continue
                cursor = max(cursor, self.take_live(session))
            # Whatever was committed before the stop and not yet received.
            events, _, _ = session.sync_all(cursor)
            self.take(events)
            self.take_live(session)
            session.close()
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))


def start_load(cluster, senders=6):
    owner = cluster.nodes[0].register()
    users = [cluster.nodes[i % 3].register() for i in range(senders)]
    watcher_user = cluster.nodes[2].register()
    s = Client(cluster.nodes[0], owner.token)
    group = s.ok("group.create", title="faults", member_ids=[u.id for u in users] + [watcher_user.id])[
        "conversation"]["id"]
    s.close()
    chatters = [Chatter(cluster, u, group) for u in users]
    watcher = Watcher(cluster, watcher_user, group)
    watcher.session = connect(cluster, watcher_user)  # connected before the first message
    watcher.thread.start()
    for ch in chatters:
        ch.thread.start()
    return group, chatters, watcher, owner


def acked_total(chatters):
    return sum(len(ch.acked) for ch in chatters)


def stop_load(chatters, watcher):
    for ch in chatters:
        ch.stop.set()
    for ch in chatters:
        ch.thread.join(timeout=60)
    time.sleep(0.5)
    watcher.stop.set()
    watcher.thread.join(timeout=60)


def check_nothing_lost(cluster, group, chatters, watcher, owner):
    errors = [e for ch in chatters for e in ch.errors] + watcher.errors
    assert not errors, errors
    acked = {cid: seq for ch in chatters for cid, seq in ch.acked.items()}
    # The store: every acked message exactly once, at the seq its ack named, seq gap-free.
    s = Client(cluster.nodes[0], owner.token, url=f"ws://127.0.0.1:{cluster.front_port}/ws")
    stored, before = {}, None
    while True:
        fields = {"conversation_id": group, "limit": 100}
        if before:
            fields["before_seq"] = before
        page = s.ok("history", **fields)
        for e in page["events"]:
            if e.get("kind") == "text":
                stored[e["seq"]] = e["text"][2:]
        if not page["has_more"] or not page["events"]:
            break
        before = page["events"][0]["seq"]
    s.close()
    by_id = {}
    for seq, cid in stored.items():
        assert cid not in by_id, f"message {cid} stored twice (seq {by_id[cid]} and {seq})"
        by_id[cid] = seq
    for cid, seq in acked.items():
        assert by_id.get(cid) == seq, f"acked message {cid} (seq {seq}) is not stored at that seq"
    seqs = sorted(stored)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in seq"
    # The watcher saw every stored message, live or by sync after its reconnects.
    missing = sorted(set(stored) - set(watcher.seen))
    assert not missing, f"seqs {missing} never reached the watcher (its reconnects: {watcher.log})"
    assert all(watcher.seen[seq] == stored[seq] for seq in stored)
    return acked


def test_a_rolling_restart_of_every_node_under_load_loses_nothing(cluster):
    group, chatters, watcher, owner = start_load(cluster)
    wait_for("the load to get going", lambda: acked_total(chatters) >= 100, timeout=60)
    for node in cluster.nodes:
        before = acked_total(chatters)
        assert cluster.stop_node(node.node_id) == 0  # drains, then closes its sessions with 1001
        cluster.start_node(node.node_id)
        wait_for(f"HAProxy to see {node.name} up again",
                 lambda: cluster.haproxy.server_states().get(node.name) == "UP", timeout=30)
        wait_for("messages to keep flowing", lambda: acked_total(chatters) >= before + 50, timeout=60)
    stop_load(chatters, watcher)
    acked = check_nothing_lost(cluster, group, chatters, watcher, owner)
    assert len(acked) >= 250
    # Clients moved only because their node went away: every close was the drain's 1001, and
    # nobody reconnected more often than there were restarts.
    closes = [code for ch in chatters for code in ch.reconnects] + watcher.reconnects
    assert closes, "no client was ever on a restarted node?"
    assert set(closes) == {GOING_AWAY}, closes
    assert max(len(ch.reconnects) for ch in chatters + [watcher]) <= len(cluster.nodes)


def test_a_postgres_failover_under_load_loses_nothing_acked(cluster):
    group, chatters, watcher, owner = start_load(cluster, senders=4)
    wait_for("the load to get going", lambda: acked_total(chatters) >= 100, timeout=60)
    before = acked_total(chatters)
    cluster.postgres.promote_standby()  # the primary dies at once; the standby takes over
    # The nodes' multi-host store.url finds the new primary; writes resume.
    wait_for("writes to resume on the promoted standby", lambda: acked_total(chatters) >= before + 100, timeout=90)
    stop_load(chatters, watcher)
    check_nothing_lost(cluster, group, chatters, watcher, owner)


def test_a_node_killed_under_load_loses_nothing_and_its_clients_move(cluster):
    group, chatters, watcher, owner = start_load(cluster)
    wait_for("the load to get going on node 2",
             lambda: acked_total(chatters) >= 100 and any(ch.nodes and ch.nodes[-1] == 2 for ch in chatters),
             timeout=60, detail=lambda: str([ch.nodes for ch in chatters]))
    on_node2 = [ch for ch in chatters if ch.nodes[-1] == 2]
    cluster.kill_node(2)  # kill -9: no drain, no close frame
    killed_at = time.monotonic()
    wait_for("every client of node 2 to be acked again on another node",
             lambda: all(ch.nodes[-1] != 2 and any(at > killed_at for at in ch.acked_at.values()) for ch in on_node2),
             timeout=60, detail=lambda: str([(ch.nodes, ch.errors) for ch in on_node2]))
    before = acked_total(chatters)
    cluster.start_node(2)
    wait_for("messages to keep flowing", lambda: acked_total(chatters) >= before + 50, timeout=60)
    stop_load(chatters, watcher)
    check_nothing_lost(cluster, group, chatters, watcher, owner)


def test_nats_servers_restarted_one_then_all_under_load_lose_nothing(cluster):
    group, chatters, watcher, owner = start_load(cluster, senders=4)
    wait_for("the load to get going", lambda: acked_total(chatters) >= 100, timeout=60)
    before = acked_total(chatters)
    cluster.nats.kill(0)  # the first server of node 1
    cluster.nats.start(0)
    wait_for("messages to keep flowing", lambda: acked_total(chatters) >= before + 50, timeout=60)
    before = acked_total(chatters)
    for i in range(cluster.nats.n):  # all of them: the store carries everything meanwhile
        cluster.nats.stop(i)
    wait_for("messages to flow with no NATS at all", lambda: acked_total(chatters) >= before + 50, timeout=60)
    cluster.nats.start_all()
    before = acked_total(chatters)
    wait_for("messages to keep flowing", lambda: acked_total(chatters) >= before + 50, timeout=60)
    stop_load(chatters, watcher)
    check_nothing_lost(cluster, group, chatters, watcher, owner)
    assert not [c for ch in chatters for c in ch.reconnects] + watcher.reconnects  # NATS is not the clients' link


def test_redis_restarted_under_load_loses_nothing_and_presence_returns(cluster):
    group, chatters, watcher, owner = start_load(cluster, senders=4)
    wait_for("the load to get going", lambda: acked_total(chatters) >= 100, timeout=60)
    peer = Client(cluster.nodes[0], owner.token, url=f"ws://127.0.0.1:{cluster.front_port}/ws")

    def status_of_watcher():
        return peer.ok("presence.get", user_ids=[watcher.user.id])["users"][0]["status"]
    assert status_of_watcher() == "online"
    cluster.redis.kill()
    before = acked_total(chatters)
    wait_for("messages to flow without Redis", lambda: acked_total(chatters) >= before + 50, timeout=60)
    cluster.redis.start()  # empty: the nodes put their users back at their next full report
    before = acked_total(chatters)
    wait_for("messages to keep flowing", lambda: acked_total(chatters) >= before + 50, timeout=60)
    wait_for("the watcher to show online again", lambda: status_of_watcher() == "online", timeout=60)
    peer.close()
    stop_load(chatters, watcher)
    check_nothing_lost(cluster, group, chatters, watcher, owner)


def test_postgres_restarted_under_load_loses_nothing_acked(cluster):
    group, chatters, watcher, owner = start_load(cluster, senders=4)
    wait_for("the load to get going", lambda: acked_total(chatters) >= 100, timeout=60)
    primary = cluster.postgres.primary
    primary.stop("immediate")  # a crash: recovery at the next start
    time.sleep(1)
    primary.start()
    before = acked_total(chatters)
    wait_for("writes to resume", lambda: acked_total(chatters) >= before + 100, timeout=90)
    stop_load(chatters, watcher)
    check_nothing_lost(cluster, group, chatters, watcher, owner)


def test_the_cpp_client_works_through_haproxy(cluster, tmp_path):
    # HAProxy sends header names in lower case ("sec-websocket-accept"): the C++ client (here
    # the `parley` CLI) once took that for a refused upgrade.
    import json
    import subprocess
    from test_cli import CLI, clean_env
    alice, bob = cluster.nodes[0].register(), cluster.nodes[1].register()
    front = f"http://127.0.0.1:{cluster.front_port}"
    config = str(tmp_path / "alice.json")
    base = [CLI, "--config", config, "--server", front]
    login = subprocess.run(base + ["login", alice.username, "--password", alice.password], capture_output=True,
                           text=True, timeout=30, env=clean_env(tmp_path))
    assert login.returncode == 0, login.stderr
    sent = subprocess.run(base + ["--json", "send", "--to", bob.username, "through haproxy"], capture_output=True,
                          text=True, timeout=30, env=clean_env(tmp_path))
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout.splitlines()[-1])["seq"] == 1


# --- a network partition --------------------------------------------------------------------------

def _ip(*args, check=True):
    out = subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stdout}")
    return out


class Partition:
    """Node 3 in a network namespace of its own, joined to the rest by one veth link: NATS, Redis
    and PostgreSQL listen on an extra address of the loopback interface (`service`), which the
    nodes outside reach locally and node 3 over the link; HAProxy reaches node 3 over the link
    too. cut() puts the link down (nothing is closed: packets just stop), heal() brings it back."""

    def __init__(self):
        tag = f"{os.getpid() % 10000}{uuid.uuid4().hex[:3]}"
        octet = 200 + int(uuid.uuid4().hex[:2], 16) % 50
        third = int(uuid.uuid4().hex[:2], 16)
        self.netns, self.outside, self.inside = f"parley-{tag}", f"ppo{tag}", f"ppi{tag}"
        self.gateway, self.node_address = f"10.{octet}.{third}.1", f"10.{octet}.{third}.2"
        self.service, self.net = f"10.{octet}.{third}.5", f"10.{octet}.{third}.0/24"
        _ip("netns", "add", self.netns)
        try:
            _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
            _ip("link", "set", self.inside, "netns", self.netns)
            _ip("addr", "add", f"{self.gateway}/30", "dev", self.outside)
            _ip("link", "set", self.outside, "up")
            _ip("addr", "add", f"{self.service}/32", "dev", "lo")
            inside = ["netns", "exec", self.netns, "ip"]
            _ip(*inside, "link", "set", "lo", "up")
            _ip(*inside, "addr", "add", f"{self.node_address}/30", "dev", self.inside)
            _ip(*inside, "link", "set", self.inside, "up")
            _ip(*inside, "route", "add", "default", "via", self.gateway)
        except Exception:
            self.remove()
            raise

    def cut(self):
        _ip("link", "set", self.outside, "down")

    def heal(self):
        _ip("link", "set", self.outside, "up")

    def remove(self):
        _ip("link", "del", self.outside, check=False)
        _ip("addr", "del", f"{self.service}/32", "dev", "lo", check=False)
        _ip("netns", "del", self.netns, check=False)


def partitions_possible():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"parley-probe-{os.getpid()}"
    ok = _ip("netns", "add", probe, check=False).returncode == 0
    _ip("netns", "del", probe, check=False)
    return ok


@pytest.fixture
def partitioned_cluster():
    if not partitions_possible():
        pytest.skip("network namespaces need root and iproute2 (scripts/test.sh runs as root on CI)")
    net = Partition()
    base = tempfile.mkdtemp(prefix="parley-partition-")
    os.chmod(base, 0o755)
    c = LocalCluster(base, host=net.service, client_net=net.net,
                     placement={3: (net.netns, net.node_address)},
                     node_args=["--server.trusted_proxies", f"127.0.0.1, {net.gateway}", "--server.drain_ms", "3000",
                                *HIGH_RATE])
    try:
        c.up(nodes=3)
        yield c, net
    finally:
        net.heal()
        c.down()
        net.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_a_node_cut_off_by_a_network_partition_loses_nothing_and_serves_again_when_healed(partitioned_cluster):
    cluster, net = partitioned_cluster
    node3 = cluster.node(3)
    group, chatters, watcher, owner = start_load(cluster, senders=6)
    wait_for("the load to get going on every node",
             lambda: acked_total(chatters) >= 100 and {3} <= {ch.nodes[-1] for ch in chatters if ch.nodes},
             timeout=60, detail=lambda: str([ch.nodes for ch in chatters]))
    on_node3 = [ch for ch in chatters if ch.nodes[-1] == 3]

    net.cut()
    cut_at = time.monotonic()
    # HAProxy's checks fail: node 3 gets no new clients. Its clients notice the silence (their
    # requests time out), reconnect through HAProxy to nodes 1 and 2 and resend; every sender
    # gets acks again.
    wait_for("HAProxy to take node 3 out", lambda: cluster.haproxy.server_states().get(node3.name) == "DOWN",
             timeout=30)
    wait_for("every sender to be acked again after the cut",
             lambda: all(any(at > cut_at + 1 for at in ch.acked_at.values()) for ch in chatters), timeout=90,
             detail=lambda: str([(ch.nodes, len(ch.acked), ch.errors) for ch in chatters]))
    assert all(ch.nodes[-1] in (1, 2) for ch in on_node3), [ch.nodes for ch in on_node3]
    time.sleep(3)  # more load while node 3 sits cut off, its writer stuck or failing

    net.heal()
    # Node 3 comes back by itself (same process): its store, bus and directory connections
    # recover, /readyz answers 200 and HAProxy sends it clients again.
    wait_for("node 3 to be ready again", node3.ready, timeout=90, detail=lambda: tail(node3.log_path))
    wait_for("HAProxy to take node 3 back", lambda: cluster.haproxy.server_states().get(node3.name) == "UP",
             timeout=30)
    assert node3.alive()
    # Live both ways between node 3 and the others: its bus works again.
    here, there = cluster.nodes[0].register(), cluster.nodes[0].register()
    on3, on1 = Client(node3, here.token), Client(cluster.node(1), there.token)
    assert on3.hello_reply["server"]["node_id"] == 3
    sent = on3.send_text(to_user_id=there.id, text="from node 3 after the partition")
    on1.wait_events(lambda e: e.get("kind") == "text" and e["conversation_id"] == sent["conversation_id"])
    back = on1.send_text(sent["conversation_id"], "to node 3 after the partition")
    on3.wait_events(lambda e: e.get("kind") == "text" and e["seq"] == back["seq"])
    on3.close()
    on1.close()

    stop_load(chatters, watcher)
    # Nothing acked is lost or doubled (so no ack came from node 3 for a write it could not
    # store), no gap, and the watcher has it all.
    acked = check_nothing_lost(cluster, group, chatters, watcher, owner)
    assert len(acked) >= 150
