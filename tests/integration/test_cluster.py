"""Cluster mode: several parleyd nodes sharing one PostgreSQL database, joined by a real NATS
cluster (three nats-server processes with routes) and sharing one real Redis (presence, session
caps, request rates). Each test spreads its users over the nodes: what one user does on one node,
the others see live on theirs. Also the faults the bus cannot hide by itself: the bus down
(batches still arrive, read from the store), a node killed while it commits (every acked message
still reaches everyone live), a node killed with users online (they go offline for everyone),
Redis down and back. Runs once, in the SQLite pass of
scripts/test.sh (these tests bring their own PostgreSQL database and NATS servers)."""
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

import postgres
from cluster import NatsCluster, RedisServer
from harness import HIGH_RATE, Client, ParleyServer, ProtocolError, assert_gap_free, by_conversation

pytestmark = pytest.mark.skipif(postgres.engine() == "postgres",
                                reason="cluster tests bring their own databases; run once, in the SQLite pass")

SECRET = "cluster-tests-shared-token-key-0123456789abcdef"


@pytest.fixture(scope="module")
def nats(tmp_path_factory):
    servers = NatsCluster(n=3, base_dir=str(tmp_path_factory.mktemp("nats")))
    yield servers
    servers.cleanup()


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.cleanup()


class Cluster:
    """N parleyd nodes on one fresh database and the module's NATS cluster; node i (1-based)
    connects to NATS server (i-1) % 3 first, so the nodes' batches cross NATS routes."""

    def __init__(self, nats, redis, count, *args):
        pg = postgres.shared_server()
        self.store_url = pg.url(pg.create_database())
        self.nats = nats
        self.redis = redis
        self.key_prefix = "t" + uuid.uuid4().hex[:12]  # each test's cluster has its own keys in the shared Redis
        self.args = args
        self.nodes = []
        for node_id in range(1, count + 1):
            self.nodes.append(self.make_node(node_id))
        for node in self.nodes:
            node.start()

    def make_node(self, node_id, *extra):
        urls = self.nats.url.split(",")
        first = (node_id - 1) % len(urls)
        bus = ",".join(urls[first:] + urls[:first])
        return ParleyServer("--store.url", self.store_url, "--bus.url", bus, "--server.node_id", str(node_id),
                            "--directory.url", self.redis.url, "--directory.key_prefix", self.key_prefix,
                            "--auth.secret", SECRET, *HIGH_RATE, *self.args, *extra)

    def __getitem__(self, i):
        return self.nodes[i]

    def cleanup(self):
        for node in self.nodes:
            node.cleanup()


@pytest.fixture
def make_cluster(nats, redis):
    made = []

    def make(count=3, *args):
        c = Cluster(nats, redis, count, *args)
        made.append(c)
        return c

    yield make
    for c in made:
        c.cleanup()


def on(node, user, **kwargs):
    """A session of `user` on `node` (a user registered on any node is known to every node)."""
    return Client(node, user.token, **kwargs)


def test_a_direct_message_crosses_nodes_both_ways(make_cluster):
    c = make_cluster(2)
    alice, bob = c[0].register(), c[1].register()
    a, b = on(c[0], alice), on(c[1], bob)
    ack = a.send_text(to_user_id=bob.id, text="from node 1")
    got = b.wait_events(lambda e: e.get("text") == "from node 1")[0]
    assert got["seq"] == ack["seq"] and got["id"] == ack["message_id"]
    assert any(f.get("type") == "conversation" for f in b.frames), "the new conversation was not announced first"
    b.send_text(ack["conversation_id"], text="from node 2")
    assert a.wait_events(lambda e: e.get("text") == "from node 2")[0]["seq"] == ack["seq"] + 1
    # Both nodes relayed and received; neither had to read a batch from the store.
    assert c[0].metric("parley_bus_batches_received_total") >= 1
    assert c[1].metric("parley_bus_batches_received_total") >= 1


