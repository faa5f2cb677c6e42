"""Changing one's display name: account.update_profile / PATCH /v1/me (docs/protocol.md 2.7).
The new name reaches, live, every session of the user and of its peers (direct and group
co-members), on every node in the cluster pass; users.search follows it."""
import uuid

from harness import HIGH_RATE, frames_of


def barrier(client):
    """A write of `client`'s own, answered in commit order (5.9): on one node, frames of earlier
    commits that were meant for this session have arrived once its reply has. In the cluster pass
    a frame relayed from another node's batch without events is not ordered against this node's
    later commits, so there a check after the barrier can miss a wrong frame (never fail a right
    run); the SQLite and PostgreSQL passes check it exactly."""
    client.ok("settings.update")


def user_frames(client, user_id):
    return [f["user"] for f in client.frames if f.get("type") == "user" and f["user"]["id"] == user_id]


def test_rename_reaches_the_user_and_its_peers_and_search_follows(server):
    tag = uuid.uuid4().hex[:8]
    alice = server.register(display_name=f"Oldname{tag} Smith")
    bob, carol, dave = server.register(), server.register(), server.register()
    a1, a2, b, c, d = alice.connect(), alice.connect(), bob.connect(), carol.connect(), dave.connect()
    a1.send_text(to_user_id=bob.id, text="hi bob")                                 # bob: a peer (direct)
    channel = a1.ok("channel.create", title=f"profile-{tag}")["conversation"]["id"]
    d.ok("channel.join", conversation_id=channel)                                  # dave: a channel co-member only
    assert [u["id"] for u in c.ok("users.search", q=f"oldname{tag}")["users"]] == [alice.id]

    reply = a1.ok("account.update_profile", display_name=f"  Newname{tag}   Wonder ")
    expected = {"id": alice.id, "username": alice.username, "display_name": f"Newname{tag} Wonder",
                "created_at": reply["user"]["created_at"]}
    assert reply["user"] == expected
    # The requesting session got the frame before its reply; the other one, and the peer's, live.
    assert user_frames(a1, alice.id) == [expected]
    assert frames_of(a2, "user")[0]["user"] == expected
    assert frames_of(b, "user")[0]["user"] == expected
    # Not a stranger, not a channel co-member (they read names with users.get).
    for client in (c, d):
        barrier(client)
        assert user_frames(client, alice.id) == []
    assert c.ok("users.get", user_ids=[alice.id])["users"] == [expected]
    assert d.ok("user.get", user_id=alice.id)["user"] == expected

    # users.search: the new name, not the old one (the same transaction stored both).
    assert [u["id"] for u in c.ok("users.search", q=f"newname{tag}")["users"]] == [alice.id]
    assert [u["id"] for u in c.ok("users.search", q="wonder")["users"]].count(alice.id) == 1
    assert c.ok("users.search", q=f"oldname{tag}")["users"] == []

    # The same name again: nothing written, no frame; the reply is the same.
    assert a1.ok("account.update_profile", display_name=f"Newname{tag} Wonder")["user"] == expected
    barrier(b)
    assert len(user_frames(b, alice.id)) == 1

    # Empty (or only spaces): the username. Over REST too (PATCH /v1/me), and the sessions hear it.
    r = alice.api("PATCH", "/v1/me", json={"display_name": "   "})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["display_name"] == alice.username
    frames_of(b, "user", lambda f: f["user"]["display_name"] == alice.username)
    frames_of(a1, "user", lambda f: f["user"]["display_name"] == alice.username)
    assert alice.api("GET", "/v1/me").json()["user"]["display_name"] == alice.username


def test_refusals(server):
    alice, bob = server.register(), server.register()
    a = alice.connect()
    before = a.ok("user.get", user_id=alice.id)["user"]

    def refused(name):
        return a.request("account.update_profile", display_name=name)

    too_long = refused("x" * 65)  # limits.max_display_name_bytes: 64
    assert too_long["code"] == "too_large" and too_long["field"] == "display_name"
    assert refused("x" * 64)["type"] == "ok"
    assert refused("bad\u202edirection")["code"] == "invalid_field"   # bidi override
    assert refused("\u2066isolate\u2069")["code"] == "invalid_field"  # bidi isolate
    assert refused("zero\u200bwidth")["code"] == "invalid_field"
    imitation = refused(bob.username.upper())  # another user's username, in other letters' case
    assert imitation["code"] == "conflict" and "username" in imitation["message"]
    assert refused(alice.username.upper())["type"] == "ok"  # one's own username is fine
    assert a.request("account.update_profile")["code"] == "missing_field"
    assert a.request("account.update_profile", display_name=7)["code"] == "invalid_field"
    r = alice.api("PATCH", "/v1/me", json={"display_name": "a\u202eb"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"
    r = alice.api("PATCH", "/v1/me", json={"display_name": bob.username})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert a.ok("user.get", user_id=alice.id)["user"]["display_name"] == alice.username.upper()
    assert before["username"] == alice.username


def test_renames_are_rate_limited(make_server):
    s = make_server(*HIGH_RATE, "--limits.profile_changes_per_hour", "2").start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    assert a.ok("account.update_profile", display_name="One")["user"]["display_name"] == "One"
    # Refused names do not spend the budget.
    assert a.request("account.update_profile", display_name="a\u202eb")["code"] == "invalid_field"
    assert a.request("account.update_profile", display_name="x" * 65)["code"] == "too_large"
    assert a.ok("account.update_profile", display_name="Two")["user"]["display_name"] == "Two"
    limited = a.request("account.update_profile", display_name="Three")
    assert limited["code"] == "rate_limited" and limited["retry_after_ms"] > 0
    assert a.ok("user.get", user_id=alice.id)["user"]["display_name"] == "Two"
    # Per user: another user still may.
    assert bob.connect().ok("account.update_profile", display_name="Bobby")["user"]["display_name"] == "Bobby"
