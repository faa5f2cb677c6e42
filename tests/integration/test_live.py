"""Live features: receipts, typing, presence, edits, deletes, reactions, replies, threads,
unread counts and mentions, pins. Each with two or more real clients against real parleyd."""
import time

import pytest

from harness import HIGH_RATE, Client, frames_of, settle


@pytest.fixture(scope="module")
def live(make_module_server):
    return make_module_server(*HIGH_RATE, "--limits.typing_ttl_ms", "1200", "--limits.receipt_flush_ms", "150",
                              "--presence.ttl_ms", "1500", "--presence.batch_ms", "100")


def test_receipts_move_ticks_forward_and_are_coalesced(live):
    alice, bob = live.register(), live.register()
    a, b = alice.connect(), bob.connect()
    b2 = bob.connect()  # bob's second device
    conversation = a.send_text(to_user_id=bob.id, text="one")["conversation_id"]
    for text in ("two", "three"):
        a.send_text(conversation, text=text)
    b.wait_events(lambda e: e.get("text") == "three")
    b.ok("receipt", conversation_id=conversation, delivered_seq=3)
    got = frames_of(a, "receipt", lambda f: f["delivered_seq"] == 3)[0]
    assert got["user_id"] == bob.id and got["read_seq"] == 0
    # A burst of read receipts (1..3, then going back) ends as one update at 3.
    for seq in (1, 2, 3, 2, 1):
        b.ok("receipt", conversation_id=conversation, read_seq=seq)
    frames_of(a, "receipt", lambda f: f["read_seq"] == 3)
    settle(a)
    reads = [f["read_seq"] for f in a.frames if f.get("type") == "receipt"]
    assert reads == sorted(reads), "receipts went backwards"
    assert len([r for r in reads if r > 0]) <= 2, f"not coalesced: {reads}"
    # Bob's other device learns the read state and that nothing is unread.
    state = frames_of(b2, "read_state", lambda f: f["read_seq"] == 3)[0]
    assert state["unread_count"] == 0 and state["mention_count"] == 0
    listing = {c["id"]: c for c in a.ok("conversations.list")["conversations"]}
    assert listing[conversation]["peer_read_seq"] == 3 and listing[conversation]["peer_delivered_seq"] == 3
    # Out-of-range and non-member receipts change nothing.
    b.ok("receipt", conversation_id=conversation, read_seq=99)
    eve = live.register().connect()
    eve.ok("receipt", conversation_id=conversation, read_seq=1)
    settle(a, 0.5)
    assert max(f["read_seq"] for f in a.frames if f.get("type") == "receipt") == 3


def test_read_receipts_can_be_turned_off(live):
    alice, bob, carol = live.register(), live.register(), live.register()
    a, b = alice.connect(), bob.connect()
    group = a.ok("group.create", title="receipts", member_ids=[bob.id, carol.id])["conversation"]["id"]
    seq = a.send_text(group, text="read me")["seq"]
    b.wait_events(lambda e: e.get("text") == "read me")
    assert b.ok("settings.update", read_receipts=False)["settings"] == {"read_receipts": False, "last_seen": True,
                                                                       "discoverable": True}
    b.ok("receipt", conversation_id=group, read_seq=seq)
    got = frames_of(a, "receipt", lambda f: f["user_id"] == bob.id)[0]
    assert "read_seq" not in got and got["delivered_seq"] == seq
    carol.connect().ok("receipt", conversation_id=group, read_seq=seq)
    frames_of(a, "receipt", lambda f: f["user_id"] == carol.id)
    who = a.ok("receipts.get", conversation_id=group, seq=seq)
    assert [r["user_id"] for r in who["read_by"]] == [carol.id]
    assert sorted(d["user_id"] for d in who["delivered_to"]) == sorted([bob.id, carol.id])
    assert live.register().connect().request("receipts.get", conversation_id=group, seq=seq)["code"] == "not_member"


