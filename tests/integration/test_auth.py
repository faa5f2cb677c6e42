"""Accounts, tokens and authorization."""
import base64
import hashlib
import hmac
import json
import time

import pytest
import requests
import websocket

import clustered
from harness import Client, ProtocolError


def test_register_login_logout(server):
    user = server.register(password="violet staple rocket")
    assert server.login(user.username, "violet staple rocket").status_code == 200
    wrong = server.login(user.username, "wrong-password")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert server.login("nobody-" + user.username, "violet staple rocket").status_code == 401
    # The same username (any case) cannot be taken twice.
    r = requests.post(server.base + "/v1/auth/register", json={"username": user.username.upper(), "password": "correct horse battery"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert user.api("GET", "/v1/me").status_code == 200
    assert user.api("POST", "/v1/auth/logout").status_code == 200
    r = clustered.after_revocation(lambda: user.api("GET", "/v1/me"))  # other nodes: a bus hop later
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


@pytest.mark.parametrize("body,code", [
    ({"username": "ab", "password": "correct horse battery"}, "invalid_field"),
    ({"username": "has space", "password": "correct horse battery"}, "invalid_field"),
    ({"username": "-dash", "password": "correct horse battery"}, "invalid_field"),
    ({"username": "okname", "password": "short"}, "invalid_field"),
    ({"username": "okname"}, "missing_field"),
    ({"username": 5, "password": "correct horse battery"}, "invalid_field"),
])
def test_register_validation(server, body, code):
    r = requests.post(server.base + "/v1/auth/register", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text


def test_rest_requires_a_valid_token(server):
    assert server.api("GET", "/v1/conversations").json()["error"]["code"] == "unauthorized"
    assert server.api("GET", "/v1/conversations", token="garbage").status_code == 401
    user = server.register()
    forged = user.token[:-4] + ("AAAA" if not user.token.endswith("AAAA") else "BBBB")
    assert server.api("GET", "/v1/conversations", token=forged).status_code == 401


def test_revoked_token_closes_live_sessions_and_is_refused(server):
    user = server.register()
    c = user.connect()
    other = server.register().connect()  # another user's session is unaffected
    assert user.api("POST", "/v1/auth/logout").status_code == 200
    assert c.wait_close() == 4004

    def hello():
        """How a new session's hello with the revoked token ends: refused, or (a node that was
        still admitting it when the revocation arrived) closed with 4004."""
        client = Client(server, hello=False)
        try:
            reply = client.request("hello", token=user.token)
        except ProtocolError:
            reply = {"type": "closed", "close_code": client.close_code}
        client.close()
        return reply

    # The node that closed the session refuses at once; in a cluster, others a bus hop later.
    reply = clustered.after_revocation(hello, accepted=lambda reply: reply["type"] not in ("error", "closed"))
    assert reply.get("code") == "token_revoked" or reply.get("close_code") == 4004, reply
    assert other.ok("ping")["type"] == "pong"
    # A new login still works and gives a fresh token.
    fresh = server.login(user.username, user.password).json()["token"]
    assert Client(server, fresh).hello_reply["user_id"] == user.id


def test_revocation_survives_restart(make_server):
    s = make_server().start()
    user = s.register()
    assert user.api("POST", "/v1/auth/logout").status_code == 200
    assert s.stop() == 0
    s.start()
    assert user.api("GET", "/v1/me").json()["error"]["code"] == "token_revoked"


def test_expired_token_is_refused_and_session_closed(make_server):
    s = make_server("--auth.token_ttl_s", "2").start()
    user = s.register()
    c = user.connect()
    assert c.wait_close(timeout=6) == 4004  # the session ends when its token expires
    r = user.api("GET", "/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    hello = Client(s, hello=False)
    reply = hello.request("hello", token=user.token)
    assert reply["type"] == "error" and reply["code"] == "token_expired"
    assert hello.wait_close() == 4003


def test_unauthenticated_connection_can_only_authenticate(make_server):
    s = make_server("--limits.auth_timeout_ms", "1500").start()
    c = Client(s, hello=False)
    for frame in ({"type": "send", "conversation_id": 1, "client_msg_id": "x", "text": "t"},
                  {"type": "sync", "cursor": 0}, {"type": "ping"}):
        reply = c.request(frame.pop("type"), **frame)
        assert reply["type"] == "error" and reply["code"] == "not_authenticated"
    assert c.wait_close(timeout=5) == 4001  # closed after the authentication timeout


def test_bad_hello_closes(server):
    c = Client(server, hello=False)
    reply = c.request("hello", token="not-a-token")
    assert reply["code"] == "unauthorized"
    assert c.wait_close() == 4003
    c = Client(server, hello=False)
    assert c.request("hello")["code"] == "unauthorized"  # no token at all


def test_token_in_upgrade_header_or_query(server, make_server):
    user = server.register()
    by_header = Client(server, hello=False, header=["Authorization: Bearer " + user.token])
    assert by_header.request("hello")["user_id"] == user.id
    # A token in the URL ends up in logs: refused unless the operator allows it.
    try:
        Client(server, hello=False, url=server.ws_url + "?token=" + user.token)
        raise AssertionError("the upgrade with ?token= was accepted")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 400
    s = make_server("--server.ws_query_token", "true").start()
    other = s.register()
    by_query = Client(s, hello=False, url=s.ws_url + "?token=" + other.token)
    assert by_query.request("hello")["user_id"] == other.id
    again = by_query.request("hello", token=other.token)
    assert again["code"] == "already_authenticated"


def test_non_member_cannot_send_read_page_or_sync(server):
    alice, bob, eve = server.register(), server.register(), server.register()
    a = alice.connect()
    direct = a.send_text(to_user_id=bob.id, text="private")["conversation_id"]
    group = a.ok("group.create", title="private group", member_ids=[bob.id])["conversation"]["id"]
    a.send_text(group, text="group secret")
    e = eve.connect()
    cursor0 = 0
    for conversation in (direct, group):
        assert e.request("send", conversation_id=conversation, client_msg_id="x", text="hi")["code"] == "not_member"
        assert e.request("history", conversation_id=conversation)["code"] == "not_member"
        assert e.request("history", conversation_id=conversation, before_seq=2)["code"] == "not_member"
        assert e.request("members.list", conversation_id=conversation)["code"] == "not_member"
        assert e.request("conversation.get", conversation_id=conversation)["code"] == "not_member"
        r = eve.api("GET", f"/v1/conversations/{conversation}/events")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_member"
    assert e.ok("sync", cursor=cursor0)["events"] == []
    assert e.request("history", conversation_id=987654)["code"] == "not_found"
    # Nothing leaked live either.
    a.send_text(group, text="still secret")
    assert e.ok("ping") and not e.events


def test_removed_member_loses_access_after_removal(server):
    owner, member = server.register(), server.register()
    o, m = owner.connect(), member.connect()
    group = o.ok("group.create", title="g", member_ids=[member.id])["conversation"]["id"]
    o.send_text(group, text="before")
    o.ok("members.remove", conversation_id=group, user_id=member.id)
    removed = m.wait_events(lambda e: e["kind"] == "member.removed")[0]
    o.send_text(group, text="after")
    assert m.request("send", conversation_id=group, client_msg_id="x", text="t")["code"] == "not_member"
    history = m.ok("history", conversation_id=group)
    assert [e["kind"] for e in history["events"]][-1] == "member.removed"
    assert "after" not in [e.get("text") for e in history["events"]]
    synced, _, _ = m.sync_all(0)
    assert "after" not in [e.get("text") for e in synced] and removed["seq"] == synced[-1]["seq"]
    assert m.ok("ping") and not [e for e in m.events if e.get("text") == "after"]


def _hs256(secret, claims):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def test_host_application_jwt(make_server):
    secret = "host-app-shared-secret-0123456789"
    s = make_server("--auth.jwt_secret", secret, "--auth.jwt_issuer", "acme", "--auth.jwt_audience", "parley").start()
    now = int(time.time())
    token = _hs256(secret, {"iss": "acme", "aud": "parley", "sub": "acme-user-42", "preferred_username": "Carol",
                            "exp": now + 600})
    c = Client(s, token)
    user_id = c.hello_reply["user_id"]
    profile = s.api("GET", "/v1/me", token=token).json()["user"]
    assert profile["id"] == user_id and profile["username"] == "carol"
    # The same subject maps to the same user, on a new token too.
    again = _hs256(secret, {"iss": "acme", "aud": "parley", "sub": "acme-user-42", "exp": now + 900})
    assert Client(s, again).hello_reply["user_id"] == user_id
    # A second subject asking for the same name gets another username.
    clash = _hs256(secret, {"iss": "acme", "aud": "parley", "sub": "acme-user-43", "preferred_username": "carol",
                            "exp": now + 600})
    other = s.api("GET", "/v1/me", token=clash).json()["user"]
    assert other["id"] != user_id and other["username"] != "carol"
    # Wrong issuer, wrong key, expired, meant for another service: refused.
    for bad in (_hs256(secret, {"iss": "evil", "aud": "parley", "sub": "x", "exp": now + 600}),
                _hs256("another-secret-another-secret-00", {"iss": "acme", "aud": "parley", "sub": "x", "exp": now + 600}),
                _hs256(secret, {"iss": "acme", "aud": "parley", "sub": "x", "exp": now - 120}),
                _hs256(secret, {"iss": "acme", "aud": "billing", "sub": "x", "exp": now + 600}),
                _hs256(secret, {"iss": "acme", "sub": "x", "exp": now + 600})):
        assert s.api("GET", "/v1/me", token=bad).status_code == 401
    # Host users chat with local users.
    local = s.register()
    assert c.send_text(to_user_id=local.id, text="from host user")["seq"] == 1


def test_registration_can_be_closed(make_server):
    s = make_server("--auth.registration", "closed").start()
    r = requests.post(s.base + "/v1/auth/register", json={"username": "someone", "password": "correct horse battery"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert requests.get(s.base + "/v1/auth/config").json()["registration"] == "closed"


def test_ws_rejects_register_over_websocket(server):
    c = server.register().connect()
    assert c.request("auth.login", username="x", password="y")["code"] == "unknown_type"


def test_health_and_readiness(server):
    assert requests.get(server.base + "/healthz").json() == {"status": "ok"}
    assert requests.get(server.base + "/readyz").json() == {"status": "ready"}
    assert requests.get(server.base + "/v1/nope", headers={"Authorization": "Bearer x"}).status_code == 404
    r = requests.get(server.base + "/ws")  # a plain GET to the WebSocket endpoint
    assert r.status_code in (200, 404)


def test_admin_api(make_server):
    s = make_server("--auth.admin_token", "admin-secret-token-0123456789abcdef").start()
    body = {"users": [{"username": "bulk-one"}, {"username": "bulk-two", "password": "correct horse battery"},
                      {"username": "bulk-one"}, {"username": "x"}], "issue_tokens": True}
    r = s.api("POST", "/v1/admin/users", token="admin-secret-token-0123456789abcdef", json=body)
    assert r.status_code == 200, r.text
    users = r.json()["users"]
    assert [u.get("error") for u in users] == [None, None, "conflict", "invalid_field"]
    assert users[0]["user"]["username"] == "bulk-one" and users[0]["token"]
    # The issued token works; the password of bulk-two works; bulk-one has no password.
    c = Client(s, users[0]["token"], device="bench-device")
    assert c.hello_reply["user_id"] == users[0]["id"]
    assert s.login("bulk-two", "correct horse battery").status_code == 200
    assert s.login("bulk-one", "").status_code in (400, 401)
    listing = s.api("GET", "/v1/admin/sessions", token="admin-secret-token-0123456789abcdef").json()
    sessions = listing["sessions"]
    assert [(x["user_id"], x["device"]) for x in sessions] == [(users[0]["id"], "bench-device")]
    # Every node's sessions (the one session is on one of them), and which nodes answered.
    assert listing["nodes"] == ([1, 2, 3] if clustered.enabled() else [0])
    assert sessions[0]["node_id"] in listing["nodes"]
    # A user token is not an admin token; without auth.admin_token the API does not exist.
    assert s.api("GET", "/v1/admin/sessions", token=users[0]["token"]).status_code == 401
    other = make_server().start()
    assert other.api("GET", "/v1/admin/sessions", token="admin-secret-token-0123456789abcdef").status_code == 404
