"""Push subscriptions (issue 15; docs/protocol.md "push.subscribe", "push.subscriptions",
"push.unsubscribe"): a device registers where to be notified while it has no live session; a
subscription belongs to the sign-in that registered it and goes with it (logout, revocation,
log out everywhere). Each refusal the document lists is checked here."""
import base64
import os

import pytest
import requests

from harness import HIGH_RATE, Client

MAX_SUBSCRIPTIONS = 4


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A P-256 public key as a browser gives it (uncompressed: 0x04, X, Y). The server checks its
# shape (65 bytes, 0x04 first); the curve check belongs to the encryption step.
P256DH = b64url(b"\x04" + bytes(range(1, 65)))
AUTH = b64url(bytes(range(16)))


def web_push(endpoint=None, **extra):
    endpoint = endpoint or "https://push.example.net/send/" + os.urandom(8).hex()
    return {"kind": "webpush", "endpoint": endpoint, "keys": {"p256dh": P256DH, "auth": AUTH}, **extra}


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(*HIGH_RATE, "--push.max_subscriptions_per_user", str(MAX_SUBSCRIPTIONS))


def test_subscribe_list_replace_and_unsubscribe(srv):
    alice = srv.register()
    c = alice.connect()
    first = c.ok("push.subscribe", **web_push("https://push.example.net/send/a"))["subscription"]
    assert first["kind"] == "webpush" and first["endpoint"] == "https://push.example.net/send/a"
    assert first["encrypted"] is True and first["this_device"] is True and first["created_at"] > 0
    # The same endpoint again (a browser re-subscribing): the same subscription.
    again = c.ok("push.subscribe", **web_push("https://push.example.net/send/a"))["subscription"]
    assert (again["id"], again["created_at"]) == (first["id"], first["created_at"])
    fcm = c.ok("push.subscribe", kind="fcm", token="fGx0:APA91bH-token_value")["subscription"]
    assert fcm["token"] == "fGx0:APA91bH-token_value" and "endpoint" not in fcm and fcm["encrypted"] is False
    apns = c.ok("push.subscribe", kind="apns", token="ab" * 32, topic="net.example.chat",
                environment="sandbox", keys={"p256dh": P256DH, "auth": AUTH})["subscription"]
    assert (apns["topic"], apns["environment"], apns["encrypted"]) == ("net.example.chat", "sandbox", True)
    hook = alice.api("POST", "/v1/push/subscriptions",
                     json={"kind": "webhook", "endpoint": "https://up.example.org/UP?token=x"})
    assert hook.status_code == 200 and hook.json()["subscription"]["this_device"] is True, hook.text
    listed = c.ok("push.subscriptions")["subscriptions"]
    assert [s["id"] for s in listed] == [first["id"], fcm["id"], apns["id"], hook.json()["subscription"]["id"]]
    assert listed[0] == first
    # REST reads the same; another user sees none of them and cannot remove them.
    assert alice.api("GET", "/v1/push/subscriptions").json()["subscriptions"] == listed
    bob = srv.register()
    b = bob.connect()
    assert b.ok("push.subscriptions")["subscriptions"] == []
    refused = b.request("push.unsubscribe", subscription_id=first["id"])
    assert (refused["code"], refused.get("field")) == ("not_found", "subscription_id"), refused
    # Bob may register the same endpoint (two accounts in one browser profile).
    assert b.ok("push.subscribe", **web_push("https://push.example.net/send/a"))["subscription"]["id"] != first["id"]
    assert c.ok("push.unsubscribe", subscription_id=first["id"])
    r = alice.api("DELETE", f"/v1/push/subscriptions/{fcm['id']}")
    assert r.status_code == 200 and r.json() == {}, r.text
    assert [s["id"] for s in c.ok("push.subscriptions")["subscriptions"]] == [apns["id"], hook.json()["subscription"]["id"]]
    assert alice.api("DELETE", f"/v1/push/subscriptions/{fcm['id']}").status_code == 404


def test_a_subscription_goes_with_the_sign_in_that_made_it(srv):
    user = srv.register()
    laptop = user.connect()
    r = srv.login(user.username, user.password)
    phone_token, phone_token_id = r.json()["token"], r.json()["token_id"]
    phone = Client(srv, phone_token)
    tablet_token = srv.login(user.username, user.password).json()["token"]
    tablet = Client(srv, tablet_token)
    mine = laptop.ok("push.subscribe", **web_push())["subscription"]
    phone_sub = phone.ok("push.subscribe", kind="fcm", token="phone-token")["subscription"]
    tablet.ok("push.subscribe", kind="fcm", token="tablet-token")
    seen = {s["id"]: s["this_device"] for s in phone.ok("push.subscriptions")["subscriptions"]}
    assert seen[phone_sub["id"]] is True and seen[mine["id"]] is False and len(seen) == 3

    def tokens():
        return sorted(s.get("token", "") for s in laptop.ok("push.subscriptions")["subscriptions"])

    # Signing the phone out from the laptop (account.revoke_session) removes its subscription.
    laptop.ok("account.revoke_session", token_id=phone_token_id)
    assert phone.wait_close() == 4004
    assert tokens() == ["", "tablet-token"]
    # The tablet logs out itself.
    assert srv.api("POST", "/v1/auth/logout", token=tablet_token).status_code == 200
    assert tokens() == [""]
    # Log out everywhere, keeping this device: its own subscription stays, the others go.
    desktop = Client(srv, srv.login(user.username, user.password).json()["token"])
    desktop.ok("push.subscribe", **web_push())
    assert len(tokens()) == 2
    laptop.ok("account.logout_all")
    assert [s["id"] for s in laptop.ok("push.subscriptions")["subscriptions"]] == [mine["id"]]


