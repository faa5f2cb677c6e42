"""What a user chooses about notifications (issue 15; docs/protocol.md "Push notifications" and
3.6 account.notifications): a level per conversation (default / all / mentions / none), a
do-not-disturb pause and daily quiet hours in the user's time zone, and push.content = encrypted,
which seals the full notification to the key a device registered. The local push service of
test_push_delivery.py receives the requests; sealed bodies are opened with http_ece
(tests/webpush/check.mjs), code Parley did not write.

Where a test shows that something was *not* sent, it does so without waiting for a silence: a
notification that should have gone would have reached the service first, or collapsed into the
next one (its `count`), so "the next request carries count 1 and the later seq" proves it."""
import base64
import datetime
import json
import os
import time

import pytest

from harness import HIGH_RATE, frames_of
# The push service and the server are test_push_delivery.py's fixtures (one of each per module).
from test_push_delivery import PUSH_FLAGS, browser_keys, hook, node_check, pair, service, srv  # noqa: F401


def note_of(request):
    return json.loads(request["body"])


def skipped(srv, reason):
    return srv.metric(f'parley_push_skipped_total{{reason="{reason}"}}')


def wait_skipped(srv, reason, above, timeout=10):
    deadline = time.time() + timeout
    while skipped(srv, reason) <= above:
        assert time.time() < deadline, f"no notification was skipped for {reason}"
        time.sleep(0.05)


def group_of_three(srv):
    alice, bob, carol = srv.register(), srv.register(), srv.register()
    a = alice.connect()
    group = a.ok("group.create", title="trip " + os.urandom(3).hex(), member_ids=[bob.id, carol.id])["conversation"]["id"]
    return alice, bob, carol, a, group


def test_notify_level_is_a_conversation_setting_with_a_default(srv):
    alice, bob, carol, a, group = group_of_three(srv)
    b1, b2 = bob.connect(), bob.connect()
    listed = {c["id"]: c for c in b1.ok("conversations.list")["conversations"]}
    assert listed[group]["notify"] == "default"
    reply = b1.ok("conversation.settings", conversation_id=group, notify="mentions")
    assert reply["settings"]["notify"] == "mentions"
    frame = frames_of(b2, "conversation_settings", lambda f: f["conversation_id"] == group)[0]
    assert frame["notify"] == "mentions" and frame["muted_until"] == 0
    assert b2.ok("conversation.get", conversation_id=group)["conversation"]["notify"] == "mentions"
    bad = b1.request("conversation.settings", conversation_id=group, notify="sometimes")
    assert (bad["type"], bad["code"], bad["field"]) == ("error", "invalid_field", "notify")
    # A membership's settings end with it: back in the group, the level is the default again.
    b1.ok("conversation.leave", conversation_id=group)
    a.ok("members.add", conversation_id=group, user_ids=[bob.id])
    assert b1.ok("conversation.get", conversation_id=group)["conversation"]["notify"] == "default"


def test_mentions_only_and_none_in_a_group(srv, service):
    alice, bob, carol, a, group = group_of_three(srv)
    b, c = bob.connect(), carol.connect()
    b.ok("conversation.settings", conversation_id=group, notify="mentions")
    c.ok("conversation.settings", conversation_id=group, notify="none")
    b.close()
    c.close()
    hook(bob, service, "level-bob")
    hook(carol, service, "level-carol")
    a.send_text(conversation_id=group, text="plain news")
    mention = a.send_text(conversation_id=group, text=f"@{bob.username} @{carol.username} this one is for you")
    note = note_of(service.wait("/level-bob")[0])
    # Not the plain message, nor it collapsed into this one.
    assert (note["seq"], note["count"], note["mention"]) == (mention["seq"], 1, True)
    # Carol: nothing at all, not even the mention. Her next notification, once she is back to
    # the default, is the first she gets.
    c = carol.connect()
    c.ok("conversation.settings", conversation_id=group, notify="default")
    c.close()
    later = a.send_text(conversation_id=group, text="and now everyone")
    got = service.wait("/level-carol")
    assert (note_of(got[0])["seq"], note_of(got[0])["count"]) == (later["seq"], 1)