def test_typing_reaches_connected_members_only_and_expires(live):
    alice, bob, eve = live.register(), live.register(), live.register()
    a, a2, b, e = alice.connect(), alice.connect(), bob.connect(), eve.connect()
    conversation = a.send_text(to_user_id=bob.id, text="hi")["conversation_id"]
    b.wait_events(lambda x: x.get("text") == "hi")
    assert a.ok("typing", conversation_id=conversation)["throttled"] is False
    start = frames_of(b, "typing", lambda f: f["state"] == "start")[0]
    assert start["user_id"] == alice.id and start["conversation_id"] == conversation and start["expires_in_ms"] == 1200
    assert a.ok("typing", conversation_id=conversation)["throttled"] is True  # within the throttle window
    a.ok("typing", conversation_id=conversation, state="stop")
    frames_of(b, "typing", lambda f: f["state"] == "stop")
    # Without a refresh, the indicator ends by itself.
    b.frames.clear()
    time.sleep(0.1)
    a.ok("typing", conversation_id=conversation)
    frames_of(b, "typing", lambda f: f["state"] == "start")
    stop = frames_of(b, "typing", lambda f: f["state"] == "stop", timeout=4)[0]
    assert stop["user_id"] == alice.id
    # Nobody else hears it: not the typer's other device, not a stranger; strangers may not type.
    settle(a2)
    settle(e)
    assert not [f for f in a2.frames + e.frames if f.get("type") == "typing"]
    assert e.request("typing", conversation_id=conversation)["code"] == "not_member"


def test_presence_online_away_offline_and_last_seen(live):
    alice, bob, stranger = live.register(), live.register(), live.register()
    a = alice.connect()
    a.send_text(to_user_id=bob.id, text="peer")
    b = bob.connect()
    online = frames_of(a, "presence", lambda f: any(u["user_id"] == bob.id and u["status"] == "online" for u in f["users"]))
    assert online
    assert b.ok("presence.set", status="away")["status"] == "away"
    frames_of(a, "presence", lambda f: any(u["user_id"] == bob.id and u["status"] == "away" for u in f["users"]))
    b.ok("presence.set", status="online")
    frames_of(a, "presence", lambda f: [u for u in f["users"] if u["user_id"] == bob.id and u["status"] == "online"], count=2)
    view = a.ok("presence.get", user_ids=[bob.id, stranger.id])["users"]
    assert view[0]["status"] == "online" and view[1]["status"] == "unknown"
    # Bob stops sending heartbeats: after the TTL he is offline, with a last-seen time.
    a.frames.clear()
    gone = frames_of(a, "presence", lambda f: any(u["user_id"] == bob.id and u["status"] == "offline" for u in f["users"]),
                     timeout=6)[0]
    entry = [u for u in gone["users"] if u["user_id"] == bob.id][0]
    assert entry["last_seen"] > 0
    # Hiding last seen hides it from others.
    b.ok("settings.update", last_seen=False)
    b.close()
    time.sleep(0.5)
    hidden = a.ok("presence.get", user_ids=[bob.id])["users"][0]
    assert hidden["status"] == "offline" and "last_seen" not in hidden
    # Presence goes only to people who share a conversation.
    s = stranger.connect()
    b = bob.connect()
    time.sleep(0.5)
    settle(s)
    assert not [f for f in s.frames if f.get("type") == "presence"]