def test_senders_on_three_nodes_one_group_every_member_sees_one_order(make_cluster):
    c = make_cluster(3)
    users = [c[i % 3].register() for i in range(6)]
    owner = on(c[0], users[0])
    group = owner.ok("group.create", title="order", member_ids=[u.id for u in users[1:]])["conversation"]["id"]
    sessions = [on(c[i % 3], u) for i, u in enumerate(users)]
    per_sender = 40
    errors = []

    def send(user, node):
        try:
            s = on(node, user)
            for k in range(per_sender):
                s.send_text(group, text=f"{user.id}:{k}")
            s.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=send, args=(u, c[i % 3])) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    total = per_sender * len(users)
    sequences = []
    for s in sessions:
        events = s.wait_events(lambda e: e.get("conversation_id") == group and e.get("kind") == "text", count=total,
                               timeout=60)
        assert_gap_free(by_conversation([e for e in s.events if e.get("conversation_id") == group]))
        sequences.append([(e["seq"], e["text"]) for e in events])
    for other in sequences[1:]:
        assert other == sequences[0]
    # Each sender's own messages keep their order.
    for u in users:
        mine = [int(t.split(":")[1]) for _, t in sequences[0] if t.startswith(f"{u.id}:")]
        assert mine == list(range(per_sender))


def test_a_member_added_on_one_node_sees_the_group_live_on_another(make_cluster):
    c = make_cluster(3)
    alice, dave = c[0].register(), c[2].register()
    a, d = on(c[0], alice), on(c[2], dave)
    group = a.ok("group.create", title="later", member_ids=[])["conversation"]["id"]
    a.send_text(group, text="before dave")
    a.ok("members.add", conversation_id=group, user_ids=[dave.id])
    a.send_text(group, text="after dave")
    got = d.wait_events(lambda e: e.get("text") == "after dave")
    assert got
    assert not [e for e in d.events if e.get("text") == "before dave"], "a message from before the join leaked"
    assert any(f.get("type") == "conversation" and f["conversation"]["id"] == group for f in d.frames)
    # And removal stops the stream on that node.
    a.ok("members.remove", conversation_id=group, user_id=dave.id)
    a.send_text(group, text="after removal")
    marker = a.send_text(to_user_id=dave.id, text="marker")
    d.wait_events(lambda e: e.get("seq") == marker["seq"] and e.get("text") == "marker")
    assert not [e for e in d.events if e.get("text") == "after removal"]


def test_revoking_a_device_on_one_node_closes_its_sessions_on_the_others(make_cluster):
    c = make_cluster(3)
    bob = c[0].register()
    phone = requests.post(c[1].base + "/v1/auth/login", json={"username": bob.username, "password": bob.password,
                                                               "device": "phone"}).json()
    on_two, on_three = Client(c[1], phone["token"]), Client(c[2], phone["token"])
    sessions = bob.api("GET", "/v1/account/sessions").json()["sessions"]
    phone_id = [s for s in sessions if s["device"] == "phone"][0]["token_id"]
    assert bob.api("DELETE", f"/v1/account/sessions/{phone_id}").status_code == 200
    assert on_two.wait_close() == 4004
    assert on_three.wait_close() == 4004
    # And the token is refused by every node from now on.
    for node in c.nodes:
        r = node.api("GET", "/v1/conversations", token=phone["token"])
        assert r.status_code == 401, (node.port, r.text)


def test_typing_crosses_nodes(make_cluster):
    c = make_cluster(2)
    alice, bob = c[0].register(), c[1].register()
    a, b = on(c[0], alice), on(c[1], bob)
    conversation = a.send_text(to_user_id=bob.id, text="hi")["conversation_id"]
    b.wait_events(lambda e: e.get("text") == "hi")
    a.ok("typing", conversation_id=conversation, state="start")
    deadline = time.time() + 10
    while not any(f.get("type") == "typing" and f.get("user_id") == alice.id for f in b.frames):
        assert time.time() < deadline, "typing did not reach the other node"
        b.recv_frame(timeout=1)


def test_with_the_bus_down_messages_still_arrive_from_the_store(make_cluster, nats):
    c = make_cluster(2)
    alice, bob = c[0].register(), c[1].register()
    a, b = on(c[0], alice), on(c[1], bob)
    conversation = a.send_text(to_user_id=bob.id, text="bus up")["conversation_id"]
    b.wait_events(lambda e: e.get("text") == "bus up")
    nats.stop_all()
    try:
        acks = [a.send_text(conversation, text=f"bus down {k}") for k in range(20)]
        got = b.wait_events(lambda e: e.get("text", "").startswith("bus down"), count=20, timeout=20)
        assert [e["seq"] for e in got] == [x["seq"] for x in acks]
        assert c[1].metric("parley_cluster_filled_events_total") >= 1
    finally:
        nats.start_all(jetstream=False)  # the bus uses core NATS only
    # The bus comes back by itself: messages flow over it again.
    assert postgres.wait_until(lambda: c[0].metric("parley_bus_connected") == 1 and
                               c[1].metric("parley_bus_connected") == 1, timeout=30)
    a.send_text(conversation, text="bus back")
    b.wait_events(lambda e: e.get("text") == "bus back")
    assert_gap_free(by_conversation(b.events))


