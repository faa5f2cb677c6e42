"""Push delivery (issue 15; docs/protocol.md "Push notifications"): a device without a live
session is notified of a message, mention or reaction through its push subscription. A local
push service (an HTTP server in this process) receives the requests; Web Push requests are
checked with code Parley did not write: tests/webpush/check.mjs verifies the VAPID JWT with
jose and decrypts the body with http_ece. The rules of "When a device is notified" are each
checked: offline gets one, an active user who got the event gets none, an untouched open tab
does not swallow it, a dropped connection does not either, muted gets none, several messages
collapse, 503 is retried (Retry-After), 410 deletes the subscription, kill -9 loses nothing."""
import base64
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import HIGH_RATE
import postgres

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CHECK = os.path.join(ROOT, "tests", "webpush", "check.mjs")
AUTO_AWAY_MS = 3000
GRACE_MS = 700
PUSH_FLAGS = ("--push.allow_http_endpoints", "true", "--push.allow_private_networks", "true",
              "--push.grace_ms", str(GRACE_MS), "--push.retry_min_ms", "300", "--push.poll_ms", "100",
              "--presence.auto_away_ms", str(AUTO_AWAY_MS))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def node_check(request):
    out = subprocess.run(["node", CHECK], input=json.dumps(request), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def browser_keys():
    """A browser's push subscription keys: a P-256 key pair (node's crypto) and an auth secret."""
    script = ("const c=require('crypto').createECDH('prime256v1');c.generateKeys();"
              "console.log(JSON.stringify({pub:c.getPublicKey('base64url'),priv:c.getPrivateKey('base64url')}))")
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    keys = json.loads(out.stdout)
    return keys["pub"], keys["priv"], b64url(os.urandom(16))


class PushService:
    """Records every POST; answers each path with the statuses queued for it (then 201)."""

    def __init__(self):
        self.requests = []
        self.answers = {}
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with service.lock:
                    service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                             "at": time.time()})
                    queued = service.answers.get(self.path) or []
                    status, headers = queued.pop(0) if queued else (201, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path, *answers):
        with self.lock:
            self.answers[path] = list(answers)

    def received(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def wait(self, path, count=1, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.received(path))} of {count} requests after {timeout} s")


@pytest.fixture(scope="module")
def service():
    s = PushService()
    yield s
    s.httpd.shutdown()


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(*HIGH_RATE, *PUSH_FLAGS)


def hook(user, service, name):
    """Subscribes `user` (a session that then closes: offline) to a webhook at /name."""
    c = user.connect()
    sub = c.ok("push.subscribe", kind="webhook", endpoint=service.url("/" + name))["subscription"]
    c.close()
    return sub


def pair(srv):
    alice, bob = srv.register(), srv.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="first")["conversation_id"]
    return alice, bob, a, conversation


def test_offline_user_gets_a_webhook_push(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "offline")
    ack = a.send_text(conversation_id=conversation, text="are you there? ✓")
    # How fast is measured by bench/push.py (docs/benchmarks.md), not asserted here.
    got = service.wait("/offline")
    assert got[0]["headers"]["Content-Type"] == "application/json"
    note = json.loads(got[0]["body"])
    assert note["type"] == "message" and note["conversation_id"] == conversation and note["seq"] == ack["seq"]
    assert note["text"] == "are you there? ✓" and note["sender"]["id"] == alice.id and note["sender"]["name"]
    assert note["conversation"] == {"kind": "direct"} and note["count"] == 1 and note["mention"] is False
    assert srv.metric("parley_push_sent_total") >= 1


def test_web_push_is_encrypted_and_signed_as_the_rfcs_say(srv, service):
    """RFC 8030/8291/8292 checked by jose and http_ece (tests/webpush/check.mjs)."""
    alice, bob, a, conversation = pair(srv)
    public, private, auth = browser_keys()
    c = bob.connect()
    vapid_key = c.hello_reply["push"]["vapid_public_key"]
    c.ok("push.subscribe", kind="webpush", endpoint=service.url("/wp/bob"), keys={"p256dh": public, "auth": auth})
    c.close()
    text = "héllo 👋 " + "x" * 1500  # cut to 1000 bytes in the notification
    ack = a.send_text(conversation_id=conversation, text=text)
    request = service.wait("/wp/bob", timeout=10)[0]
    headers = request["headers"]
    assert headers["Content-Encoding"] == "aes128gcm" and headers["TTL"] == "86400"
    assert headers["Topic"] == f"c{conversation}" and headers["Urgency"] == "high"
    checked = node_check({"op": "vapid", "authorization": headers["Authorization"]})
    assert headers["Authorization"].endswith("k=" + vapid_key)
    assert checked["claims"]["aud"] == f"http://127.0.0.1:{service.port}"
    assert 0 < checked["claims"]["exp"] - time.time() <= 24 * 3600
    assert checked["claims"]["sub"].startswith("mailto:")
    assert len(request["body"]) <= 4096
    plain = node_check({"op": "decrypt", "ua_private": private, "auth_secret": auth, "body": b64url(request["body"])})
    note = json.loads(base64.urlsafe_b64decode(plain["plaintext"] + "=="))
    assert note["seq"] == ack["seq"] and note["sender"]["id"] == alice.id
    assert text.encode().startswith(note["text"].encode()) and len(note["text"].encode()) <= 1000


