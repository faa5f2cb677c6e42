"""Per-user conversation settings (conversation.settings, docs/protocol.md 4 and 5.10): mute,
archive, pin and "mark as unread", stored with the membership and announced to every session of
the user. In the cluster pass each of a user's sessions sits on another node, so the frames
travel through the bus."""

import pytest

from harness import HIGH_RATE, frames_of, settle

DEFAULTS = {"muted_until": 0, "archived": False, "pin_rank": 0, "marked_unread": False, "cleared_seq": 0, "notify": "default"}
MAX_PINNED = 3


def settings_of(conversation):
    return {k: conversation[k] for k in DEFAULTS}


def listed(client, conversation_id):
    return [c for c in client.ok("conversations.list")["conversations"] if c["id"] == conversation_id][0]


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(*HIGH_RATE, "--limits.max_pinned_conversations", str(MAX_PINNED),
                              "--limits.receipt_flush_ms", "100")


def test_a_change_reaches_every_session_of_the_user_and_nobody_else(srv):
    alice, bob = srv.register(), srv.register()
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    direct = a1.send_text(to_user_id=bob.id, text="hi")["conversation_id"]
    # Without fields the command reads.
    read = a1.ok("conversation.settings", conversation_id=direct)
    assert {k: read[k] for k in read if k not in ("type", "id")} == {"conversation_id": direct, "settings": DEFAULTS}
    reply = a1.ok("conversation.settings", conversation_id=direct, muted_until=-1, archived=True)
    assert reply["conversation_id"] == direct
    assert reply["settings"] == {"muted_until": -1, "archived": True, "pin_rank": 0, "marked_unread": False, "cleared_seq": 0, "notify": "default"}
    # Every session of alice (the requesting one first, before its reply) hears of it.
    expected = {"type": "conversation_settings", "conversation_id": direct, "muted_until": -1, "archived": True,
                "pin_rank": 0, "marked_unread": False, "cleared_seq": 0, "notify": "default"}
    on_a1 = [f for f in a1.frames if f.get("type") in ("conversation_settings", "ok")][-2:]
    assert on_a1[0] == expected and on_a1[1]["id"] == reply["id"]
    assert frames_of(a2, "conversation_settings")[0] == expected
    # An absent field keeps its value; a change of nothing sends nothing.
    assert a2.ok("conversation.settings", conversation_id=direct, archived=True)["settings"]["muted_until"] == -1
    settle(a1)
    assert len([f for f in a1.frames if f.get("type") == "conversation_settings"]) == 1
    # Bob's view is his own.
    settle(b, 0.2)
    assert not [f for f in b.frames if f.get("type") == "conversation_settings"]
    assert settings_of(listed(b, direct)) == DEFAULTS


def test_a_reconnecting_client_catches_up_from_its_conversations(srv):
    alice, bob = srv.register(), srv.register()
    a = alice.connect()
    group = a.ok("group.create", title="settings", member_ids=[bob.id])["conversation"]["id"]
    a.ok("conversation.settings", conversation_id=group, muted_until=1795806133798, marked_unread=True)
    a.close()
    later = alice.connect()  # another device (another node in the cluster pass)
    entry = listed(later, group)
    assert settings_of(entry) == {"muted_until": 1795806133798, "archived": False, "pin_rank": 0,
                                  "marked_unread": True, "cleared_seq": 0, "notify": "default"}
    got = later.ok("conversation.get", conversation_id=group)["conversation"]
    assert settings_of(got) == settings_of(entry)
    # sync's conversations carry them too (the caller's membership fields).
    synced = [c for c in later.ok("sync", cursor=0)["conversations"] if c["id"] == group][0]
    assert settings_of(synced) == settings_of(entry)
    # A muted_until in the past is kept as given: clients compare it with their clock.
    assert later.ok("conversation.settings", conversation_id=group, muted_until=1000)["settings"]["muted_until"] == 1000


def test_pins_are_ranked_in_pinning_order_and_limited(srv):
    alice, bob = srv.register(), srv.register()
    a, a2 = alice.connect(), alice.connect()
    chats = [a.ok("group.create", title=f"g{i}", member_ids=[bob.id])["conversation"]["id"] for i in range(MAX_PINNED + 1)]
    ranks = [a.ok("conversation.settings", conversation_id=c, pinned=True)["settings"]["pin_rank"]
             for c in chats[:MAX_PINNED]]
    assert ranks == [1, 2, 3]
    # Pinning again keeps the rank (and changes nothing).
    assert a.ok("conversation.settings", conversation_id=chats[0], pinned=True)["settings"]["pin_rank"] == 1
    # One more is refused, and nothing of that request is stored.
    refused = a.request("conversation.settings", conversation_id=chats[3], pinned=True, archived=True)
    assert refused["type"] == "error" and refused["code"] == "limit_reached" and refused["field"] == "pinned"
    assert settings_of(listed(a, chats[3])) == DEFAULTS
    # Unpinning frees a slot; a new pin goes on top.
    assert a.ok("conversation.settings", conversation_id=chats[1], pinned=False)["settings"]["pin_rank"] == 0
    assert a.ok("conversation.settings", conversation_id=chats[3], pinned=True)["settings"]["pin_rank"] == 4
    pinned = sorted((c for c in a.ok("conversations.list")["conversations"] if c["pin_rank"] > 0),
                    key=lambda c: -c["pin_rank"])
    assert [c["id"] for c in pinned] == [chats[3], chats[2], chats[0]]
    # The other device saw every change, in order.
    frames_of(a2, "conversation_settings", lambda f: f["conversation_id"] == chats[3] and f["pin_rank"] == 4)
    ranks_seen = [(f["conversation_id"], f["pin_rank"]) for f in a2.frames if f.get("type") == "conversation_settings"]
    assert ranks_seen == [(chats[0], 1), (chats[1], 2), (chats[2], 3), (chats[1], 0), (chats[3], 4)]
    # Pins are per user: bob pins his own.
    assert bob.connect().ok("conversation.settings", conversation_id=chats[3], pinned=True)["settings"]["pin_rank"] == 1


