"""Hidden messages and cleared chats (docs/protocol.md message.hide, conversation.settings
cleared_seq, 3.1 `hidden`, 5.11): a user takes messages out of its own view on all its devices;
nobody else sees a change. In the cluster pass each of a user's sessions sits on another node, so
the frames travel through the bus."""

import pytest

from harness import HIGH_RATE, frames_of, settle

MAX_HIDE_BATCH = 5
# What a hidden event keeps (3.1): where it sits, not what it says.
KEPT = {"conversation_id", "seq", "pos", "id", "sender_id", "kind", "ts"}


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(*HIGH_RATE, "--limits.max_hide_batch", str(MAX_HIDE_BATCH),
                              "--limits.receipt_flush_ms", "100")


def history(client, conversation_id, **fields):
    return client.ok("history", conversation_id=conversation_id, **fields)


def by_seq(events):
    return {e["seq"]: e for e in events}


def listed(client, conversation_id):
    return [c for c in client.ok("conversations.list")["conversations"] if c["id"] == conversation_id][0]


def own_frames(client, type_):
    return [f for f in client.frames if f.get("type") == type_]


def test_hiding_reaches_every_session_of_the_user_and_nobody_else(srv):
    alice, bob = srv.register(), srv.register()
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    assert a1.hello_reply["limits"]["max_hide_batch"] == MAX_HIDE_BATCH
    direct = b.send_text(to_user_id=alice.id, text="one")["conversation_id"]
    for text in ("two", "three"):
        b.send_text(direct, text=text)
    reply = a1.ok("message.hide", conversation_id=direct, seq=2)
    assert {k: reply[k] for k in reply if k not in ("type", "id")} == {"conversation_id": direct, "seq": 2,
                                                                       "changed": True}
    # Every session of alice hears of it, the requesting one before its reply.
    expected = {"type": "message_hidden", "conversation_id": direct, "seq": 2}
    on_a1 = [f for f in a1.frames if f.get("type") in ("message_hidden", "ok")][-2:]
    assert on_a1[0] == expected and on_a1[1]["id"] == reply["id"]
    assert frames_of(a2, "message_hidden")[0] == expected
    # Hiding it again is fine, and announced to nobody.
    again = a2.ok("message.hide", conversation_id=direct, seq=2)
    assert again["changed"] is False and again["seq"] == 2
    settle(a1)
    assert len(own_frames(a1, "message_hidden")) == 1
    # Bob hears nothing and reads everything as before.
    settle(b, 0.2)
    assert not own_frames(b, "message_hidden")
    assert by_seq(history(b, direct)["events"])[2]["text"] == "two"
    # Alice's reads: the event in its place, without its content; paging as before.
    page = history(a1, direct)
    assert [e["seq"] for e in page["events"]] == [1, 2, 3] and page["has_more"] is False
    hidden = by_seq(page["events"])[2]
    assert set(hidden) == KEPT | {"client_msg_id", "hidden"} and hidden["hidden"] is True
    assert hidden["sender_id"] == bob.id and hidden["kind"] == "text"
    assert by_seq(page["events"])[3]["text"] == "three"
    older = history(a1, direct, before_seq=3, limit=1)
    assert [e["seq"] for e in older["events"]] == [2] and older["events"][0]["hidden"] is True
    synced = by_seq([e for e in a2.sync_all(0)[0] if e["conversation_id"] == direct])
    assert synced[2]["hidden"] is True and "text" not in synced[2] and synced[1]["text"] == "one"
    # Live events are not filtered: an edit of the hidden message arrives with its text.
    b.ok("message.edit", conversation_id=direct, seq=2, text="two, edited")
    live = a2.wait_events(lambda e: e["kind"] == "message.edited" and e["target_seq"] == 2)[0]
    assert live["text"] == "two, edited" and "hidden" not in live
    # ... while reads show that edit hidden too.
    assert set(by_seq(history(a2, direct)["events"])[4]) == KEPT | {"target_seq", "hidden"}