def test_edit_and_delete(live):
    alice, bob, admin = live.register(), live.register(), live.register()
    a, b = alice.connect(), bob.connect()
    conversation = a.send_text(to_user_id=bob.id, text="orignal")["conversation_id"]
    edited = a.ok("message.edit", conversation_id=conversation, seq=1, text="original")
    assert edited["edit_seq"] == 2
    event = b.wait_events(lambda e: e["kind"] == "message.edited")[0]
    assert event["target_seq"] == 1 and event["text"] == "original"
    history = a.ok("history", conversation_id=conversation)["events"]
    assert history[0]["text"] == "original" and history[0]["edited"] is True
    versions = b.ok("message.edits", conversation_id=conversation, seq=1)["versions"]
    assert [v["text"] for v in versions] == ["orignal", "original"]
    assert b.request("message.edit", conversation_id=conversation, seq=1, text="x")["code"] == "forbidden"
    assert b.request("message.delete", conversation_id=conversation, seq=1)["code"] == "forbidden"
    a.ok("message.delete", conversation_id=conversation, seq=1)
    deleted = b.wait_events(lambda e: e["kind"] == "message.deleted")[0]
    assert deleted["target_seq"] == 1
    first = a.ok("history", conversation_id=conversation)["events"][0]
    assert first["deleted"] is True and "text" not in first
    assert b.request("message.edits", conversation_id=conversation, seq=1)["code"] == "not_found"
    assert a.request("message.edit", conversation_id=conversation, seq=1, text="again")["code"] == "not_found"
    # Edits and deletes sync like messages: a fresh device sees all four events, in order.
    kinds = [e["kind"] for e in bob.connect().sync_all(0)[0] if e["conversation_id"] == conversation]
    assert kinds == ["text", "message.edited", "message.deleted"]
    # In groups, admins may delete others' messages; members may not.
    g = admin.connect()
    group = g.ok("group.create", title="mods", member_ids=[alice.id, bob.id])["conversation"]["id"]
    seq = a.send_text(group, text="spam")["seq"]
    assert b.request("message.delete", conversation_id=group, seq=seq)["code"] == "forbidden"
    g.ok("message.delete", conversation_id=group, seq=seq)
    assert g.request("message.delete", conversation_id=group, seq=1)["code"] == "invalid_field"  # not a message


def test_reactions(live):
    alice, bob, eve = live.register(), live.register(), live.register()
    a, b = alice.connect(), bob.connect()
    conversation = a.send_text(to_user_id=bob.id, text="react to me")["conversation_id"]
    assert b.ok("reaction.add", conversation_id=conversation, seq=1, emoji="👍")["changed"] is True
    assert b.ok("reaction.add", conversation_id=conversation, seq=1, emoji="👍")["changed"] is False
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="👍")
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="🎉")
    added = a.wait_events(lambda e: e["kind"] == "reaction.added")[0]
    assert added["target_seq"] == 1 and added["emoji"] == "👍" and added["sender_id"] == bob.id
    summary = b.ok("reactions.get", conversation_id=conversation, seq=1)["reactions"]
    assert summary == [{"emoji": "👍", "count": 2, "user_ids": [bob.id, alice.id]},
                       {"emoji": "🎉", "count": 1, "user_ids": [alice.id]}]
    b.ok("reaction.remove", conversation_id=conversation, seq=1, emoji="👍")
    shown = a.ok("history", conversation_id=conversation)["events"][0]["reactions"]
    assert [(r["emoji"], r["count"]) for r in shown] == [("👍", 1), ("🎉", 1)]
    assert eve.connect().request("reaction.add", conversation_id=conversation, seq=1, emoji="x")["code"] == "not_member"
    assert b.request("reaction.add", conversation_id=conversation, seq=99, emoji="x")["code"] == "not_found"


def test_reaction_order_is_commit_order_never_the_clock(live):
    # Reactions pipelined on one connection commit together, within one millisecond: ordered
    # by the clock with ties broken by bytes, "🎉" (F0 9F 8E 89) came out before "👍" (F0 9F 91 8D).
    alice, bob = live.register(), live.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="first")["conversation_id"]
    seqs = [a.send_text(conversation, text=f"m{i}")["seq"] for i in range(20)]
    for seq in seqs:
        a.send_json({"type": "reaction.add", "id": f"x{seq}", "conversation_id": conversation, "seq": seq, "emoji": "👍"})
        a.send_json({"type": "reaction.add", "id": f"y{seq}", "conversation_id": conversation, "seq": seq, "emoji": "🎉"})
        a.send_json({"type": "reaction.add", "id": f"z{seq}", "conversation_id": conversation, "seq": seq, "emoji": "a"})
    a.wait_events(lambda e: e["kind"] == "reaction.added", count=60)
    history = a.ok("history", conversation_id=conversation, after_seq=1, limit=20)["events"]
    assert [[r["emoji"] for r in e["reactions"]] for e in history] == [["👍", "🎉", "a"]] * 20