def test_the_per_user_limit_counts_every_device(srv):
    user = srv.register()
    c = user.connect()
    other = Client(srv, srv.login(user.username, user.password).json()["token"])
    for i in range(MAX_SUBSCRIPTIONS):
        (c if i % 2 else other).ok("push.subscribe", kind="fcm", token=f"t{i}")
    refused = c.request("push.subscribe", kind="fcm", token="one-more")
    assert refused["code"] == "limit_reached", refused
    r = user.api("POST", "/v1/push/subscriptions", json={"kind": "fcm", "token": "one-more"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "limit_reached", r.text
    # Registering one already there again is a replacement, not one more.
    assert c.ok("push.subscribe", kind="fcm", token="t1")
    first = c.ok("push.subscriptions")["subscriptions"][0]["id"]
    c.ok("push.unsubscribe", subscription_id=first)
    assert c.ok("push.subscribe", kind="fcm", token="one-more")


def test_what_is_refused(srv):
    c = srv.register().connect()

    def refusal(**fields):
        reply = c.request("push.subscribe", **fields)
        assert reply["type"] == "error", reply
        return reply["code"], reply.get("field")

    assert refusal(endpoint="https://x/y") == ("missing_field", "kind")
    assert refusal(kind="carrier-pigeon", endpoint="https://x/y") == ("invalid_field", "kind")
    assert refusal(kind="webpush", keys={"p256dh": P256DH, "auth": AUTH}) == ("missing_field", "endpoint")
    assert refusal(kind="fcm", endpoint="https://x/y") == ("missing_field", "token")
    assert refusal(kind="webpush", endpoint="https://push.example.net/a") == ("missing_field", "keys.p256dh")
    assert refusal(kind="webpush", endpoint="https://push.example.net/a", keys={"p256dh": P256DH}) == (
        "missing_field", "keys.auth")
    assert refusal(kind="webpush", endpoint="https://push.example.net/a", keys="x") == ("invalid_field", "keys")
    assert refusal(kind="webpush", endpoint="https://push.example.net/a", keys={"p256dh": 5, "auth": AUTH}) == (
        "invalid_field", "keys.p256dh")
    short_point = b64url(b"\x04" + bytes(32))
    assert refusal(**web_push(keys={"p256dh": short_point, "auth": AUTH})) == ("invalid_field", "keys.p256dh")
    assert refusal(**web_push(keys={"p256dh": P256DH, "auth": b64url(bytes(8))})) == ("invalid_field", "keys.auth")
    assert refusal(**web_push(keys={"p256dh": P256DH + "+", "auth": AUTH})) == ("invalid_field", "keys.p256dh")
    # Only https (push.allow_http_endpoints is off), a host, no user name, no spaces.
    for endpoint in ("http://push.example.net/a", "ftp://push.example.net/a", "https:///a",
                     "https://user@push.example.net/a", "https://push.example.net/a b", "javascript:alert(1)"):
        assert refusal(**web_push(endpoint)) == ("invalid_field", "endpoint"), endpoint
    assert refusal(kind="webhook", endpoint="https://up.example.org/" + "x" * 2048) == ("too_large", "endpoint")
    assert refusal(kind="apns", token="not hex") == ("invalid_field", "token")
    assert refusal(kind="apns", token="ab" * 32, environment="staging") == ("invalid_field", "environment")
    assert refusal(kind="fcm", token="with space") == ("invalid_field", "token")
    unsubscribe = c.request("push.unsubscribe")
    assert (unsubscribe["code"], unsubscribe.get("field")) == ("missing_field", "subscription_id")
    assert c.request("push.unsubscribe", subscription_id="x")["code"] == "invalid_field"
    # The session still serves.
    assert c.ok("push.subscriptions")["subscriptions"] == []


@pytest.mark.single_node("a setting of one process")
def test_http_endpoints_when_the_operator_allows_them(make_server):
    s = make_server(*HIGH_RATE, "--push.allow_http_endpoints", "true").start()
    c = s.register().connect()
    assert c.ok("push.subscribe", **web_push("http://127.0.0.1:9/push"))["subscription"]["endpoint"] == \
        "http://127.0.0.1:9/push"
    assert c.request("push.subscribe", **web_push("ftp://127.0.0.1/push"))["code"] == "invalid_field"