def test_marked_unread_is_cleared_when_the_read_pointer_moves(srv):
    alice, bob = srv.register(), srv.register()
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    direct = b.send_text(to_user_id=alice.id, text="one")["conversation_id"]
    a1.ok("receipt", conversation_id=direct, read_seq=1)
    frames_of(a1, "read_state", lambda f: f["read_seq"] == 1)
    a1.ok("conversation.settings", conversation_id=direct, marked_unread=True)
    frames_of(a2, "conversation_settings", lambda f: f["marked_unread"])
    # A receipt that does not move the read pointer leaves it marked.
    a2.ok("receipt", conversation_id=direct, read_seq=1, delivered_seq=1)
    settle(a1, 0.5)
    assert listed(a1, direct)["marked_unread"] is True
    # Reading on clears it, announced to every session like any other change.
    b.send_text(direct, text="two")
    a2.ok("receipt", conversation_id=direct, read_seq=2)
    for session in (a1, a2):
        frames_of(session, "read_state", lambda f: f["read_seq"] == 2)
        cleared = frames_of(session, "conversation_settings", lambda f: not f["marked_unread"])[0]
        assert cleared == {"type": "conversation_settings", "conversation_id": direct, "muted_until": 0,
                           "archived": False, "pin_rank": 0, "marked_unread": False, "cleared_seq": 0, "notify": "default"}
    assert listed(a1, direct)["marked_unread"] is False
    settle(b, 0.2)
    assert not [f for f in b.frames if f.get("type") == "conversation_settings"]


def test_only_active_members_and_well_typed_fields(srv):
    alice, bob, carol = srv.register(), srv.register(), srv.register()
    a, c = alice.connect(), carol.connect()
    group = a.ok("group.create", title="members only", member_ids=[bob.id])["conversation"]["id"]
    refused = c.request("conversation.settings", conversation_id=group, archived=True)
    assert refused["code"] == "not_member"
    assert c.request("conversation.settings", conversation_id=10 ** 12)["code"] == "not_found"
    assert a.request("conversation.settings")["code"] == "missing_field"
    for field, value in (("archived", "yes"), ("pinned", 1), ("marked_unread", "false"),
                         ("muted_until", -2), ("muted_until", 1.5), ("muted_until", "soon"), ("muted_until", True),
                         ("notify", 3), ("notify", "loud"), ("notify", "Mentions")):
        error = a.request("conversation.settings", conversation_id=group, **{field: value})
        assert error["code"] == "invalid_field" and error["field"] == field, (field, value, error)
    error = a.request("conversation.settings", conversation_id=group, notify="mentions" * 3)
    assert (error["code"], error["field"]) == ("too_large", "notify")
    assert settings_of(listed(a, group)) == DEFAULTS


def test_leaving_drops_the_settings_and_a_new_membership_starts_fresh(srv):
    alice, bob = srv.register(), srv.register()
    a, b = alice.connect(), bob.connect()
    groups = [a.ok("group.create", title=f"drop{i}", member_ids=[bob.id])["conversation"]["id"]
              for i in range(MAX_PINNED + 1)]
    for g in groups[:MAX_PINNED]:
        b.ok("conversation.settings", conversation_id=g, pinned=True, archived=True)
    assert b.request("conversation.settings", conversation_id=groups[-1], pinned=True)["code"] == "limit_reached"
    left = b.ok("conversation.leave", conversation_id=groups[0])["conversation"]
    assert "pin_rank" not in left and "archived" not in left  # a former membership has none
    assert b.request("conversation.settings", conversation_id=groups[0], archived=False)["code"] == "not_member"
    # Its pin no longer counts.
    assert b.ok("conversation.settings", conversation_id=groups[-1], pinned=True)["settings"]["pin_rank"] == 4
    a.ok("members.add", conversation_id=groups[0], user_ids=[bob.id])
    assert settings_of(listed(b, groups[0])) == DEFAULTS


def test_rest_route(srv):
    alice, bob = srv.register(), srv.register()
    a = alice.connect()
    direct = a.send_text(to_user_id=bob.id, text="rest")["conversation_id"]
    path = f"/v1/conversations/{direct}/settings"
    r = alice.api("GET", path)
    assert r.status_code == 200 and r.json() == {"conversation_id": direct, "settings": DEFAULTS}
    r = alice.api("PATCH", path, json={"archived": True, "muted_until": "-1"})
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {"muted_until": -1, "archived": True, "pin_rank": 0, "marked_unread": False, "cleared_seq": 0, "notify": "default"}
    # A REST request has no session to skip: every session of the user gets the frame.
    assert frames_of(a, "conversation_settings")[0]["archived"] is True
    r = alice.api("PATCH", path + "?pinned=true")
    assert r.status_code == 200 and r.json()["settings"]["pin_rank"] == 1
    r = alice.api("PATCH", path, json={"archived": "no"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"
    assert r.json()["error"]["field"] == "archived"
    stranger = srv.register()
    r = stranger.api("PATCH", path, json={"archived": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_member"
    assert srv.api("PATCH", path, json={"archived": True}).status_code == 401
