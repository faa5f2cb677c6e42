"""Delivery to FCM (HTTP v1) and APNs (HTTP/2, token auth) (issue 15; docs/protocol.md "Push
notifications"). The real services cannot be reached from here, so tests/webpush/standins.mjs
stands in for both: it verifies the FCM OAuth assertion (RS256) and the APNs provider token
(ES256) with jose against the public halves of keys this test makes with openssl, checks each
request's shape as the services document it, and answers as they would (404 UNREGISTERED,
410 Unregistered, 503 with Retry-After)."""
import base64
import json
import os
import subprocess
import time

import pytest
import requests

from harness import HIGH_RATE
from test_push_delivery import browser_keys, node_check

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
STANDINS = os.path.join(ROOT, "tests", "webpush", "standins.mjs")
DEVICE = "a1b2" * 16  # an APNs device token (hex)


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("push-keys")
    rsa = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048").decode()
    ec = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").decode()  # a .p8 key
    (d / "fcm.pub").write_bytes(subprocess.run(["openssl", "pkey", "-pubout"], input=rsa.encode(),
                                               capture_output=True, check=True).stdout)
    (d / "apns.pub").write_bytes(subprocess.run(["openssl", "pkey", "-pubout"], input=ec.encode(),
                                                capture_output=True, check=True).stdout)
    (d / "AuthKey_KEYID12345.p8").write_text(ec)
    return d, rsa


@pytest.fixture(scope="module")
def standins(keys):
    d, _ = keys
    proc = subprocess.Popen(["node", STANDINS, str(d / "fcm.pub"), str(d / "apns.pub")], stdout=subprocess.PIPE,
                            text=True)
    ports = json.loads(proc.stdout.readline())
    yield ports
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def srv(make_module_server, keys, standins):
    d, rsa = keys
    credentials = d / "service-account.json"
    credentials.write_text(json.dumps({
        "type": "service_account", "project_id": "parley-test", "private_key_id": "k1", "private_key": rsa,
        "client_email": "parley-test@parley-test.iam.gserviceaccount.com",
        "token_uri": f"http://127.0.0.1:{standins['fcm']}/token"}))
    return make_module_server(*HIGH_RATE, "--push.poll_ms", "100", "--push.retry_min_ms", "200",
                              "--push.fcm.credentials_file", str(credentials),
                              "--push.fcm.base_url", f"http://127.0.0.1:{standins['fcm']}",
                              "--push.apns.key_file", str(d / "AuthKey_KEYID12345.p8"),
                              "--push.apns.key_id", "KEYID12345", "--push.apns.team_id", "TEAMID1234",
                              "--push.apns.base_url", f"http://127.0.0.1:{standins['apns']}",
                              "--push.apns.sandbox_url", f"http://localhost:{standins['apns']}")