def test_reaction_order_after_removals(live):
    # Documented (3.1): emoji in the order of their oldest remaining reaction. A adds X, B adds
    # Y, B adds X, A removes X: X's oldest remaining reaction is B's, added after Y.
    alice, bob = live.register(), live.register()
    a, b = alice.connect(), bob.connect()
    conversation = a.send_text(to_user_id=bob.id, text="react")["conversation_id"]
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="X")
    b.ok("reaction.add", conversation_id=conversation, seq=1, emoji="Y")
    b.ok("reaction.add", conversation_id=conversation, seq=1, emoji="X")
    assert [r["emoji"] for r in a.ok("reactions.get", conversation_id=conversation, seq=1)["reactions"]] == ["X", "Y"]
    a.ok("reaction.remove", conversation_id=conversation, seq=1, emoji="X")
    assert a.ok("reactions.get", conversation_id=conversation, seq=1)["reactions"] == [
        {"emoji": "Y", "count": 1, "user_ids": [bob.id]}, {"emoji": "X", "count": 1, "user_ids": [bob.id]}]
    # Re-adding puts A after B within X (its reaction is the newer one).
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="X")
    assert a.ok("reactions.get", conversation_id=conversation, seq=1)["reactions"][1]["user_ids"] == [bob.id, alice.id]


def test_reaction_limit(make_server):
    s = make_server(*HIGH_RATE, "--limits.max_reactions_per_message", "2").start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="x")["conversation_id"]
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="a")
    a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="b")
    assert a.request("reaction.add", conversation_id=conversation, seq=1, emoji="c")["code"] == "limit_reached"
    # At the limit, adding an emoji the user already has is the no-op it always is (protocol.md).
    reply = a.ok("reaction.add", conversation_id=conversation, seq=1, emoji="a")
    assert reply["type"] == "ok" and reply["changed"] is False


def test_pin_limit_and_pinning_again(make_server):
    s = make_server(*HIGH_RATE, "--limits.max_pins", "2").start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="1")["conversation_id"]
    a.send_text(conversation, text="2")
    a.send_text(conversation, text="3")
    assert a.ok("pin.add", conversation_id=conversation, seq=1)["changed"] is True
    assert a.ok("pin.add", conversation_id=conversation, seq=2)["changed"] is True
    assert a.request("pin.add", conversation_id=conversation, seq=3)["code"] == "limit_reached"
    # Pinning a message that is already pinned changes nothing, also at the limit.
    reply = a.ok("pin.add", conversation_id=conversation, seq=1)
    assert reply["type"] == "ok" and reply["changed"] is False


def test_replies_and_threads(live):
    owner, member = live.register(), live.register()
    o, m = owner.connect(), member.connect()
    channel = o.ok("channel.create", title="threads")["conversation"]["id"]
    m.ok("channel.join", conversation_id=channel)
    root = o.send_text(channel, text="root")["seq"]
    quote = m.ok("send", conversation_id=channel, client_msg_id="q1", text="quoting", reply_to_seq=root)
    assert o.wait_events(lambda e: e.get("text") == "quoting")[0]["reply_to"] == root
    replies = []
    for i in range(5):
        replies.append(m.ok("send", conversation_id=channel, client_msg_id=f"t{i}", text=f"reply {i}",
                            thread_root_seq=root)["seq"])
    event = o.wait_events(lambda e: e.get("text") == "reply 4")[0]
    assert event["thread_root"] == root
    page = o.ok("thread.history", conversation_id=channel, root_seq=root, limit=3)
    assert [e["text"] for e in page["events"]] == ["reply 2", "reply 3", "reply 4"] and page["has_more"] is True
    older = o.ok("thread.history", conversation_id=channel, root_seq=root, before_seq=page["events"][0]["seq"])
    assert [e["text"] for e in older["events"]] == ["reply 0", "reply 1"] and older["has_more"] is False
    assert page["root"]["thread"]["reply_count"] == 5 and page["root"]["thread"]["last_reply_seq"] == replies[-1]
    listed = [e for e in o.ok("history", conversation_id=channel)["events"] if e["seq"] == root][0]
    assert listed["thread"]["reply_count"] == 5
    assert m.request("send", conversation_id=channel, client_msg_id="n", text="nested",
                     thread_root_seq=replies[0])["code"] == "invalid_field"
    assert m.request("send", conversation_id=channel, client_msg_id="bad", text="x",
                     reply_to_seq=9999)["code"] == "invalid_field"
    assert quote["seq"] == root + 1


