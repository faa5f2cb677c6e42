"""The PostgreSQL engine under faults, against a PostgreSQL server of each test's own (so it can
be stopped and restarted): kill -9 of parleyd under load (ten trials), PostgreSQL stopped
(fast and immediate shutdown) and started again under load, writes while it is down. Runs once,
in the SQLite pass of scripts/test.sh (the PostgreSQL pass runs the rest of the suite on
PostgreSQL)."""
import threading
import time
import uuid

import pytest
import requests
import websocket

import postgres
from harness import HIGH_RATE, ProtocolError
from test_lifecycle import _burst, _check_store

pytestmark = pytest.mark.skipif(postgres.engine() == "postgres",
                                reason="these start their own PostgreSQL; run once, in the SQLite pass")


@pytest.fixture
def pg():
    server = postgres.PostgresServer().start()
    yield server
    server.cleanup()


def _database(pg):
    return pg.url(pg.create_database())


def _group(server, users):
    owner = users[0].connect()
    group = owner.ok("group.create", title="load", member_ids=[u.id for u in users[1:]])["conversation"]["id"]
    owner.close()
    return group


@pytest.mark.parametrize("trial", range(10))
def test_kill9_under_load_loses_no_acked_message(make_server, pg, trial):
    s = make_server(*HIGH_RATE, "--store.url", _database(pg)).start()
    users = [s.register() for _ in range(4)]
    group = _group(s, users)
    acked, attempted, stop = [], [], threading.Event()
    threads = [threading.Thread(target=_burst, args=(u, group, acked, attempted, stop)) for u in users]
    for t in threads:
        t.start()
    # Kill at a different moment each trial.
    target = 50 + 40 * trial
    deadline = time.time() + 20
    while len(acked) < target and time.time() < deadline:
        time.sleep(0.005)
    s.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) >= target
    s.start()
    _check_store(s, users, acked, [group])
    # The senders' retries of what they sent last resolve every unknown outcome: each message
    # is stored exactly once afterwards.
    sessions = {}
    retried = set()
    for user, conversation, cid in attempted[-20:]:
        session = sessions.setdefault(user.id, user.connect())
        session.ok("send", conversation_id=conversation, client_msg_id=cid, text="burst " + cid)
        retried.add(cid)
    stored = _check_store(s, users, acked, [group])
    cids = [e.get("client_msg_id") for e in stored[group]]
    for cid in retried:
        assert cids.count(cid) == 1


class _Sender(threading.Thread):
    """Sends like a real client: a message answered `unavailable` (or not at all: the connection
    dropped) is sent again with the same client_msg_id until it is acked."""

    def __init__(self, user, conversation, stop):
        super().__init__()
        self.user, self.conversation, self.stop = user, conversation, stop
        self.acked, self.errors, self.pending = [], [], None

    def run(self):
        client = None
        while not self.stop.is_set():
            try:
                if client is None:
                    client = self.user.connect(timeout=5)
                if self.pending is None:
                    self.pending = uuid.uuid4().hex
                reply = client.request("send", conversation_id=self.conversation, client_msg_id=self.pending,
                                       text="m " + self.pending)
                if reply["type"] == "ack":
                    self.acked.append((self.conversation, self.pending, reply["seq"], reply["message_id"]))
                    self.pending = None
                else:
                    self.errors.append(reply.get("code"))
                    time.sleep(0.05)
            except (ProtocolError, AssertionError, websocket.WebSocketException, OSError):
                client = None
                time.sleep(0.1)

    def finish(self, server):
        """Resolves the last unanswered send (after the store is back)."""
        if self.pending is None:
            return
        client = self.user.connect()
        reply = client.ok("send", conversation_id=self.conversation, client_msg_id=self.pending, text="m " + self.pending)
        self.acked.append((self.conversation, self.pending, reply["seq"], reply["message_id"]))
        self.pending = None


def _readyz(server):
    try:
        return requests.get(server.base + "/readyz", timeout=2).status_code
    except requests.RequestException:
        return None


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_under_load_recovers_without_losing_or_doubling(make_server, pg, mode):
    s = make_server(*HIGH_RATE, "--store.url", _database(pg)).start()
    users = [s.register() for _ in range(4)]
    group = _group(s, users)
    stop = threading.Event()
    senders = [_Sender(u, group, stop) for u in users]
    for t in senders:
        t.start()

    def acked():
        return sum(len(t.acked) for t in senders)

    assert postgres.wait_until(lambda: acked() >= 200, timeout=30)
    pg.stop(mode)  # fast: sessions terminated, clean shutdown; immediate: like a crash
    assert postgres.wait_until(lambda: _readyz(s) == 503, timeout=20), "readyz stayed ready with the store down"
    # Writes fail with `unavailable` meanwhile, and nothing is acked.
    during = acked()
    time.sleep(1.0)
    assert acked() == during
    pg.start()
    assert postgres.wait_until(lambda: _readyz(s) == 200, timeout=30), "parleyd did not recover:\n" + s.read_log()[-4000:]
    assert postgres.wait_until(lambda: acked() >= during + 200, timeout=30), "sends did not resume"
    stop.set()
    for t in senders:
        t.join(timeout=15)
    for t in senders:
        t.finish(s)
    errors = [e for t in senders for e in t.errors]
    assert errors and set(errors) <= {"unavailable"}, errors[:10]
    assert s.proc.poll() is None  # the same process all along
    all_acked = [a for t in senders for a in t.acked]
    try:
        stored = _check_store(s, users, all_acked, [group])
    except Exception:
        print("\n".join(l for l in s.read_log().splitlines() if "security." not in l)[-5000:])
        raise
    assert len([e for e in stored[group] if e["kind"] == "text"]) == len(all_acked)
    assert "store.postgres_reconnected" in s.read_log()


def test_writes_while_postgres_is_down_fail_with_unavailable(make_server, pg):
    s = make_server(*HIGH_RATE, "--store.url", _database(pg)).start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="before")["conversation_id"]
    pg.stop("fast")
    reply = a.request("send", conversation_id=conversation, client_msg_id="while-down", text="lost?")
    assert reply["type"] == "error" and reply["code"] == "unavailable", reply
    r = alice.api("GET", f"/v1/conversations/{conversation}/events")
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
    pg.start()
    assert postgres.wait_until(lambda: _readyz(s) == 200, timeout=30)
    # The same session carries on; the retry stores the message once.
    ack = a.ok("send", conversation_id=conversation, client_msg_id="while-down", text="lost?")
    assert ack["duplicate"] is False
    again = a.ok("send", conversation_id=conversation, client_msg_id="while-down", text="lost?")
    assert again["duplicate"] is True and again["seq"] == ack["seq"]