def test_what_every_read_shows_of_a_hidden_message(srv):
    alice, bob = srv.register(), srv.register()
    a, b = alice.connect(), bob.connect()
    group = a.ok("group.create", title="reads", member_ids=[bob.id])["conversation"]["id"]  # seqs 1, 2
    root = b.send_text(group, text=f"root @{alice.username}")["seq"]  # 3
    b.ok("message.edit", conversation_id=group, seq=root, text=f"root, edited @{alice.username}")  # 4
    a.ok("reaction.add", conversation_id=group, seq=root, emoji="👍")  # 5
    b.ok("pin.add", conversation_id=group, seq=root)  # 6
    reply = b.ok("send", conversation_id=group, client_msg_id="r1", text="in the thread", thread_root_seq=root,
                 reply_to_seq=root)["seq"]  # 7
    other = b.send_text(group, text="after")["seq"]  # 8
    before = listed(a, group)
    a.ok("message.hide", conversation_id=group, seq=root)
    events = by_seq(history(a, group)["events"])
    assert set(events[root]) == KEPT | {"client_msg_id", "hidden"}  # no reactions, thread, mentions
    # The edit carried the message's text: it comes hidden, naming its message.
    assert set(events[4]) == KEPT | {"target_seq", "hidden"} and events[4]["target_seq"] == root
    # Events about the message that carry nothing of it come as usual.
    assert events[5]["emoji"] == "👍" and events[6]["kind"] == "message.pinned"
    assert events[reply]["text"] == "in the thread" and events[reply]["reply_to"] == root
    synced = by_seq([e for e in a.sync_all(0)[0] if e["conversation_id"] == group])
    assert synced[root]["hidden"] is True and synced[4]["hidden"] is True and "text" not in synced[4]
    thread = a.ok("thread.history", conversation_id=group, root_seq=root)
    assert set(thread["root"]) == KEPT | {"client_msg_id", "hidden"}
    assert [e["seq"] for e in thread["events"]] == [reply] and thread["events"][0]["text"] == "in the thread"
    pins = a.ok("pins.list", conversation_id=group)["pins"]
    assert [p["seq"] for p in pins] == [root] and pins[0]["pinned_by"] == bob.id
    assert set(pins[0]["message"]) == KEPT | {"client_msg_id", "hidden"}
    edits = a.request("message.edits", conversation_id=group, seq=root)
    assert edits["code"] == "not_found" and "hid" in edits["message"]
    assert a.ok("reactions.get", conversation_id=group, seq=root)["reactions"] == []
    # Unread and mention counts and pointers do not change; last_message skips hidden messages.
    after = listed(a, group)
    assert (after["unread_count"], after["mention_count"]) == (before["unread_count"], before["mention_count"])
    assert after["last_message"]["seq"] == other
    a.ok("message.hide", conversation_id=group, seq=other)
    assert listed(a, group)["last_message"]["seq"] == reply
    assert a.ok("conversation.get", conversation_id=group)["conversation"]["last_message"]["seq"] == reply
    # A hidden thread reply is hidden in the thread too.
    a.ok("message.hide", conversation_id=group, seq=reply)
    hidden_reply = a.ok("thread.history", conversation_id=group, root_seq=root)["events"][0]
    assert set(hidden_reply) == KEPT | {"client_msg_id", "thread_root", "hidden"}  # no reply_to
    assert hidden_reply["thread_root"] == root
    assert "last_message" not in a.ok("conversation.get", conversation_id=group)["conversation"]  # none left
    # Bob's view has it all.
    assert "hidden" not in b.ok("thread.history", conversation_id=group, root_seq=root)["root"]
    assert b.ok("reactions.get", conversation_id=group, seq=root)["reactions"][0]["count"] == 1
    assert listed(b, group)["last_message"]["seq"] == other
    # Writes are not affected: alice may still react to what she hid.
    assert a.ok("reaction.add", conversation_id=group, seq=root, emoji="🎉")["changed"] is True