def test_a_nats_server_killed_under_load_loses_nothing(make_cluster, nats):
    # Node 1 is connected to NATS server 1 (its bus.url lists that one first); killing it makes
    # node 1 move to another server while it sends. What was published into the dead server is
    # lost on the bus and read from the store by the others.
    c = make_cluster(2)
    alice, bob = c[0].register(), c[1].register()
    a, b = on(c[0], alice), on(c[1], bob)
    conversation = a.send_text(to_user_id=bob.id, text="start")["conversation_id"]
    acks = []
    try:
        for k in range(60):
            if k == 20:
                nats.kill(0)
            acks.append(a.send_text(conversation, text=f"n{k}"))
        got = b.wait_events(lambda e: e.get("text", "").startswith("n"), count=60, timeout=30)
        assert [e["seq"] for e in got] == [x["seq"] for x in acks]
        assert_gap_free(by_conversation(b.events))
        assert postgres.wait_until(lambda: c[0].metric("parley_bus_connected") == 1, timeout=30)
    finally:
        nats.start(0, jetstream=False)
    a.send_text(conversation, text="after")
    b.wait_events(lambda e: e.get("text") == "after")


def test_a_node_cut_off_from_its_silent_nats_server_moves_to_another(make_cluster, nats):
    # A stopped (SIGSTOP) server neither answers nor closes: as in a network partition, only
    # pings find it dead (bus.ping_interval_ms, two unanswered). Typing, which only the bus
    # carries, works again once node 1 has moved.
    c = make_cluster(2, "--bus.ping_interval_ms", "300", "--limits.typing_throttle_ms", "0")
    alice, bob = c[0].register(), c[1].register()
    a, b = on(c[0], alice), on(c[1], bob)
    conversation = a.send_text(to_user_id=bob.id, text="hi")["conversation_id"]
    b.wait_events(lambda e: e.get("text") == "hi")

    def server_of(name):  # the node's first server, unless it moved since
        for i in range(nats.n):
            conns = (nats.monitor(i, "/connz") or {}).get("connections") or []
            if any(conn.get("name") == name for conn in conns):
                return i
    silent = server_of("parleyd-1")
    assert (silent, server_of("parleyd-2")) == (0, 1)  # each node on the first server of its bus.url
    os.kill(nats.pid(silent), signal.SIGSTOP)
    try:
        deadline = time.time() + 20
        while not any(f.get("type") == "typing" and f.get("user_id") == alice.id for f in b.frames):
            assert time.time() < deadline, "typing never crossed: node 1 stayed on its silent server"
            a.ok("typing", conversation_id=conversation, state="start")
            try:
                b.recv_frame(timeout=0.5)
            except Exception:
                pass
        assert server_of("parleyd-1") not in (None, silent)
    finally:
        os.kill(nats.pid(silent), signal.SIGCONT)