def test_unread_counts_and_mentions_agree_across_devices(live):
    admin, reader, other = live.register(), live.register(), live.register()
    a, o = admin.connect(), other.connect()
    group = a.ok("group.create", title="unread", member_ids=[reader.id, other.id])["conversation"]["id"]
    a.send_text(group, text="one")
    a.send_text(group, text=f"hey @{reader.username} look")
    o.send_text(group, text="@all from a member is just text")
    a.send_text(group, text="@all meeting now")
    d1, d2 = reader.connect(), reader.connect()
    entry = [c for c in d1.ok("conversations.list")["conversations"] if c["id"] == group][0]
    assert entry["unread_count"] == 4 and entry["mention_count"] == 2
    assert entry["last_message"]["text"] == "@all meeting now"
    mentions = [e for e in d1.ok("history", conversation_id=group)["events"] if e["kind"] == "text"]
    assert mentions[1]["mentions"] == [reader.id] and "mentions_all" not in mentions[2]
    assert mentions[3]["mentions_all"] is True
    # Reading on one device clears the badge on the other.
    d1.ok("receipt", conversation_id=group, read_seq=entry["last_seq"])
    state = frames_of(d2, "read_state", lambda f: f["conversation_id"] == group)[0]
    assert state["unread_count"] == 0 and state["mention_count"] == 0
    again = [c for c in d2.ok("conversations.list")["conversations"] if c["id"] == group][0]
    assert again["unread_count"] == 0 and again["read_seq"] == entry["last_seq"]
    # Own messages never count as unread; the list is ordered by last activity.
    d1.send_text(group, text="mine")
    assert [c for c in d2.ok("conversations.list")["conversations"] if c["id"] == group][0]["unread_count"] == 0
    direct = o.send_text(to_user_id=reader.id, text="newest")["conversation_id"]
    assert d2.ok("conversations.list")["conversations"][0]["id"] == direct


def test_counts_start_at_joining_and_stop_at_leaving(live):
    admin, early, late = live.register(), live.register(), live.register()
    a = admin.connect()
    group = a.ok("group.create", title="bounds", member_ids=[early.id])["conversation"]["id"]
    a.send_text(group, text="@all before the late one joined")
    a.send_text(group, text=f"@{early.username} and @all: counts once")

    def counts(user):
        c = user.connect().ok("conversation.get", conversation_id=group)["conversation"]
        return c["unread_count"], c["mention_count"]

    assert counts(early) == (2, 2)
    a.ok("members.add", conversation_id=group, user_ids=[late.id])
    a.send_text(group, text=f"@{late.username} welcome")
    assert counts(late) == (1, 1)  # nothing from before it joined
    a.ok("members.remove", conversation_id=group, user_id=early.id)
    a.send_text(group, text="@all after the early one left")
    assert counts(early) == (3, 2)  # a former member counts nothing posted after it left
    assert counts(late) == (2, 2)


def test_mentions_and_references_in_direct_chats(live):
    alice, bob = live.register(), live.register()
    a = alice.connect()
    # The first message creates the chat: mentions are found; it cannot reply to anything.
    assert a.request("send", to_user_id=bob.id, client_msg_id="r1", text="hi", reply_to_seq=1)["code"] == "invalid_field"
    first = a.send_text(to_user_id=bob.id, text=f"@{bob.username} first")
    direct = first["conversation_id"]
    a.ok("send", to_user_id=bob.id, client_msg_id="s2", text=f"hey @{bob.username}", reply_to_seq=first["seq"])
    assert a.request("send", to_user_id=bob.id, client_msg_id="r2", text="x", reply_to_seq=99)["code"] == "invalid_field"
    assert a.request("send", to_user_id=bob.id, client_msg_id="r3", text="@all no")["type"] == "ack"
    b = bob.connect()
    entry = [c for c in b.ok("conversations.list")["conversations"] if c["id"] == direct][0]
    assert entry["unread_count"] == 3 and entry["mention_count"] == 2
    texts = [e for e in b.ok("history", conversation_id=direct)["events"] if e["kind"] == "text"]
    assert texts[0]["mentions"] == [bob.id] and texts[1]["mentions"] == [bob.id]
    assert texts[1]["reply_to"] == first["seq"] and "mentions_all" not in texts[2]