def test_several_at_once_all_or_nothing(srv):
    alice, bob = srv.register(), srv.register()
    a, a2 = alice.connect(), alice.connect()
    group = a.ok("group.create", title="batch", member_ids=[bob.id])["conversation"]["id"]  # seqs 1, 2
    for i in range(4):
        a.send_text(group, text=f"m{i}")  # seqs 3..6
    reply = a.ok("message.hide", conversation_id=group, seqs=[5, 3, "5"])
    assert reply["seqs"] == [3, 5] and reply["changed"] is True and "seq" not in reply
    assert [f["seq"] for f in frames_of(a2, "message_hidden", count=2)] == [3, 5]
    # Already hidden ones are left alone: only the new one is announced.
    assert a.ok("message.hide", conversation_id=group, seqs=[3, 4])["changed"] is True
    frames_of(a2, "message_hidden", count=3)
    settle(a2, 0.2)
    assert [f["seq"] for f in own_frames(a2, "message_hidden")] == [3, 5, 4]
    # One bad entry: nothing of the request is stored.
    bad = a.request("message.hide", conversation_id=group, seqs=[6, 1])
    assert bad["code"] == "invalid_field" and "not a message" in bad["message"]
    missing = a.request("message.hide", conversation_id=group, seqs=[6, 99])
    assert missing["code"] == "not_found"
    assert "hidden" not in by_seq(history(a, group)["events"])[6]
    assert a.request("message.hide", conversation_id=group, seqs=list(range(1, MAX_HIDE_BATCH + 2)))["code"] == "too_large"
    for fields, code in (({}, "missing_field"), ({"seq": 3, "seqs": [3]}, "invalid_field"),
                         ({"seqs": []}, "invalid_field"), ({"seqs": [0]}, "invalid_field"),
                         ({"seqs": "3"}, "invalid_field"), ({"seq": 0}, "invalid_field"),
                         ({"seqs": [2 ** 53]}, "invalid_field")):
        error = a.request("message.hide", conversation_id=group, **fields)
        assert error["code"] == code, (fields, error)
    assert a.request("message.hide", seq=3)["code"] == "missing_field"


def test_who_may_hide_what(srv):
    alice, bob, carol = srv.register(), srv.register(), srv.register()
    a, b, c = alice.connect(), bob.connect(), carol.connect()
    group = a.ok("group.create", title="who", member_ids=[bob.id])["conversation"]["id"]
    first = a.send_text(group, text="before carol")["seq"]  # 3
    assert c.request("message.hide", conversation_id=group, seq=first)["code"] == "not_member"
    assert c.request("message.hide", conversation_id=10 ** 12, seq=1)["code"] == "not_found"
    # A member added later reads (and hides) from its addition on.
    added = a.ok("members.add", conversation_id=group, user_ids=[carol.id])["conversation"]["last_seq"]
    assert c.request("message.hide", conversation_id=group, seq=first)["code"] == "not_found"
    later = a.send_text(group, text="for carol")["seq"]
    assert c.ok("message.hide", conversation_id=group, seq=later)["changed"] is True
    assert c.request("message.hide", conversation_id=group, seq=added)["code"] == "invalid_field"
    assert c.request("message.hide", conversation_id=group, seq=later + 5)["code"] == "not_found"
    # A former member hides inside its window, not after it.
    b.ok("conversation.leave", conversation_id=group)
    after = a.send_text(group, text="after bob left")["seq"]
    assert b.ok("message.hide", conversation_id=group, seq=first)["changed"] is True
    assert b.request("message.hide", conversation_id=group, seq=after)["code"] == "not_found"
    assert by_seq(history(b, group)["events"])[first]["hidden"] is True
    # Channels: members (and former members) over the whole history; not someone previewing it.
    channel = a.ok("channel.create", title="hide-channel")["conversation"]["id"]
    posted = a.send_text(channel, text="in the channel")["seq"]
    refused = c.request("message.hide", conversation_id=channel, seq=posted)
    assert refused["code"] == "not_member"
    c.ok("channel.join", conversation_id=channel)
    assert c.ok("message.hide", conversation_id=channel, seq=posted)["changed"] is True
    assert by_seq(history(c, channel)["events"])[posted]["hidden"] is True
    assert by_seq(history(a, channel)["events"])[posted]["text"] == "in the channel"
    # A deleted message can be hidden too.
    gone = a.send_text(group, text="to delete")["seq"]
    a.ok("message.delete", conversation_id=group, seq=gone)
    assert a.ok("message.hide", conversation_id=group, seq=gone)["changed"] is True
    assert set(by_seq(history(a, group)["events"])[gone]) == KEPT | {"client_msg_id", "hidden"}