def wait_status(watcher, user_id, status, timeout=10):
    """Until `watcher` sees the user's status: in a cluster a status reaches the other nodes with
    their next presence window (presence.batch_ms), and the node that decides on a push may be
    another one."""
    deadline = time.time() + timeout
    while watcher.ok("presence.get", user_ids=[user_id])["users"][0]["status"] != status:
        assert time.time() < deadline, f"the user never showed {status}"
        time.sleep(0.05)


def test_active_user_who_got_the_event_gets_no_push_and_a_dropped_one_does(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "active")
    b = bob.connect()
    b.ok("presence.set", status="online")  # in use now
    wait_status(a, bob.id, "online")
    ack = a.send_text(conversation_id=conversation, text="seen live")
    b.wait_events(lambda e: e["seq"] == ack["seq"])
    b.ok("receipt", conversation_id=conversation, delivered_seq=ack["seq"])
    time.sleep(GRACE_MS / 1000 + 1.0)
    assert service.received("/active") == []
    # The second trap: the connection drops right after the send, before the event arrived.
    b.ok("presence.set", status="online")
    ack = a.send_text(conversation_id=conversation, text="lost on the way")
    b.ws.sock.close()
    note = json.loads(service.wait("/active", timeout=GRACE_MS / 1000 + 10)[0]["body"])
    assert note["seq"] == ack["seq"]


def test_an_untouched_open_tab_does_not_swallow_the_push(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "idle-tab")
    tab = bob.connect()  # open, receiving, and acknowledging delivery by itself; nobody uses it
    wait_status(a, bob.id, "online")
    time.sleep(AUTO_AWAY_MS / 1000)
    for _ in range(2):
        tab.ok("ping")  # heartbeats keep it live; they are not use
    wait_status(a, bob.id, "away")  # by itself: nobody used the tab for presence.auto_away_ms
    ack = a.send_text(conversation_id=conversation, text="for your phone")
    tab.wait_events(lambda e: e["seq"] == ack["seq"])
    tab.ok("receipt", conversation_id=conversation, delivered_seq=ack["seq"])
    note = json.loads(service.wait("/idle-tab", timeout=10)[0]["body"])
    assert note["seq"] == ack["seq"]


def test_muted_conversation_and_read_events_get_none(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "muted")
    b = bob.connect()
    b.ok("conversation.settings", conversation_id=conversation, muted_until=-1)
    b.close()
    a.send_text(conversation_id=conversation, text="muted")
    time.sleep(1.0)
    assert service.received("/muted") == []
    b = bob.connect()
    b.ok("conversation.settings", conversation_id=conversation, muted_until=0)
    b.close()
    ack = a.send_text(conversation_id=conversation, text="unmuted")
    note = json.loads(service.wait("/muted", timeout=10)[0]["body"])
    assert note["seq"] == ack["seq"]


def test_failed_delivery_is_retried_and_messages_collapse_into_it(srv, service):
    alice, bob, a, conversation = pair(srv)
    hook(bob, service, "flaky")
    service.answer("/flaky", (503, {"Retry-After": "2"}))
    first = a.send_text(conversation_id=conversation, text="one")
    service.wait("/flaky", timeout=10)
    failed_at = time.time()
    a.send_text(conversation_id=conversation, text="two")
    last = a.send_text(conversation_id=conversation, text="three")
    got = service.wait("/flaky", count=2, timeout=8)
    assert got[1]["at"] - failed_at >= 1.8  # Retry-After: 2 is honoured
    assert json.loads(got[0]["body"])["seq"] == first["seq"]
    note = json.loads(got[1]["body"])
    assert (note["seq"], note["count"], note["text"]) == (last["seq"], 3, "three")
    time.sleep(0.5)
    assert len(service.received("/flaky")) == 2
    assert srv.metric("parley_push_retried_total") >= 1


def test_gone_subscription_is_deleted(srv, service):
    alice, bob, a, conversation = pair(srv)
    sub = hook(bob, service, "gone")
    service.answer("/gone", (410, {}))
    a.send_text(conversation_id=conversation, text="anyone?")
    service.wait("/gone", timeout=10)
    c = bob.connect()
    deadline = time.time() + 5
    while any(s["id"] == sub["id"] for s in c.ok("push.subscriptions")["subscriptions"]):
        assert time.time() < deadline, "the subscription was not deleted after 410"
        time.sleep(0.05)
    a.send_text(conversation_id=conversation, text="still?")
    time.sleep(0.8)
    assert len(service.received("/gone")) == 1


