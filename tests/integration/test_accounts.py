"""Account security: sign-in throttling that cannot lock the owner out, a password-hashing
queue that one address cannot fill, password strength, password change, the devices signed in
to an account and revoking them, log out everywhere, registration modes with invites, sign-up
throttling, display names that cannot impersonate, host JWT rules, the security log."""
import base64
import hashlib
import hmac
import http.client
import json
import threading
import time
import uuid

import requests

from clustered import after_revocation
from harness import HIGH_RATE, Client, ParleyServer

STRONG = "correct horse battery"


def call_from(source, server, method, path, body=None, token=None):
    """An HTTP request from a chosen loopback address (127.0.0.x): (status, headers, json). The
    headers are looked up case-insensitively (HAProxy, in front in the cluster pass, sends their
    names in lower case)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.headers, json.loads(data) if data else None


def login_from(source, server, username, password):
    return call_from(source, server, "POST", "/v1/auth/login", {"username": username, "password": password})


def test_failed_sign_ins_slow_down_the_account_and_the_address_but_not_the_owner(make_server):
    s = make_server(*HIGH_RATE, "--auth.login_free_failures", "3", "--auth.login_address_free_failures", "6").start()
    alice = s.register(password=STRONG)
    assert login_from("127.0.0.1", s, alice.username, STRONG)[0] == 200  # alice's usual address
    # Someone guesses from elsewhere: after 3 failures each attempt waits, growing.
    for _ in range(3):
        assert login_from("127.0.0.2", s, alice.username, "wrong guess")[0] == 401
    status, headers, body = login_from("127.0.0.2", s, alice.username, STRONG)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) == 1 and 0 < body["error"]["retry_after_ms"] <= 1000
    # The throttle holds for the account from a new address too (the right password is not
    # even checked).
    assert login_from("127.0.0.3", s, alice.username, STRONG)[0] == 429
    # Once the wait is over, a failure makes the next wait longer (1 s, then 2 s, ...; the
    # doubling itself is unit-tested with a clock of its own).
    time.sleep(body["error"]["retry_after_ms"] / 1000 + 0.05)
    assert login_from("127.0.0.2", s, alice.username, "wrong again")[0] == 401
    status, headers, body = login_from("127.0.0.2", s, alice.username, "again")
    assert status == 429 and 0 < body["error"]["retry_after_ms"] <= 2000 and int(headers["Retry-After"]) <= 2
    # But not from where alice signed in before: guessing cannot lock her out.
    assert login_from("127.0.0.1", s, alice.username, STRONG)[0] == 200
    # One address guessing many accounts is slowed down by its own counter.
    for i in range(6):
        login_from("127.0.0.4", s, f"nobody{i}", "guess")
    assert login_from("127.0.0.4", s, alice.username, STRONG)[0] == 429
    log = s.read_log()
    assert "security.login_failed username=" + alice.username in log and "address=127.0.0.2" in log
    assert "wrong guess" not in log and STRONG not in log


def test_one_address_cannot_fill_the_password_hashing_queue(make_server):
    # Slow hashes (about a second each) so that the flood is still queued when it ends.
    s = ParleyServer(*HIGH_RATE, "--auth.max_pending_hashes_per_address", "2")
    s.args += ["--auth.argon2_opslimit", "4", "--auth.argon2_memlimit_kb", "131072", "--auth.hash_threads", "1"]
    s.start()
    try:
        victim = s.register(password=STRONG)  # registered with the slow hash: still fine
        results = []
        lock = threading.Lock()

        def guess(i):
            status = login_from("127.0.0.5", s, f"flood{i}", "guess")[0]
            with lock:
                results.append(status)

        flood = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
        for t in flood:
            t.start()
        time.sleep(0.2)
        status, _, body = login_from("127.0.0.1", s, victim.username, STRONG)
        for t in flood:
            t.join()
        assert status == 200 and body["token"]
        assert results.count(429) >= 10, results  # at most 2 hashes at once for the flooding address
    finally:
        s.cleanup()


def test_weak_passwords_are_refused_and_strength_can_be_checked(server):
    for weak in ("password", "password123", "12345678", "qwertyuiop", "iloveyou1"):
        r = requests.post(server.base + "/v1/auth/register", json={"username": "u" + uuid.uuid4().hex[:10], "password": weak})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", (weak, r.text)
        assert "too easy to guess" in r.json()["error"]["message"] or "at least" in r.json()["error"]["message"]
    # The user's own name does not make a password strong.
    name = "zebrafinch" + uuid.uuid4().hex[:4]
    r = requests.post(server.base + "/v1/auth/register", json={"username": name, "password": name + "1"})
    assert r.status_code == 400
    check = requests.post(server.base + "/v1/auth/password_check", json={"password": "password1"}).json()
    assert check["acceptable"] is False and check["entropy_bits"] < 20 and "problem" in check
    check = requests.post(server.base + "/v1/auth/password_check", json={"password": "violet staple rocket"}).json()
    assert check["acceptable"] is True and check["entropy_bits"] >= 20 and check["min_password_entropy_bits"] == 20
    config = requests.get(server.base + "/v1/auth/config").json()
    assert config["registration"] == "open" and config["min_password_bytes"] == 8


def test_password_change_signs_out_the_other_devices(server):
    user = server.register(password=STRONG)
    phone_token = server.login(user.username, STRONG).json()["token"]
    phone = Client(server, phone_token)
    laptop = user.connect()  # the token the change is made with
    r = user.api("POST", "/v1/account/password", json={"current_password": "not it", "new_password": "violet staple rocket"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = user.api("POST", "/v1/account/password", json={"current_password": STRONG, "new_password": "password1"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"
    reply = laptop.ok("account.change_password", current_password=STRONG, new_password="violet staple rocket")
    assert reply["changed"] is True and reply["revoked"] == 1
    assert phone.wait_close() == 4004
    assert after_revocation(lambda: server.api("GET", "/v1/me", token=phone_token)).json()["error"]["code"] == \
        "token_revoked"
    assert laptop.ok("ping")["type"] == "pong" and user.api("GET", "/v1/me").status_code == 200
    assert server.login(user.username, STRONG).status_code == 401
    assert server.login(user.username, "violet staple rocket").status_code == 200


def test_devices_are_listed_and_can_be_signed_out_one_by_one(server):
    user = server.register(password=STRONG)
    r = requests.post(server.base + "/v1/auth/login",
                      json={"username": user.username, "password": STRONG, "device": "Pixel 9"})
    phone_token, phone_id = r.json()["token"], r.json()["token_id"]
    phone = Client(server, phone_token)
    me = user.connect()
    sessions = me.ok("account.sessions")["sessions"]
    by_id = {x["token_id"]: x for x in sessions}
    assert len(sessions) == 2 and by_id[phone_id]["device"] == "Pixel 9"
    assert by_id[phone_id]["address"] == "127.0.0.1" and by_id[phone_id]["online_sessions"] == 1
    assert by_id[phone_id]["current"] is False and [x["current"] for x in sessions].count(True) == 1
    assert by_id[phone_id]["expires_at"] > time.time() and by_id[phone_id]["created_at"] > 0
    # Revoking someone else's token, or an unknown one, is not found.
    other = server.register()
    assert other.connect().request("account.revoke_session", token_id=phone_id)["code"] == "not_found"
    r = user.api("DELETE", f"/v1/account/sessions/{phone_id}")
    assert r.status_code == 200 and r.json() == {"token_id": phone_id, "revoked": True}
    assert phone.wait_close() == 4004
    assert [x["token_id"] for x in user.api("GET", "/v1/account/sessions").json()["sessions"]] != [phone_id]
    assert len(me.ok("account.sessions")["sessions"]) == 1


def test_log_out_everywhere(server):
    user = server.register(password=STRONG)
    others = [server.login(user.username, STRONG).json()["token"] for _ in range(2)]
    clients = [Client(server, t) for t in others]
    here = user.connect()
    assert here.ok("account.logout_all")["revoked"] == 2
    assert [c.wait_close() for c in clients] == [4004, 4004]
    assert here.ok("ping")["type"] == "pong"
    # Without keep_current the caller's own token goes too.
    r = user.api("POST", "/v1/account/logout_all", json={"keep_current": False})
    assert r.status_code == 200 and r.json()["kept_current"] is False
    assert here.wait_close() == 4004
    assert after_revocation(lambda: user.api("GET", "/v1/me")).json()["error"]["code"] == "token_revoked"
    assert server.login(user.username, STRONG).status_code == 200  # signing in again works


def _hs256(secret, claims):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def test_host_tokens_need_an_audience_a_short_life_and_can_be_revoked(make_server, tmp_path):
    secret = "host-app-shared-secret-0123456789"
    refused = ParleyServer("--auth.jwt_secret", secret)
    try:
        refused.start()
        raise AssertionError("started without auth.jwt_audience")
    except RuntimeError as e:
        assert "jwt_audience" in str(e)
    finally:
        refused.cleanup()
    s = make_server("--auth.jwt_secret", secret, "--auth.jwt_audience", "chat", "--auth.jwt_max_lifetime_s", "3600").start()
    now = int(time.time())
    century = _hs256(secret, {"aud": "chat", "sub": "h1", "exp": now + 100 * 365 * 86400})
    assert s.api("GET", "/v1/me", token=century).json()["error"]["code"] == "unauthorized"
    stretched = _hs256(secret, {"aud": "chat", "sub": "h1", "iat": now - 7000, "exp": now + 600})
    assert s.api("GET", "/v1/me", token=stretched).status_code == 401
    token = _hs256(secret, {"aud": "chat", "sub": "h1", "iat": now, "exp": now + 600, "preferred_username": "Hosted"})
    c = Client(s, token)
    r = s.api("POST", "/v1/auth/logout", token=token)
    assert r.status_code == 200 and r.json() == {"revoked": True}
    assert c.wait_close() == 4004
    assert after_revocation(lambda: s.api("GET", "/v1/me", token=token)).json()["error"]["code"] == "token_revoked"
    # Log out everywhere covers host tokens issued before it.
    first = _hs256(secret, {"aud": "chat", "sub": "h2", "iat": now - 5, "exp": now + 600})
    second = _hs256(secret, {"aud": "chat", "sub": "h2", "iat": now - 5, "exp": now + 601})
    s.api("POST", "/v1/account/logout_all", token=first, json={"keep_current": True})
    assert after_revocation(lambda: s.api("GET", "/v1/me", token=second)).json()["error"]["code"] == "token_revoked"
    assert s.api("GET", "/v1/me", token=first).status_code == 200


def test_invite_only_registration(make_server):
    admin = "admin-token-for-invites-0123456789abcdef"
    s = make_server("--auth.registration", "invite", "--auth.admin_token", admin).start()

    def register(username, invite=None):
        body = {"username": username, "password": STRONG}
        if invite:
            body["invite"] = invite
        return requests.post(s.base + "/v1/auth/register", json=body)

    r = register("nocode")
    assert r.status_code == 403 and "invite" in r.json()["error"]["message"]
    r = s.api("POST", "/v1/admin/invites", token=admin, json={"uses": 1, "note": "for dana"})
    assert r.status_code == 201
    code, invite = r.json()["code"], r.json()["invite"]
    assert invite["uses_left"] == 1 and invite["note"] == "for dana" and invite["expires_at"] > time.time()
    assert register("wrongcode", "x" * 22).status_code == 403
    assert register("dana", code).status_code == 201
    r = register("eve", code)  # used up
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A refused sign-up (the name is taken) does not spend the invite.
    code2 = s.api("POST", "/v1/admin/invites", token=admin, json={"uses": 1}).json()["code"]
    assert register("dana", code2).status_code == 409
    assert register("frank", code2).status_code == 201
    listed = s.api("GET", "/v1/admin/invites", token=admin).json()["invites"]
    assert listed == []  # both used up
    third = s.api("POST", "/v1/admin/invites", token=admin, json={"uses": 5, "expires_in_s": 0}).json()
    assert third["invite"]["expires_at"] == 0
    assert s.api("DELETE", f"/v1/admin/invites/{third['invite']['id']}", token=admin).status_code == 200
    assert register("gina", third["code"]).status_code == 403
    assert "security.admin_call method=POST path=/v1/admin/invites" in s.read_log()
    assert third["code"] not in s.read_log()


def test_sign_ups_are_throttled_per_address(make_server):
    s = ParleyServer(*HIGH_RATE)
    s.args += ["--auth.signups_per_address_per_hour", "3"]  # after FAST_HASH's: the last one wins
    s.start()
    try:
        for i in range(3):
            assert call_from("127.0.0.6", s, "POST", "/v1/auth/register",
                             {"username": f"s{i}{uuid.uuid4().hex[:6]}", "password": STRONG})[0] == 201
        status, headers, body = call_from("127.0.0.6", s, "POST", "/v1/auth/register",
                                          {"username": "s4" + uuid.uuid4().hex[:6], "password": STRONG})
        assert status == 429 and int(headers["Retry-After"]) > 60
        assert call_from("127.0.0.7", s, "POST", "/v1/auth/register",
                         {"username": "s5" + uuid.uuid4().hex[:6], "password": STRONG})[0] == 201
    finally:
        s.cleanup()


def test_display_names_cannot_hide_characters_or_imitate_usernames(server):
    victim = server.register(username="vic" + uuid.uuid4().hex[:8])

    def register(display_name):
        return requests.post(server.base + "/v1/auth/register",
                             json={"username": "n" + uuid.uuid4().hex[:12], "password": STRONG, "display_name": display_name})

    for bad in ("Mallory\u202egnp.exe", "a\u200bb", "\u2066x\u2069", "bell\u0007", "x\ufeff", "\u3164",
                "e" + "\u0301" * 6):
        r = register(bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", (bad, r.text)
    for imitation in (victim.username, victim.username.upper(), victim.username.replace("i", "I"),
                      victim.username.replace("c", "\u0441")):  # a Cyrillic es
        r = register(imitation)
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", (imitation, r.text)
        assert r.json()["error"]["field"] == "display_name"
    # Normalized: NFC, whitespace collapsed; emoji sequences with joiners are fine.
    r = register("  Ame\u0301lie \t  Poulain 👩‍💻 ")
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "Am\u00e9lie Poulain 👩‍💻"
    # One's own username is a fine display name.
    name = "own" + uuid.uuid4().hex[:8]
    r = requests.post(server.base + "/v1/auth/register", json={"username": name, "password": STRONG, "display_name": name.upper()})
    assert r.status_code == 201