def test_clear_chat(srv):
    alice, bob = srv.register(), srv.register()
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    group = a1.ok("group.create", title="clear", member_ids=[bob.id])["conversation"]["id"]  # seqs 1, 2
    root = b.send_text(group, text="root")["seq"]  # 3
    b.ok("pin.add", conversation_id=group, seq=root)  # 4
    early = b.ok("send", conversation_id=group, client_msg_id="t1", text="early reply", thread_root_seq=root)["seq"]  # 5
    cleared = b.send_text(group, text="last before the clear")["seq"]  # 6
    before = listed(a1, group)
    reply = a1.ok("conversation.settings", conversation_id=group, cleared_seq=cleared)
    assert reply["settings"] == {"muted_until": 0, "archived": False, "pin_rank": 0, "marked_unread": False,
                                 "cleared_seq": cleared, "notify": "default"}
    frame = frames_of(a2, "conversation_settings")[0]
    assert frame["cleared_seq"] == cleared and frame["conversation_id"] == group
    late = b.ok("send", conversation_id=group, client_msg_id="t2", text="late reply", thread_root_seq=root)["seq"]  # 7
    edit = b.ok("message.edit", conversation_id=group, seq=cleared, text="edited after the clear")["edit_seq"]  # 8
    # history ends above cleared_seq, and pages below it are empty.
    page = history(a1, group)
    assert [e["seq"] for e in page["events"]] == [late, edit] and page["has_more"] is False
    assert page["visible_from_seq"] == 1 and page["last_seq"] == edit
    assert by_seq(page["events"])[edit]["hidden"] is True and "text" not in by_seq(page["events"])[edit]
    first = history(a1, group, limit=1)
    assert [e["seq"] for e in first["events"]] == [edit] and first["has_more"] is True
    below = history(a1, group, before_seq=late)
    assert below["events"] == [] and below["has_more"] is False
    assert [e["seq"] for e in history(a1, group, after_seq=0)["events"]] == [late, edit]
    # sync leaves out what is at or below it; the conversation carries cleared_seq.
    synced, _, _ = a2.sync_all(0)
    assert [e["seq"] for e in synced if e["conversation_id"] == group] == [late, edit]
    entry = [c for c in a2.ok("sync", cursor=0)["conversations"] if c["id"] == group][0]
    assert entry["cleared_seq"] == cleared
    # thread.history: the cleared root is hidden, replies start above cleared_seq.
    thread = a1.ok("thread.history", conversation_id=group, root_seq=root)
    assert thread["root"]["hidden"] is True and [e["seq"] for e in thread["events"]] == [late]
    assert a1.ok("pins.list", conversation_id=group)["pins"][0]["message"]["hidden"] is True
    # The conversation's last message is one above cleared_seq; counts do not change.
    after = listed(a1, group)
    assert after["cleared_seq"] == cleared and after["last_message"]["seq"] == late
    assert after["unread_count"] == before["unread_count"] + 1  # only the late reply is new
    assert a1.ok("conversation.get", conversation_id=group)["conversation"]["cleared_seq"] == cleared
    # It never moves back (no error), and stops at the conversation's last seq.
    assert a2.ok("conversation.settings", conversation_id=group, cleared_seq=2)["settings"]["cleared_seq"] == cleared
    capped = a2.ok("conversation.settings", conversation_id=group, cleared_seq=2 ** 53 - 1)["settings"]["cleared_seq"]
    assert capped == edit
    assert history(a1, group)["events"] == [] and "last_message" not in listed(a1, group)
    for value in (-1, 2 ** 53, "all", True):
        error = a1.request("conversation.settings", conversation_id=group, cleared_seq=value)
        assert error["code"] == "invalid_field" and error["field"] == "cleared_seq", (value, error)
    # message.edits and reactions.get treat what is cleared like what is hidden.
    assert a1.request("message.edits", conversation_id=group, seq=cleared)["code"] == "not_found"
    b.ok("reaction.add", conversation_id=group, seq=cleared, emoji="👀")
    assert a1.ok("reactions.get", conversation_id=group, seq=cleared)["reactions"] == []
    assert b.ok("reactions.get", conversation_id=group, seq=cleared)["reactions"][0]["emoji"] == "👀"
    # Bob's view is his own.
    assert [e["seq"] for e in history(b, group)["events"]][:3] == [1, 2, root]
    assert listed(b, group)["cleared_seq"] == 0
    settle(b, 0.2)
    assert not own_frames(b, "conversation_settings")


