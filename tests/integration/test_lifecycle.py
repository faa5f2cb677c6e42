"""Crash safety (kill -9 mid-burst) and graceful shutdown (SIGTERM)."""
import os
import signal
import threading
import time
import uuid

import pytest
import requests
import websocket

import postgres
from harness import HIGH_RATE, Client, assert_gap_free, by_conversation


def _burst(user, conversation, acked, attempted, stop):
    """Sends until the connection dies or `stop` is set; records what was attempted and acked."""
    try:
        c = user.connect(timeout=5)
    except Exception:
        return
    try:
        while not stop.is_set():
            cid = uuid.uuid4().hex
            attempted.append((user, conversation, cid))
            reply = c.request("send", conversation_id=conversation, client_msg_id=cid, text="burst " + cid)
            if reply.get("type") == "ack":
                acked.append((conversation, cid, reply["seq"], reply["message_id"]))
    except (AssertionError, websocket.WebSocketException, OSError):
        pass  # the server died under us: expected


def _check_store(server, users, acked, conversations):
    reader = users[0].connect()
    stored = {}
    for conversation in conversations:
        events, after = [], 0
        while True:
            page = reader.ok("history", conversation_id=conversation, after_seq=after, limit=100)
            events += page["events"]
            if not page["has_more"]:
                break
            after = page["events"][-1]["seq"]
        stored[conversation] = events
    assert_gap_free({k: v for k, v in stored.items() if v})
    for conversation, events in stored.items():
        cids = [e.get("client_msg_id") for e in events if e["kind"] == "text"]
        twice = [(e["seq"], e.get("client_msg_id"), e["sender_id"]) for e in events
                 if e["kind"] == "text" and cids.count(e.get("client_msg_id")) > 1]
        assert not twice, f"stored twice in {conversation}: {twice[:6]}"
    index = {(c, e.get("client_msg_id")): e for c, events in stored.items() for e in events}
    for conversation, cid, seq, message_id in acked:
        event = index.get((conversation, cid))
        assert event is not None, f"acked message {cid} lost"
        assert event["seq"] == seq and event["id"] == message_id
    return stored


def test_kill9_mid_burst_loses_no_acked_message(make_server):
    s = make_server(*HIGH_RATE).start()
    users = [s.register() for _ in range(6)]
    owner = users[0].connect()
    group = owner.ok("group.create", title="crash", member_ids=[u.id for u in users[1:]])["conversation"]["id"]
    direct = owner.send_text(to_user_id=users[1].id, text="d")["conversation_id"]
    owner.close()
    conversations = [group, direct]
    acked, attempted, stop = [], [], threading.Event()
    threads = [threading.Thread(target=_burst, args=(u, group if i % 2 == 0 else direct if i == 1 else group,
                                                     acked, attempted, stop))
               for i, u in enumerate(users)]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while len(acked) < 300 and time.time() < deadline:
        time.sleep(0.01)
    s.kill9()  # mid-burst: some sends are committed but not acked, some not committed
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) >= 300
    s.start()
    stored = _check_store(s, users, acked, conversations)
    # Retrying the last attempted sends (from their senders, as a client would after
    # reconnecting) is safe: each is stored exactly once afterwards.
    retry_cids = set()
    sessions = {}
    for user, conversation, cid in attempted[-60:]:
        session = sessions.setdefault(user.id, user.connect())
        session.ok("send", conversation_id=conversation, client_msg_id=cid, text="burst " + cid)
        if conversation == group:
            retry_cids.add(cid)
    stored = _check_store(s, users, acked, conversations)
    group_cids = [e.get("client_msg_id") for e in stored[group]]
    for cid in retry_cids:
        assert group_cids.count(cid) == 1


