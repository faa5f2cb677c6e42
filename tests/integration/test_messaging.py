"""Core messaging: 1:1, groups, idempotent sends, multi-device delivery, history, sync."""
import uuid

from harness import assert_gap_free, by_conversation


def test_two_users_chat_both_ways(server):
    alice, bob = server.register(), server.register()
    a, b = alice.connect(), bob.connect()
    ack = a.send_text(to_user_id=bob.id, text="hi bob")
    assert ack["type"] == "ack" and ack["seq"] == 1 and ack["duplicate"] is False
    conversation = ack["conversation_id"]
    got = b.wait_events(lambda e: e["conversation_id"] == conversation)[0]
    assert got["text"] == "hi bob" and got["sender_id"] == alice.id and got["seq"] == 1
    assert got["id"] == ack["message_id"] and got["pos"] == ack["pos"]
    reply = b.send_text(conversation, text="hi alice")
    assert reply["seq"] == 2
    got = a.wait_events(lambda e: e["seq"] == 2)[0]
    assert got["text"] == "hi alice" and got["sender_id"] == bob.id
    # The same pair always gets the same direct conversation, from either side.
    opened = b.ok("direct.open", user_id=alice.id)
    assert opened["conversation"]["id"] == conversation and opened["created"] is False
    assert opened["conversation"]["peer"]["id"] == alice.id
    # The sending session gets an ack, not its own event.
    assert not [e for e in a.events if e["sender_id"] == alice.id]


def test_direct_open_by_username_and_unknown_user(server):
    alice, bob = server.register(), server.register()
    a = alice.connect()
    opened = a.ok("direct.open", username=bob.username.upper())
    assert opened["created"] is True and opened["conversation"]["kind"] == "direct"
    assert a.request("direct.open", username="nobody-here")["code"] == "not_found"
    assert a.request("send", to_user_id=999999, client_msg_id="x", text="t")["code"] == "not_found"


def test_group_of_50_everyone_receives_everything_in_order(server):
    users = [server.register() for _ in range(50)]
    owner = users[0]
    clients = [u.connect() for u in users]
    created = clients[0].ok("group.create", title="fifty", member_ids=[u.id for u in users[1:]])
    group = created["conversation"]
    assert group["member_count"] == 50 and group["role"] == "owner"
    gid = group["id"]
    # Five senders, interleaved, 20 messages each.
    senders = clients[:5]
    for i in range(20):
        for n, c in enumerate(senders):
            c.send_text(gid, text=f"{n}:{i}")
    for index, c in enumerate(clients):
        # Every member sees the membership event and all 100 messages, each exactly once,
        # in seq order; a sender does not get events for its own messages.
        own = 20 if index < 5 else 0
        texts = c.wait_events(lambda e: e["conversation_id"] == gid and e["kind"] == "text", count=100 - own)
        events = [e for e in c.events if e["conversation_id"] == gid]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert len(texts) == 100 - own
    # History: the conversation is gap-free 1..102 (created, member.added, 100 messages).
    history = clients[10].ok("history", conversation_id=gid, limit=100)
    assert history["last_seq"] == 102
    kinds = [e["kind"] for e in clients[0].ok("history", conversation_id=gid, after_seq=0, limit=2)["events"]]
    assert kinds == ["conversation.created", "member.added"]
    for c in clients:
        c.close()


def test_retried_send_yields_one_message(server):
    alice, bob = server.register(), server.register()
    a = alice.connect()
    cid = "retry-" + uuid.uuid4().hex
    first = a.send_text(to_user_id=bob.id, text="once", client_msg_id=cid)
    conversation = first["conversation_id"]
    # Same client_msg_id again: over the same session, a new session, and REST.
    second = a.send_text(conversation, text="once", client_msg_id=cid)
    a2 = alice.connect()
    third = a2.send_text(conversation, text="once", client_msg_id=cid)
    rest = alice.api("POST", f"/v1/conversations/{conversation}/messages", json={"client_msg_id": cid, "text": "once"})
    assert rest.status_code == 200, rest.text
    for reply in (second, third, rest.json()):
        assert reply["message_id"] == first["message_id"] and reply["seq"] == first["seq"]
        assert reply["duplicate"] is True
    history = a.ok("history", conversation_id=conversation)
    assert [e["seq"] for e in history["events"]] == [1]
    # The next new message takes seq 2: a duplicate consumed no seq.
    assert a.send_text(conversation, text="next")["seq"] == 2