def test_a_channel_member_may_choose_every_message(srv, service):
    owner, bob = srv.register(), srv.register()
    o = owner.connect()
    channel = o.ok("channel.create", title="all news " + os.urandom(3).hex())["conversation"]["id"]
    b = bob.connect()
    b.ok("channel.join", conversation_id=channel)
    b.ok("conversation.settings", conversation_id=channel, notify="all")
    b.close()
    hook(bob, service, "chan-all")
    post = o.send_text(conversation_id=channel, text="a post that mentions nobody")
    note = note_of(service.wait("/chan-all")[0])
    assert (note["seq"], note["mention"], note["conversation"]["kind"]) == (post["seq"], False, "channel")


def test_reactions_notify_at_mentions_level_not_at_none(srv, service):
    alice, bob, carol, a, group = group_of_three(srv)
    b = bob.connect()
    mine = b.send_text(conversation_id=group, text="my plan")
    b.ok("conversation.settings", conversation_id=group, notify="mentions")
    b.close()
    hook(bob, service, "react-bob")
    a.ok("reaction.add", conversation_id=group, seq=mine["seq"], emoji="🎉")
    note = note_of(service.wait("/react-bob")[0])
    assert (note["type"], note["emoji"]) == ("reaction", "🎉")
    b = bob.connect()
    b.ok("conversation.settings", conversation_id=group, notify="none")
    b.close()
    carol.connect().ok("reaction.add", conversation_id=group, seq=mine["seq"], emoji="👀")
    b = bob.connect()
    b.ok("conversation.settings", conversation_id=group, notify="all")
    b.close()
    later = a.send_text(conversation_id=group, text="so?")
    got = service.wait("/react-bob", count=2)
    assert (note_of(got[1])["seq"], note_of(got[1])["count"], note_of(got[1])["type"]) == (later["seq"], 1, "message")


def utc_hhmm(offset_minutes=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=offset_minutes)
    return t.strftime("%H:%M")


def test_account_notifications_round_trip_and_errors(srv):
    user = srv.register()
    c1, c2 = user.connect(), user.connect()
    assert c1.ok("account.notifications")["notifications"] == {"dnd_until": 0, "schedule": None, "quiet_now": False}
    until = int(time.time() * 1000) + 3600_000
    reply = c1.ok("account.notifications", dnd_until=until)["notifications"]
    assert (reply["dnd_until"], reply["quiet_now"]) == (until, True)
    # The requesting session hears of it too, before its reply.
    assert [f["type"] for f in c1.frames if f.get("type") in ("notification_settings", "ok")][-2:] == \
        ["notification_settings", "ok"]
    assert frames_of(c2, "notification_settings")[0]["notifications"] == reply
    # Quiet hours around now in a zone with a half-hour offset and no daylight saving time.
    kolkata = datetime.timedelta(hours=5, minutes=30)
    now_there = datetime.datetime.now(datetime.timezone.utc) + kolkata
    around = {"timezone": "Asia/Kolkata", "start": (now_there - datetime.timedelta(minutes=60)).strftime("%H:%M"),
              "end": (now_there + datetime.timedelta(minutes=60)).strftime("%H:%M")}
    reply = c1.ok("account.notifications", dnd_until=0, schedule=around)["notifications"]
    assert reply == {"dnd_until": 0, "schedule": around, "quiet_now": True}
    away = {"timezone": "UTC", "start": utc_hhmm(120), "end": utc_hhmm(240)}
    assert c1.ok("account.notifications", schedule=away)["notifications"]["quiet_now"] is False
    # REST: the same object.
    got = user.api("GET", "/v1/me/notifications").json()["notifications"]
    assert got == {"dnd_until": 0, "schedule": away, "quiet_now": False}
    patched = user.api("PATCH", "/v1/me/notifications", json={"schedule": None}).json()["notifications"]
    assert patched == {"dnd_until": 0, "schedule": None, "quiet_now": False}
    for fields, code, field in [
        ({"schedule": {"timezone": "Mars/Olympus", "start": "22:00", "end": "07:00"}}, "invalid_field", "schedule.timezone"),
        ({"schedule": {"timezone": "UTC", "start": "24:00", "end": "07:00"}}, "invalid_field", "schedule.start"),
        ({"schedule": {"timezone": "UTC", "start": "22:00", "end": "7:00"}}, "invalid_field", "schedule.end"),
        ({"schedule": {"timezone": "UTC", "start": "22:00", "end": "22:00"}}, "invalid_field", "schedule.end"),
        ({"schedule": {"timezone": "UTC", "start": "22:00"}}, "missing_field", "schedule.end"),
        ({"schedule": "22:00-07:00"}, "invalid_field", "schedule"),
        ({"schedule": {"timezone": "Z" * 65, "start": "22:00", "end": "07:00"}}, "too_large", "schedule.timezone"),
        ({"schedule": {"timezone": "UTC", "start": "22:00:00.000", "end": "07:00"}}, "too_large", "schedule.start"),
        ({"dnd_until": -2}, "invalid_field", "dnd_until"),
    ]:
        bad = c1.request("account.notifications", **fields)
        assert (bad["type"], bad["code"], bad["field"]) == ("error", code, field), fields
    assert c1.ok("account.notifications")["notifications"]["schedule"] is None