def seen(standins, service, token, count=1, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [r for r in requests.get(f"http://127.0.0.1:{standins['fcm']}/requests", timeout=5).json()
               if r["service"] == service and r.get("token") == token]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{service} {token}: fewer than {count} requests after {timeout} s")


def offline_pair(srv, **subscription):
    alice, bob = srv.register(), srv.register()
    b = bob.connect()
    sub = b.ok("push.subscribe", **subscription)["subscription"]
    b.close()
    a = alice.connect()
    return alice, bob, a, sub


def gone_from(bob, sub_id, timeout=5):
    c = bob.connect()
    deadline = time.time() + timeout
    while any(s["id"] == sub_id for s in c.ok("push.subscriptions")["subscriptions"]):
        assert time.time() < deadline, "the subscription was kept"
        time.sleep(0.05)


def test_fcm_gets_a_data_message_with_a_valid_oauth_token(srv, standins):
    alice, bob, a, _ = offline_pair(srv, kind="fcm", token="fcm-device-1")
    first = a.send_text(to_user_id=bob.id, text="hi from alice")
    got = seen(standins, "fcm", "fcm-device-1")
    assert got[0]["problems"] == []
    assert got[0]["collapse_key"] == f"c{first['conversation_id']}"
    assert got[0]["payload"]["seq"] == first["seq"] and got[0]["payload"]["text"] == "hi from alice"
    # One push per message (each waited for, so none collapse), more pushes than nodes.
    nodes = len(getattr(srv, "nodes", [srv]))
    pushes = nodes + 2
    for n in range(2, pushes + 1):
        a.send_text(conversation_id=first["conversation_id"], text=f"again {n}")
        got = seen(standins, "fcm", "fcm-device-1", count=n)
        assert got[n - 1]["problems"] == [] and got[n - 1]["payload"]["text"] == f"again {n}"
    tokens = [r for r in requests.get(f"http://127.0.0.1:{standins['fcm']}/requests").json() if r["service"] == "fcm-token"]
    assert tokens and all(t["problems"] == [] for t in tokens)
    # The access token is kept for its hour, not fetched per message: at most once per node
    # (in a cluster any node's dispatcher may claim a job, and each keeps its own token).
    assert len(tokens) <= nodes


def test_fcm_unregistered_deletes_and_unavailable_retries(srv, standins):
    alice, bob, a, sub = offline_pair(srv, kind="fcm", token="gone-fcm-1")
    a.send_text(to_user_id=bob.id, text="uninstalled?")
    seen(standins, "fcm", "gone-fcm-1")
    gone_from(bob, sub["id"])
    alice2, carol, c, _ = offline_pair(srv, kind="fcm", token="busy-fcm-1")
    c.send_text(to_user_id=carol.id, text="busy?")
    got = seen(standins, "fcm", "busy-fcm-1", count=2)
    assert got[1]["payload"]["text"] == "busy?"


def test_apns_gets_an_alert_over_http2_with_a_valid_provider_token(srv, standins):
    alice, bob, a, _ = offline_pair(srv, kind="apns", token=DEVICE, topic="net.example.chat")
    ack = a.send_text(to_user_id=bob.id, text="hello iPhone")
    got = seen(standins, "apns", DEVICE)
    r = got[0]
    assert r["problems"] == []
    assert r["authority"].startswith("127.0.0.1:")  # production
    assert r["topic"] == "net.example.chat" and r["collapse_id"] == f"c{ack['conversation_id']}"
    assert r["alert"]["body"] == "hello iPhone" and r["alert"]["title"]
    assert r["payload"]["seq"] == ack["seq"]


def test_apns_sandbox_devices_go_to_the_sandbox_and_unregistered_ones_are_deleted(srv, standins):
    sandbox_device = "b2c3" * 16
    alice, bob, a, _ = offline_pair(srv, kind="apns", token=sandbox_device, topic="net.example.chat",
                                    environment="sandbox")
    a.send_text(to_user_id=bob.id, text="dev build")
    assert seen(standins, "apns", sandbox_device)[0]["authority"].startswith("localhost:")
    dead = "dead" + "0" * 60
    alice2, carol, c, sub = offline_pair(srv, kind="apns", token=dead, topic="net.example.chat")
    c.send_text(to_user_id=carol.id, text="anyone?")
    seen(standins, "apns", dead)
    gone_from(carol, sub["id"])


@pytest.fixture(scope="module")
def sealed_srv(make_module_server, keys, standins, srv):
    """push.content = encrypted, with the same stand-ins and credentials (srv wrote the FCM
    service account file)."""
    d, _ = keys
    return make_module_server(*HIGH_RATE, "--push.poll_ms", "100", "--push.content", "encrypted",
                              "--push.fcm.credentials_file", str(d / "service-account.json"),
                              "--push.fcm.base_url", f"http://127.0.0.1:{standins['fcm']}",
                              "--push.apns.key_file", str(d / "AuthKey_KEYID12345.p8"),
                              "--push.apns.key_id", "KEYID12345", "--push.apns.team_id", "TEAMID1234",
                              "--push.apns.base_url", f"http://127.0.0.1:{standins['apns']}",
                              "--push.apns.sandbox_url", f"http://localhost:{standins['apns']}")


def open_sealed(sealed, private, auth):
    plain = node_check({"op": "decrypt", "ua_private": private, "auth_secret": auth, "body": sealed})
    return json.loads(base64.urlsafe_b64decode(plain["plaintext"] + "=="))


def test_encrypted_content_reaches_fcm_and_apns_only_sealed(sealed_srv, standins):
    public, private, auth = browser_keys()
    keys = {"p256dh": public, "auth": auth}
    for kind, token, extra in (("fcm", "sealed-fcm-1", {}), ("apns", "5ea1" * 16, {"topic": "net.example.chat"})):
        alice, bob, a, _ = offline_pair(sealed_srv, kind=kind, token=token, keys=keys, **extra)
        ack = a.send_text(to_user_id=bob.id, text=f"for {kind} eyes only")
        r = seen(standins, kind, token)[0]
        assert r["problems"] == []
        # What the provider can read: that something arrived, no sender, no text.
        assert r["payload"]["seq"] == ack["seq"] and "text" not in r["payload"] and "sender" not in r["payload"]
        if kind == "apns":
            assert "eyes" not in r["alert"]["body"] and "eyes" not in r["alert"]["title"]
        note = open_sealed(r["sealed"], private, auth)
        assert (note["seq"], note["text"], note["sender"]["id"]) == (ack["seq"], f"for {kind} eyes only", alice.id)
    # A device that registered no key gets what `none` carries, and nothing sealed.
    alice, bob, a, _ = offline_pair(sealed_srv, kind="fcm", token="unsealed-fcm-1")
    ack = a.send_text(to_user_id=bob.id, text="not for the provider")
    r = seen(standins, "fcm", "unsealed-fcm-1")[0]
    assert r["problems"] == [] and r.get("sealed") is None and "text" not in r["payload"]