@pytest.mark.single_node("one process's SIGTERM; a cluster's rolling restart is test_cluster_faults.py")
def test_sigterm_acks_in_flight_and_closes_going_away(make_server):
    s = make_server(*HIGH_RATE).start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="first")["conversation_id"]
    b = bob.connect()
    # Pipeline 300 sends without waiting, then stop the server at once.
    cids = [uuid.uuid4().hex for _ in range(300)]
    for i, cid in enumerate(cids):
        a.send_json({"type": "send", "id": f"s{i}", "conversation_id": conversation, "client_msg_id": cid, "text": cid})
    time.sleep(0.05)
    s.proc.send_signal(signal.SIGTERM)
    acks = {}
    while True:
        frame = a.recv_frame(timeout=10)
        if frame is None:
            break
        if frame.get("type") == "ack":
            acks[frame["client_msg_id"]] = frame["seq"]
    assert a.close_code == 1001  # going away
    assert s.proc.wait(timeout=20) == 0
    assert b.wait_close() == 1001
    s.log.close()
    s.start()
    reader = alice.connect()
    events, after = [], 0
    while True:
        page = reader.ok("history", conversation_id=conversation, after_seq=after, limit=100)
        events += page["events"]
        if not page["has_more"]:
            break
        after = page["events"][-1]["seq"]
    stored = {e["text"]: e["seq"] for e in events}
    for cid, seq in acks.items():
        assert stored.get(cid) == seq, "an acked message was lost on shutdown"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert "parleyd.stopped" in s.read_log()


def test_restart_keeps_everything_and_sync_continues(make_server):
    s = make_server(*HIGH_RATE).start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="one")["conversation_id"]
    cursor = bob.connect().hello_reply["cursor"]
    a.send_text(conversation, text="two")
    assert s.stop() == 0
    s.start()
    a = alice.connect()
    assert a.send_text(conversation, text="three")["seq"] == 3
    b = bob.connect()
    events, _, _ = b.sync_all(cursor)
    assert [e["text"] for e in events] == ["two", "three"]
    assert b.hello_reply["cursor"] >= events[0]["pos"] - 1


@pytest.mark.single_node("one process's SIGTERM; a cluster's rolling restart is test_cluster_faults.py")
def test_sigterm_with_drain_fails_readyz_first_and_keeps_serving_meanwhile(make_server):
    # Rolling restarts behind a load balancer: /readyz turns 503 "draining" at once, while
    # sessions, REST and new connections keep working until server.drain_ms has passed; then
    # sessions close with 1001 and the process exits cleanly.
    s = make_server(*HIGH_RATE, "--server.drain_ms", "4000").start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="before")["conversation_id"]
    s.proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    while True:
        r = requests.get(s.base + "/readyz", timeout=2)
        if r.status_code == 503:
            break
        assert time.time() < deadline, "readyz stayed 200 after SIGTERM"
        time.sleep(0.02)
    assert r.json() == {"status": "draining"}
    # Still serving: an existing session sends, a new one connects and receives.
    b = bob.connect()
    ack = a.send_text(conversation, text="while draining")
    assert b.wait_events(lambda e: e.get("text") == "while draining")[0]["seq"] == ack["seq"]
    assert a.wait_close(timeout=20) == 1001
    assert b.wait_close(timeout=20) == 1001
    assert s.proc.wait(timeout=20) == 0
    s.log.close()
    assert "parleyd.draining" in s.read_log()


@pytest.mark.single_node("reads one process's /proc")
def test_every_thread_but_main_carries_its_name(server):
    """docs/architecture.md "Threads": top -H and perf show what each thread is; an unnamed one
    shows the binary's name and cannot be told apart."""
    pid = server.proc.pid
    binary = open(f"/proc/{pid}/comm").read().strip()
    names = [open(f"/proc/{pid}/task/{tid}/comm").read().strip() for tid in os.listdir(f"/proc/{pid}/task")]
    assert names.count(binary) == 1, f"unnamed threads besides main: {sorted(names)}"
    expected = ["writer", "io-0", "reader-0", "push", "media", "files"]
    if postgres.engine() == "sqlite":
        expected.append("checkpointer")  # PostgreSQL checkpoints by itself
    for name in expected:
        assert name in names, f"{name} missing from {sorted(names)}"