@pytest.mark.parametrize("trial", range(3))
def test_messages_acked_by_a_node_killed_under_load_reach_every_member_live(make_cluster, trial):
    # A node killed under load dies with batches committed but maybe never published: the other
    # nodes must deliver them anyway (the store holds them), live, within seconds.
    c = make_cluster(2)
    senders = [c[0].register() for _ in range(3)]
    watcher = c[1].register()
    owner = on(c[0], senders[0])
    group = owner.ok("group.create", title="kill", member_ids=[u.id for u in senders[1:]] + [watcher.id])[
        "conversation"]["id"]
    w = on(c[1], watcher)
    acked, stop = [], threading.Event()

    def burst(user):
        try:
            s = on(c[0], user, timeout=5)
            while not stop.is_set():
                cid = uuid.uuid4().hex
                s.send_json({"type": "send", "id": cid, "conversation_id": group, "client_msg_id": cid,
                             "text": "k " + cid})
                while True:
                    f = s.recv_frame()
                    if f is None:
                        return
                    if f.get("id") == cid:
                        if f["type"] == "ack":
                            acked.append(f["seq"])
                        break
        except Exception:
            return  # the node died

    threads = [threading.Thread(target=burst, args=(u,)) for u in senders]
    for t in threads:
        t.start()
    assert postgres.wait_until(lambda: len(acked) >= 100 + 150 * trial, timeout=60)
    c[0].kill9()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    killed_at = time.time()
    top = max(acked)
    # Every acked message reaches the watcher on the surviving node without a reconnect.
    w.wait_events(lambda e: e.get("conversation_id") == group and e.get("seq", 0) >= top, timeout=10)
    delay = time.time() - killed_at
    seen = [e["seq"] for e in w.events if e.get("conversation_id") == group]
    assert set(acked) <= set(seen)
    assert_gap_free(by_conversation([e for e in w.events if e.get("conversation_id") == group]))
    assert delay < 10  # the documented bound is about bus.gap_wait_ms + bus.probe_ms; this only catches a hang


def test_admin_sessions_lists_every_node_and_names_the_nodes_that_answered(make_cluster):
    admin = "cluster-admin-token-0123456789abcdef"
    c = make_cluster(3, "--auth.admin_token", admin)
    users = [c[i].register() for i in range(3)]
    sessions = [on(c[i], users[i], device=f"device-{i + 1}") for i in range(3)]

    def listing():
        return c[0].api("GET", "/v1/admin/sessions", token=admin).json()
    seen = listing()
    assert seen["nodes"] == [1, 2, 3]
    assert sorted((x["node_id"], x["user_id"], x["device"]) for x in seen["sessions"]) == [
        (i + 1, users[i].id, f"device-{i + 1}") for i in range(3)]
    c[2].kill9()  # node 3 cannot answer: left out, and not named
    seen = listing()
    assert seen["nodes"] == [1, 2]
    assert sorted(x["node_id"] for x in seen["sessions"]) == [1, 2]
    for s in sessions[:2]:
        s.close()


def test_a_second_node_with_the_same_id_refuses_to_start(make_cluster):
    c = make_cluster(1)
    twin = c.make_node(1)
    with pytest.raises(RuntimeError) as refused:
        twin.start()
    assert "server.node_id 1 is already used by another node" in str(refused.value)
    twin.cleanup()


def presence_of(client, user_id, status, timeout=10):
    """Waits for a presence frame that gives `user_id` this status; returns that entry."""
    deadline = time.time() + timeout
    while True:
        for f in client.frames:
            if f.get("type") == "presence":
                for u in f["users"]:
                    if u["user_id"] == user_id and u["status"] == status:
                        client.frames.remove(f)
                        return u
        remaining = deadline - time.time()
        if remaining <= 0:
            raise ProtocolError(f"user {user_id} never became {status}: "
                                f"{[f for f in client.frames if f.get('type') == 'presence']}")
        try:
            client.recv_frame(timeout=min(remaining, 1))
        except Exception:
            pass


def redis_hash(cluster, key):
    out = subprocess.run(["redis-cli", "-p", str(cluster.redis.port), "--raw", "HGETALL",
                          f"{cluster.key_prefix}:{key}"], capture_output=True, text=True, timeout=10).stdout.split()
    return dict(zip(out[::2], out[1::2]))


def wait_for_redis(cluster, predicate, timeout=15):
    assert postgres.wait_until(predicate, timeout=timeout), "Redis never showed the expected entry"


def statuses(client, user_id):
    return [u["status"] for f in client.frames if f.get("type") == "presence" for u in f["users"]
            if u["user_id"] == user_id]


PRESENCE_FAST = ("--presence.ttl_ms", "1500", "--presence.batch_ms", "100", "--presence.heartbeat_ms", "500")