def test_leaving_keeps_them_a_new_membership_drops_them(srv):
    alice, bob = srv.register(), srv.register()
    a, b = alice.connect(), bob.connect()
    channel = a.ok("channel.create", title="leave-hide")["conversation"]["id"]
    b.ok("channel.join", conversation_id=channel)
    seqs = [a.send_text(channel, text=f"c{i}")["seq"] for i in range(4)]
    b.ok("message.hide", conversation_id=channel, seq=seqs[3])
    b.ok("conversation.settings", conversation_id=channel, cleared_seq=seqs[1])
    left = b.ok("conversation.leave", conversation_id=channel)["conversation"]
    assert left["cleared_seq"] == seqs[1] and "archived" not in left
    # The former member reads the channel without them still, and cannot change cleared_seq.
    events = by_seq(history(b, channel)["events"])
    assert min(events) == seqs[2] and events[seqs[3]]["hidden"] is True
    assert b.request("conversation.settings", conversation_id=channel, cleared_seq=seqs[3])["code"] == "not_member"
    # A new membership starts with none.
    b.ok("channel.join", conversation_id=channel)
    events = by_seq(history(b, channel)["events"])
    assert min(events) == 1 and "hidden" not in events[seqs[3]] and events[seqs[0]]["text"] == "c0"
    assert listed(b, channel)["cleared_seq"] == 0


def test_rest_routes(srv):
    alice, bob = srv.register(), srv.register()
    a = alice.connect()
    direct = a.send_text(to_user_id=bob.id, text="r1")["conversation_id"]
    for text in ("r2", "r3"):
        a.send_text(direct, text=text)
    r = alice.api("POST", f"/v1/conversations/{direct}/messages/1/hide")
    assert r.status_code == 200 and r.json() == {"conversation_id": direct, "seq": 1, "changed": True}
    # A REST request has no session to skip: every session of the user gets the frame.
    assert frames_of(a, "message_hidden")[0] == {"type": "message_hidden", "conversation_id": direct, "seq": 1}
    r = alice.api("POST", f"/v1/conversations/{direct}/hide", json={"seqs": [2, 3]})
    assert r.status_code == 200 and r.json() == {"conversation_id": direct, "seqs": [2, 3], "changed": True}
    r = alice.api("POST", f"/v1/conversations/{direct}/hide?seqs=1,2")
    assert r.status_code == 200 and r.json()["changed"] is False
    r = alice.api("GET", f"/v1/conversations/{direct}/events")
    assert all(e["hidden"] for e in r.json()["events"])
    r = alice.api("POST", f"/v1/conversations/{direct}/messages/9/hide")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = alice.api("POST", f"/v1/conversations/{direct}/hide", json={})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_field"
    stranger = srv.register()
    r = stranger.api("POST", f"/v1/conversations/{direct}/messages/1/hide")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_member"
    assert srv.api("POST", f"/v1/conversations/{direct}/messages/1/hide").status_code == 401
    r = alice.api("PATCH", f"/v1/conversations/{direct}/settings", json={"cleared_seq": 2})
    assert r.status_code == 200 and r.json()["settings"]["cleared_seq"] == 2
    assert [e["seq"] for e in alice.api("GET", f"/v1/conversations/{direct}/events").json()["events"]] == [3]
    # Bob's view through REST is unchanged.
    assert [e["text"] for e in bob.api("GET", f"/v1/conversations/{direct}/events").json()["events"]] == ["r1", "r2", "r3"]