def test_mentions_in_channels_and_reactions_to_your_message(srv, service):
    owner, bob, carol = srv.register(), srv.register(), srv.register()
    o = owner.connect()
    channel = o.ok("channel.create", title="news " + os.urandom(3).hex())["conversation"]["id"]
    for user in (bob, carol):
        user.connect().ok("channel.join", conversation_id=channel)
    hook(bob, service, "chan-bob")
    hook(carol, service, "chan-carol")
    o.send_text(conversation_id=channel, text="no one in particular")
    mention = o.send_text(conversation_id=channel, text=f"@{carol.username} look")
    note = json.loads(service.wait("/chan-carol", timeout=10)[0]["body"])
    assert (note["seq"], note["mention"], note["conversation"]["kind"]) == (mention["seq"], True, "channel")
    time.sleep(0.8)
    assert service.received("/chan-bob") == []
    # A reaction to bob's message notifies bob (and nobody else).
    b = bob.connect()
    own = b.send_text(conversation_id=channel, text="my take")
    b.close()
    o.ok("reaction.add", conversation_id=channel, seq=own["seq"], emoji="👍")
    note = json.loads(service.wait("/chan-bob", timeout=10)[0]["body"])
    assert (note["type"], note["emoji"], note["text"]) == ("reaction", "👍", "my take")


@pytest.mark.single_node("kill -9 of one process and its restart on the same data dir")
def test_pending_push_survives_kill9(make_server, service):
    s = make_server(*HIGH_RATE, *PUSH_FLAGS).start()
    alice, bob, a, conversation = pair(s)
    hook(bob, service, "crash")
    service.answer("/crash", (503, {"Retry-After": "3"}))
    ack = a.send_text(conversation_id=conversation, text="before the crash")
    service.wait("/crash", timeout=10)  # refused once: now pending, stored
    s.kill9()
    s.start(*PUSH_FLAGS)
    got = service.wait("/crash", count=2, timeout=15)
    assert json.loads(got[1]["body"])["seq"] == ack["seq"]


def test_private_addresses_are_refused_unless_allowed(make_server, service):
    """push.allow_private_networks off (the default): a URL a user registered cannot make
    parleyd call into the operator's network; the subscription is deleted, nothing is sent."""
    s = make_server(*HIGH_RATE, "--push.allow_http_endpoints", "true", "--push.poll_ms", "100").start()
    alice, bob, a, conversation = pair(s)
    sub = hook(bob, service, "private")
    a.send_text(conversation_id=conversation, text="to the intranet?")
    c = bob.connect()
    deadline = time.time() + 5
    while any(x["id"] == sub["id"] for x in c.ok("push.subscriptions")["subscriptions"]):
        assert time.time() < deadline, "the subscription to a private address was kept"
        time.sleep(0.05)
    assert service.received("/private") == []
    assert s.metric("parley_push_subscriptions_gone_total") == 1


def test_a_push_service_that_hangs_holds_up_nobody_else(srv, service):
    """More requests to a host that accepts connections and never answers than
    push.max_in_flight_per_host (8): another service's notification still goes at once, long
    before the hanging ones time out (push.timeout_ms, 10 s)."""
    import socket
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)  # accepted by the kernel, never read nor answered
    port = hang.getsockname()[1]
    try:
        alice = srv.register()
        a = alice.connect()
        for _ in range(10):
            user = srv.register()
            c = user.connect()
            c.ok("push.subscribe", kind="webhook", endpoint=f"http://127.0.0.1:{port}/hang")
            c.close()
            a.send_text(to_user_id=user.id, text="into the void")
        carol = srv.register()
        hook(carol, service, "beside-the-hang")
        started = time.time()
        a.send_text(to_user_id=carol.id, text="to a service that answers")
        service.wait("/beside-the-hang", timeout=8)
        assert time.time() - started < 8  # not after the hanging requests' 10 s timeout
    finally:
        hang.close()


def test_dispatcher_is_woken_by_commits_that_queued_a_push_and_only_by_them(make_server, service):
    # Polling every minute: a push that arrives sooner came from the wake after its commit.
    flags = [f for f in PUSH_FLAGS]
    flags[flags.index("--push.poll_ms") + 1] = "60000"
    s = make_server(*HIGH_RATE, *flags).start()
    alice, bob, a, conversation = pair(s)
    claims = s.metric("parley_push_claims_total")
    for i in range(40):  # bob has no push subscription: nothing can be queued
        a.send_text(conversation_id=conversation, text=f"no push for this {i}")
    if postgres.engine() == "sqlite":
        # The SQLite engine knows nothing was queued; PostgreSQL pipelines the insert and wakes
        # the dispatcher after every commit that may have queued one (docs/operations.md).
        # At most one claim from the start-up poll racing this test; not one per message.
        assert s.metric("parley_push_claims_total") - claims <= 1
    hook(bob, service, "woken")
    ack = a.send_text(conversation_id=conversation, text="now there is one")
    got = service.wait("/woken", timeout=20)  # well before the next poll
    assert json.loads(got[0]["body"])["seq"] == ack["seq"]
    assert s.metric("parley_push_claims_total") > claims