def test_presence_is_one_status_across_nodes(make_cluster):
    c = make_cluster(3, *PRESENCE_FAST)
    alice, bob = c[0].register(), c[1].register()
    a = on(c[0], alice)
    a.send_text(to_user_id=bob.id, text="peer")
    # Bob comes online on node 2: Alice, on node 1, hears it and presence.get agrees on every node.
    b2 = on(c[1], bob)
    presence_of(a, bob.id, "online")
    for node in c.nodes:
        s = on(node, alice)
        assert s.ok("presence.get", user_ids=[bob.id])["users"][0]["status"] == "online"
        s.close()
    # A second device on node 3, the first one leaves: still online, no offline in between.
    b3 = on(c[2], bob)
    b3.ok("ping")
    # Node 3 reports within presence.batch_ms; node 2 withdraws a window later than it would
    # report. Waiting for node 3's entry in Redis (src/presence/README.md) takes the race out.
    wait_for_redis(c, lambda: "n3" in redis_hash(c, f"pres:{bob.id}"))
    b2.close()
    b3.ok("presence.set", status="away")
    presence_of(a, bob.id, "away")  # the next change Alice hears is "away", not "offline"
    assert "offline" not in statuses(a, bob.id)
    b3.ok("presence.set", status="online")
    presence_of(a, bob.id, "online")
    # The last device leaves: offline everywhere, with the last seen time, stored.
    before = int(time.time() * 1000)
    b3.close()
    gone = presence_of(a, bob.id, "offline")
    assert gone["last_seen"] >= before - 5000
    view = on(c[2], alice).ok("presence.get", user_ids=[bob.id])["users"][0]
    assert view["status"] == "offline" and view["last_seen"] == gone["last_seen"]


def test_each_presence_change_reaches_a_peer_on_another_node_once(make_cluster):
    # Changes in 100 ms windows, but a ttl long enough that a slow machine never lets bob's
    # session lapse (offline) between two of his commands.
    c = make_cluster(3, "--presence.ttl_ms", "20000", "--presence.batch_ms", "100", "--presence.heartbeat_ms", "5000")
    alice, bob = c[0].register(), c[1].register()
    a = on(c[0], alice)
    a.send_text(to_user_id=bob.id, text="peer")
    b = on(c[1], bob)
    presence_of(a, bob.id, "online")
    time.sleep(0.5)  # full reports and sweeps come and go meanwhile: they change nothing
    a.frames.clear()
    b.frames.clear()
    expected = []
    for status in ("away", "online") * 4:
        b.ok("presence.set", status=status)
        presence_of(a, bob.id, status)
        expected.append(status)
    time.sleep(1)  # anything duplicated or late would have come by now
    a.ok("ping")  # reads whatever arrived
    b.ok("ping")
    assert [u for u in statuses(a, bob.id)] == [], "a change reached alice twice"  # presence_of took one each
    assert statuses(b, bob.id) == [], "bob hears of his own changes"


def test_users_of_a_killed_node_go_offline_for_everyone(make_cluster):
    c = make_cluster(2, *PRESENCE_FAST)
    alice, bob = c[0].register(), c[1].register()
    a = on(c[0], alice)
    a.send_text(to_user_id=bob.id, text="peer")
    b = on(c[1], bob)
    presence_of(a, bob.id, "online")
    killed_at = time.time()
    c[1].kill9()
    # Node 2 no longer reports bob; its entry expires (presence.ttl_ms) and node 1's sweep
    # announces him offline.
    presence_of(a, bob.id, "offline", timeout=15)
    assert time.time() - killed_at >= 1.0  # not before node 2's last report could have expired
    assert c[0].metric("parley_presence_swept_total") >= 1
    b.close()


def test_the_session_cap_holds_across_nodes(make_cluster):
    c = make_cluster(3, "--limits.max_sessions_per_user", "2")
    bob = c[0].register()
    first, second = on(c[0], bob), on(c[1], bob)
    third = Client(c[2], hello=False)
    reply = third.request("hello", token=bob.token)
    assert reply["type"] == "error" and reply["code"] == "limit_reached", reply
    assert third.wait_close() == 4003
    assert c[2].metric("parley_cluster_sessions_refused_total") == 1
    # A session that ends frees its place at once, on any node.
    first.close()
    deadline = time.time() + 10
    while True:
        s = Client(c[2], hello=False)
        reply = s.request("hello", token=bob.token)
        if reply["type"] == "ok":
            break
        assert time.time() < deadline, reply
        time.sleep(0.1)
    second.ok("ping")