def test_unread_and_mention_limits_are_settings(make_server):
    s = make_server(*HIGH_RATE, "--limits.max_unread_count", "3", "--limits.max_mentions_per_message", "1").start()
    alice, bob, carol = s.register(), s.register(), s.register()
    a = alice.connect()
    group = a.ok("group.create", title="limits", member_ids=[bob.id, carol.id])["conversation"]["id"]
    for i in range(5):
        a.send_text(group, text=f"@{carol.username} @{bob.username} {i}")
    entry = [c for c in bob.connect().ok("conversations.list")["conversations"] if c["id"] == group][0]
    assert entry["unread_count"] == 3  # counted up to the limit
    assert entry["mention_count"] == 0  # only the first name of each message is a mention
    texts = [e for e in a.ok("history", conversation_id=group)["events"] if e["kind"] == "text"]
    assert all(e["mentions"] == [carol.id] for e in texts)


def test_pins(live):
    owner, member = live.register(), live.register()
    o, m = owner.connect(), member.connect()
    group = o.ok("group.create", title="pins", member_ids=[member.id])["conversation"]["id"]
    seq = m.send_text(group, text="pin me")["seq"]
    assert m.ok("pin.add", conversation_id=group, seq=seq)["changed"] is True
    assert m.ok("pin.add", conversation_id=group, seq=seq)["changed"] is False
    event = o.wait_events(lambda e: e["kind"] == "message.pinned")[0]
    assert event["target_seq"] == seq
    pins = o.ok("pins.list", conversation_id=group)["pins"]
    assert [(p["seq"], p["pinned_by"], p["message"]["text"]) for p in pins] == [(seq, member.id, "pin me")]
    o.ok("pin.remove", conversation_id=group, seq=seq)
    assert o.ok("pins.list", conversation_id=group)["pins"] == []
    # In channels only admins pin.
    channel = o.ok("channel.create", title="pinned channel")["conversation"]["id"]
    m.ok("channel.join", conversation_id=channel)
    cseq = m.send_text(channel, text="x")["seq"]
    assert m.request("pin.add", conversation_id=channel, seq=cseq)["code"] == "forbidden"
    o.ok("pin.add", conversation_id=channel, seq=cseq)


def test_live_features_over_rest(live):
    alice, bob = live.register(), live.register()
    conversation = alice.api("POST", f"/v1/users/{bob.id}/messages", json={"client_msg_id": "r1", "text": "rest"}).json()["conversation_id"]
    base = f"/v1/conversations/{conversation}"
    assert alice.api("PATCH", f"{base}/messages/1", json={"text": "rest edited"}).status_code == 200
    assert bob.api("POST", f"{base}/messages/1/reactions", json={"emoji": "👀"}).json()["changed"] is True
    assert bob.api("GET", f"{base}/messages/1/reactions").json()["reactions"][0]["emoji"] == "👀"
    assert bob.api("DELETE", f"{base}/messages/1/reactions", params={"emoji": "👀"}).json()["changed"] is True
    assert alice.api("PUT", f"{base}/pins/1").json()["changed"] is True
    assert [p["seq"] for p in bob.api("GET", f"{base}/pins").json()["pins"]] == [1]
    assert bob.api("POST", f"{base}/receipts", json={"read_seq": 1}).status_code == 200
    assert len(alice.api("GET", f"{base}/messages/1/edits").json()["versions"]) == 2
    assert alice.api("PATCH", "/v1/me/settings", json={"last_seen": False}).json()["settings"]["last_seen"] is False
    assert alice.api("GET", "/v1/presence", params={"user_ids": str(bob.id)}).json()["users"][0]["user_id"] == bob.id
    assert alice.api("DELETE", f"{base}/messages/1").status_code == 200
    # A deleted root keeps its thread (as a tombstone).
    assert bob.api("GET", f"{base}/threads/1").json()["root"]["deleted"] is True