def test_do_not_disturb_holds_back_notifications(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "dnd")
    b = bob.connect()
    b.ok("account.notifications", dnd_until=-1)
    b.close()
    before = skipped(srv, "do_not_disturb")
    a.send_text(conversation_id=conversation, text="while you sleep")
    wait_skipped(srv, "do_not_disturb", before)
    # Quiet hours around now (UTC) hold them back too.
    b = bob.connect()
    b.ok("account.notifications", dnd_until=0,
         schedule={"timezone": "UTC", "start": utc_hhmm(-60), "end": utc_hhmm(60)})
    b.close()
    before = skipped(srv, "do_not_disturb")
    a.send_text(conversation_id=conversation, text="still night")
    wait_skipped(srv, "do_not_disturb", before)
    b = bob.connect()
    b.ok("account.notifications", schedule=None)
    b.close()
    morning = a.send_text(conversation_id=conversation, text="good morning")
    got = service.wait("/dnd")
    assert (note_of(got[0])["seq"], note_of(got[0])["count"]) == (morning["seq"], 1)


@pytest.fixture(scope="module")
def sealed_srv(make_module_server):
    return make_module_server(*HIGH_RATE, *PUSH_FLAGS, "--push.content", "encrypted")


def test_encrypted_content_seals_the_text_to_the_device(sealed_srv, service):
    alice, bob, a, conversation = pair(sealed_srv)
    public, private, auth = browser_keys()
    c = bob.connect()
    c.ok("push.subscribe", kind="webhook", endpoint=service.url("/sealed-hook"), keys={"p256dh": public, "auth": auth})
    c.ok("push.subscribe", kind="webhook", endpoint=service.url("/plain-hook"))
    c.close()
    ack = a.send_text(conversation_id=conversation, text="the secret plan 🤫")
    # With keys: an RFC 8291 body the push service cannot read; http_ece opens it.
    request = service.wait("/sealed-hook")[0]
    assert request["headers"]["Content-Encoding"] == "aes128gcm"
    assert "secret" not in request["body"].decode("latin-1")
    plain = node_check({"op": "decrypt", "ua_private": private, "auth_secret": auth,
                        "body": base64.urlsafe_b64encode(request["body"]).rstrip(b"=").decode()})
    note = json.loads(base64.urlsafe_b64decode(plain["plaintext"] + "=="))
    assert (note["seq"], note["text"], note["sender"]["id"]) == (ack["seq"], "the secret plan 🤫", alice.id)
    # Without keys: only that something arrived.
    note = note_of(service.wait("/plain-hook")[0])
    assert note["seq"] == ack["seq"] and "text" not in note and "sender" not in note and "conversation" not in note