def test_three_devices_receive_everything(server):
    alice, bob = server.register(), server.register()
    devices = [alice.connect() for _ in range(3)]
    b = bob.connect()
    conversation = b.send_text(to_user_id=alice.id, text="to all devices")["conversation_id"]
    for d in devices:
        assert d.wait_events(lambda e: e["text"] == "to all devices")
    # A message sent from one device reaches the other two (and the peer), not itself.
    devices[0].send_text(conversation, text="from device 0")
    for d in devices[1:] + [b]:
        assert d.wait_events(lambda e: e.get("text") == "from device 0")
    group = b.ok("group.create", title="g", member_ids=[alice.id])["conversation"]["id"]
    for d in devices:
        d.wait_events(lambda e: e["conversation_id"] == group and e["kind"] == "member.added")
    b.send_text(group, text="group msg")
    for d in devices:
        assert d.wait_events(lambda e: e.get("text") == "group msg")
    assert not [e for e in devices[0].events if e.get("text") == "from device 0"]


def test_history_paging_both_ways(server):
    alice, bob = server.register(), server.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="m1")["conversation_id"]
    for i in range(2, 251):
        a.send_text(conversation, text=f"m{i}")
    # Backwards from the latest, pages of 100.
    page = a.ok("history", conversation_id=conversation, limit=100)
    seen = [e["seq"] for e in page["events"]]
    assert seen == list(range(151, 251)) and page["has_more"] is True
    while page["has_more"]:
        page = a.ok("history", conversation_id=conversation, before_seq=page["events"][0]["seq"], limit=100)
        seen = [e["seq"] for e in page["events"]] + seen
    assert seen == list(range(1, 251))
    # Forwards from the start.
    after, forward = 0, []
    while True:
        page = a.ok("history", conversation_id=conversation, after_seq=after, limit=100)
        forward += [e["seq"] for e in page["events"]]
        if not page["has_more"]:
            break
        after = page["events"][-1]["seq"]
    assert forward == list(range(1, 251))
    texts = [e["text"] for e in a.ok("history", conversation_id=conversation, after_seq=9, limit=3)["events"]]
    assert texts == ["m10", "m11", "m12"]
    # The page size is capped at 100.
    assert a.request("history", conversation_id=conversation, limit=101)["code"] == "invalid_field"
    # REST paging.
    r = alice.api("GET", f"/v1/conversations/{conversation}/events", params={"before_seq": 11, "limit": 5})
    assert [e["seq"] for e in r.json()["events"]] == [6, 7, 8, 9, 10]


def test_offline_client_syncs_1000_messages_across_20_conversations(server):
    me = server.register()
    c = me.connect()
    cursor = c.hello_reply["cursor"]
    c.close()
    peers = [server.register() for _ in range(20)]
    peer_clients = [p.connect() for p in peers]
    sent = {}
    for i in range(1000):
        p = peer_clients[i % 20]
        ack = p.send_text(to_user_id=me.id, text=f"msg {i}")
        sent.setdefault(ack["conversation_id"], []).append(ack["seq"])
    assert len(sent) == 20
    back = me.connect()
    events, final_cursor, pages = back.sync_all(cursor, limit=100)
    assert pages >= 10
    ids = [(e["conversation_id"], e["seq"]) for e in events]
    assert len(ids) == len(set(ids)) == 1000, "duplicates or missing events"
    grouped = by_conversation(events)
    assert sorted(grouped) == sorted(sent)
    for conversation, seqs in sent.items():
        assert [e["seq"] for e in grouped[conversation]] == seqs
    assert_gap_free(grouped)
    positions = [e["pos"] for e in events]
    assert positions == sorted(positions)
    # Nothing more after the final cursor; one new message shows up in a sync from it.
    assert back.ok("sync", cursor=final_cursor)["events"] == []
    peer_clients[0].send_text(to_user_id=me.id, text="one more")
    tail = back.ok("sync", cursor=final_cursor)
    assert [e["text"] for e in tail["events"]] == ["one more"]
    assert {c["id"] for c in tail["conversations"]} == {tail["events"][0]["conversation_id"]}


def test_hello_cursor_then_live_events_cover_everything(server):
    """Events after the hello cursor arrive live; sync from that cursor returns the same ones."""
    me, peer = server.register(), server.register()
    p = peer.connect()
    conversation = p.send_text(to_user_id=me.id, text="before")["conversation_id"]
    c = me.connect()
    cursor = c.hello_reply["cursor"]
    for i in range(30):
        p.send_text(conversation, text=f"after {i}")
    live = c.wait_events(lambda e: e["text"].startswith("after"), count=30)
    synced, _, _ = c.sync_all(cursor)
    assert [e["seq"] for e in synced] == [e["seq"] for e in live]


def test_rest_send_and_conversation_list(server):
    alice, bob = server.register(), server.register()
    r = alice.api("POST", f"/v1/users/{bob.id}/messages", json={"client_msg_id": "r1", "text": "via rest"})
    assert r.status_code == 200 and r.json()["seq"] == 1
    conversation = r.json()["conversation_id"]
    listing = bob.api("GET", "/v1/conversations").json()["conversations"]
    assert [c["id"] for c in listing] == [conversation]
    assert listing[0]["peer"]["username"] == alice.username and listing[0]["last_seq"] == 1
    me = bob.api("GET", "/v1/me").json()["user"]
    assert me["id"] == bob.id and me["username"] == bob.username