def test_a_killed_nodes_sessions_stop_counting_against_the_cap(make_cluster):
    c = make_cluster(2, "--limits.max_sessions_per_user", "1", *PRESENCE_FAST)
    bob = c[0].register()
    on(c[1], bob)
    refused = Client(c[0], hello=False).request("hello", token=bob.token)
    assert refused["code"] == "limit_reached"
    c[1].kill9()
    # Its registration expires after presence.ttl_ms.
    deadline = time.time() + 15
    while Client(c[0], hello=False).request("hello", token=bob.token)["type"] != "ok":
        assert time.time() < deadline, "the dead node's session still counts"
        time.sleep(0.2)


def test_the_request_rate_holds_across_nodes(make_cluster):
    # Each node alone would admit the burst (30) of its own bucket: three nodes, 90. Across the
    # cluster a user gets about one burst plus the rate, wherever it sends.
    c = make_cluster(3, "--limits.user_requests_per_second", "1", "--limits.user_requests_burst", "30")
    bob = c[0].register()
    s1, s2, s3 = on(c[0], bob), on(c[1], bob), on(c[2], bob)
    for s in (s1, s2):
        for k in range(30):
            s.send_json({"type": "conversations.list", "id": f"b{k}"})
        replies = [s.recv_frame() for _ in range(30)]
        assert [r["type"] for r in replies].count("ok") == 30  # within each node's own burst
    # Node 3's bucket is full, yet once it has heard the cluster's total it refuses.
    refused = None
    for k in range(29):
        reply = s3.request("conversations.list")
        if reply["type"] == "error":
            refused = reply
            break
        time.sleep(0.05)
    assert refused and refused["code"] == "rate_limited" and refused["retry_after_ms"] > 0, refused
    assert c[2].metric("parley_cluster_requests_refused_total") >= 1


def test_with_redis_down_the_cluster_keeps_chatting_and_presence_returns(make_cluster, redis):
    c = make_cluster(2, *PRESENCE_FAST)
    alice, bob = c[0].register(), c[1].register()
    a = on(c[0], alice)
    conversation = a.send_text(to_user_id=bob.id, text="peer")["conversation_id"]
    redis.stop()
    try:
        # Sign-in, messages and presence.get still work (each node alone: its own caps, rates,
        # and what it knows of presence).
        b = on(c[1], bob)
        a.send_text(conversation, text="redis down")
        b.wait_events(lambda e: e.get("text") == "redis down")
        assert a.ok("presence.get", user_ids=[bob.id])["users"][0]["status"] in ("online", "offline")
        assert postgres.wait_until(lambda: c[1].metric("parley_directory_up") == 0, timeout=10)
    finally:
        redis.start()
    # Back: node 2 reports bob again (every presence.ttl_ms / 3) and node 1 hears him online.
    presence_of(a, bob.id, "online", timeout=15)
    assert a.ok("presence.get", user_ids=[bob.id])["users"][0]["status"] == "online"
    assert postgres.wait_until(lambda: c[1].metric("parley_directory_up") == 1, timeout=10)


def test_cluster_settings_are_checked(tmp_path):
    # A bus needs a shared store and a shared token key.
    s = ParleyServer("--bus.url", "nats://127.0.0.1:1", "--auth.secret", SECRET)
    with pytest.raises(RuntimeError) as refused:
        s.start()
    assert "bus.url needs a store shared by every node" in str(refused.value)
    s.cleanup()
    pg = postgres.shared_server()
    s = ParleyServer("--bus.url", "nats://127.0.0.1:1", "--store.url", pg.url(pg.create_database()))
    with pytest.raises(RuntimeError) as refused:
        s.start()
    assert "bus.url needs auth.secret" in str(refused.value)
    s.cleanup()
    s = ParleyServer("--bus.url", "nats://127.0.0.1:1", "--store.url", pg.url(pg.create_database()),
                     "--auth.secret", SECRET)
    with pytest.raises(RuntimeError) as refused:
        s.start()
    assert "bus.url and directory.url are set together" in str(refused.value)
    s.cleanup()
    s = ParleyServer("--bus.url", "nats://127.0.0.1:1", "--store.url", pg.url(pg.create_database()),
                     "--auth.secret", SECRET, "--directory.url", "redis://127.0.0.1:1/x")
    with pytest.raises(RuntimeError) as refused:
        s.start()
    assert "directory.url: " in str(refused.value)
    s.cleanup()
