"""Bad input: every case gets a stable error code or a documented close code; the server keeps
serving everyone else and nothing stored is harmed."""
import json
import socket
import time

import pytest
import requests

from harness import HIGH_RATE, Client, RawWs


@pytest.fixture
def witness(server):
    """A conversation with known content, checked intact after each bad-input test, and a
    client of another user that must keep working."""
    alice, bob = server.register(), server.register()
    a = alice.connect()
    conversation = a.send_text(to_user_id=bob.id, text="keep me")["conversation_id"]
    yield server
    assert a.ok("ping")["type"] == "pong"
    history = a.ok("history", conversation_id=conversation)["events"]
    assert [(e["seq"], e["text"]) for e in history] == [(1, "keep me")]


@pytest.mark.parametrize("frame,code", [
    ("not json", "bad_request"),
    ("[1,2,3]", "bad_request"),
    ('{"type":"ping"', "bad_request"),
    ('{"id":"n","type":' + "[" * 40 + "]" * 40 + "}", "bad_request"),
    ('{"id":"t"}', "missing_field"),
    ('{"id":"t","type":7}', "invalid_field"),
    ('{"id":"t","type":"launch.missiles"}', "unknown_type"),
    ('{"id":"t","type":"send","text":"x","client_msg_id":"a"}', "missing_field"),
    ('{"id":"t","type":"send","conversation_id":"abc","text":"x","client_msg_id":"a"}', "invalid_field"),
    ('{"id":"t","type":"send","conversation_id":1,"text":5,"client_msg_id":"a"}', "invalid_field"),
    ('{"id":"t","type":"send","conversation_id":1,"text":"","client_msg_id":"a"}', "invalid_field"),
    ('{"id":"t","type":"send","conversation_id":-4,"text":"x","client_msg_id":"a"}', "invalid_field"),
    ('{"id":"t","type":"send","conversation_id":1,"text":"x","client_msg_id":"' + "c" * 65 + '"}', "too_large"),
    ('{"id":"t","type":"history","conversation_id":1,"limit":0}', "invalid_field"),
    ('{"id":"t","type":"sync"}', "missing_field"),
    ('{"id":"t","type":"members.add","conversation_id":1,"user_ids":"1,2"}', "invalid_field"),
    ('{"id":{"nested":1},"type":"ping"}', "invalid_field"),
    # Integers beyond 64 bits are valid JSON: out of range, and the error still names the request.
    ('{"id":"t","type":"history","conversation_id":1,"limit":1180591620717411303424}', "invalid_field"),
    ('{"id":"t","type":"history","conversation_id":18446744073709551616}', "invalid_field"),
    ('{"id":"t","type":"history","conversation_id":1,"after_seq":-99999999999999999999}', "invalid_field"),
    ('{"id":18446744073709551616,"type":"ping"}', "invalid_field"),
    # Past 2^53 - 1 (the largest id): refused at the parser, so no arithmetic can overflow.
    ('{"id":"t","type":"history","conversation_id":1,"after_seq":9223372036854775807}', "invalid_field"),
    # Accounts are made over REST: over an authenticated WebSocket these are unknown commands.
    ('{"id":"t","type":"auth.register"}', "unknown_type"),
    ('{"id":"t","type":"auth.login","username":"x","password":"y"}', "unknown_type"),
])
def test_malformed_frames_get_error_codes(witness, frame, code):
    c = witness.register().connect()
    c.ws.send(frame)
    reply = c.recv_frame()
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert isinstance(reply["message"], str) and reply["message"]
    if '"id":"t"' in frame:
        assert reply["id"] == "t"  # the error names the request when the frame is JSON
    assert c.ok("ping")["type"] == "pong"  # the session survives


def test_oversize_message_text(witness):
    user, peer = witness.register(), witness.register()
    c = user.connect()
    reply = c.request("send", to_user_id=peer.id, client_msg_id="big", text="x" * 16385)
    assert reply["code"] == "too_large"
    assert c.send_text(to_user_id=peer.id, text="x" * 16384)["seq"] == 1  # exactly the limit is fine


def test_frame_over_size_limit_closes_1009(witness):
    user = witness.register()
    raw = RawWs(witness, user.token)
    raw.send_text('{"type":"ping","pad":"' + "x" * 140000 + '"}')
    assert raw.close_code() == 1009
    # Declared length alone (no payload sent) is enough to refuse it.
    raw = RawWs(witness, user.token)
    raw.send_raw(RawWs.frame(0x1, b"", length_override=10_000_000)[:14])
    assert raw.close_code() == 1009


def test_invalid_utf8_closes_1007(witness):
    raw = RawWs(witness, witness.register().token)
    raw.send_text(b'{"type":"send","conversation_id":1,"client_msg_id":"u","text":"\xff\xfe bad"}')
    assert raw.close_code() == 1007


def test_protocol_violations_close_1002_or_1003(witness):
    token = witness.register().token
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x1, b'{"type":"ping"}', mask=False))  # clients must mask
    assert raw.close_code() == 1002
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x2, b"\x00\x01"))  # binary
    assert raw.close_code() == 1003
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x0, b"orphan"))  # continuation without a message
    assert raw.close_code() == 1002
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x1, b"{}", rsv=0x40))  # compression bit, never negotiated
    assert raw.close_code() == 1002
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x9, b"p" * 126))  # control frame over 125 bytes
    assert raw.close_code() == 1002
    raw = RawWs(witness, token)
    raw.send_raw(RawWs.frame(0x3, b""))  # reserved opcode
    assert raw.close_code() == 1002


def test_fragmented_messages_ping_and_close_handshake(witness):
    raw = RawWs(witness, witness.register().token)
    message = json.dumps({"type": "ping", "id": "frag"}).encode()
    raw.send_raw(RawWs.frame(0x1, message[:5], fin=False))
    raw.send_raw(RawWs.frame(0x9, b"hb"))  # a ping between fragments is allowed
    raw.send_raw(RawWs.frame(0x0, message[5:9], fin=False))
    raw.send_raw(RawWs.frame(0x0, message[9:], fin=True))
    opcode, payload = raw.recv_frame()
    assert (opcode, payload) == (0xA, b"hb")
    reply = raw.recv_json()
    assert reply["type"] == "pong" and reply["id"] == "frag"
    raw.send_raw(RawWs.frame(0x8, (1000).to_bytes(2, "big") + b"bye"))
    assert raw.close_code() == 1000


def test_forged_sender_and_server_fields_are_ignored(witness):
    alice, bob, mallory = witness.register(), witness.register(), witness.register()
    a, m = alice.connect(), mallory.connect()
    conversation = a.send_text(to_user_id=bob.id, text="hi")["conversation_id"]
    m.ok("direct.open", user_id=bob.id)
    forged = {"type": "send", "id": "f", "to_user_id": bob.id, "client_msg_id": "forge", "text": "I am alice",
              "sender_id": alice.id, "seq": 1, "pos": 1, "ts": 0, "id_override": 1}
    m.send_json(forged)
    ack = m.recv_frame()
    assert ack["type"] == "ack" and ack["conversation_id"] != conversation
    b = bob.connect()
    events, _, _ = b.sync_all(0)
    forged_event = [e for e in events if e.get("text") == "I am alice"][0]
    assert forged_event["sender_id"] == mallory.id and forged_event["conversation_id"] == ack["conversation_id"]
    assert forged_event["ts"] > 0
    assert [e["text"] for e in events if e["conversation_id"] == conversation] == ["hi"]


def test_flood_gets_rate_limited_then_closed(make_server):
    s = make_server("--limits.frames_per_second", "50", "--limits.frames_burst", "20",
                    "--limits.flood_close_after", "100").start()
    flooder, calm = s.register(), s.register()
    c = flooder.connect()
    bystander = calm.connect()
    for i in range(400):
        c.send_json({"type": "ping", "id": f"p{i}"})
    limited, pongs = [], 0
    while True:
        frame = c.recv_frame(timeout=5)
        if frame is None:
            break
        if frame.get("code") == "rate_limited":
            limited.append(frame)
        elif frame.get("type") == "pong":
            pongs += 1
    assert c.close_code == 4029
    assert pongs >= 19 and len(limited) >= 50
    assert all(f["retry_after_ms"] > 0 and f["id"].startswith("p") for f in limited)
    assert bystander.ok("ping")["type"] == "pong"
    # Within the limit the same user is welcome back.
    again = flooder.connect()
    for _ in range(10):
        assert again.ok("ping")["type"] == "pong"
        time.sleep(0.03)


def test_slow_reader_is_disconnected_and_recovers_through_sync(make_server):
    # The reader sends nothing: a long idle timeout keeps 4000 out of it on a slow (ASan) run.
    s = make_server(*HIGH_RATE, "--limits.max_outbound_bytes", "65536", "--limits.idle_timeout_ms", "600000").start()
    reader, writer = s.register(), s.register()
    slow = RawWs(s, reader.token, rcvbuf=4096)
    w = writer.connect()
    conversation = w.send_text(to_user_id=reader.id, text="start")["conversation_id"]
    # How much the kernel buffers before the server's own queue grows depends on the machine
    # (socket buffers autotune up to several MiB), so keep writing until the server reports the
    # cut, whatever that takes, with a hard cap. The slow reader reads nothing meanwhile.
    sent = 1
    while s.metric("parley_ws_slow_consumer_closes_total") < 1:
        assert sent < 20000, "the slow reader was never cut off"
        for _ in range(50):
            w.send_text(conversation, text=f"{sent:05d}" + "y" * 4000)
            sent += 1
    # It is cut off: after the frames already in flight, a close frame 4002 or EOF.
    code = slow.close_code(timeout=20)
    assert code in (4002, None)
    assert w.ok("ping")["type"] == "pong"
    c = reader.connect()
    events, _, _ = c.sync_all(0)
    assert [e["seq"] for e in events] == list(range(1, sent + 1))


def test_largest_seq_is_served_without_overflow(witness):
    user, peer = witness.register(), witness.register()
    c = user.connect()
    conversation = c.send_text(to_user_id=peer.id, text="x")["conversation_id"]
    top = 2**53 - 1
    assert c.ok("history", conversation_id=conversation, after_seq=top)["events"] == []
    assert c.ok("history", conversation_id=conversation, before_seq=top)["events"][0]["text"] == "x"
    assert c.ok("thread.history", conversation_id=conversation, root_seq=1, after_seq=top)["events"] == []
    assert c.ok("sync", cursor=top)["events"] == []


def test_http_header_limit_is_the_documented_one(witness):
    # limits.max_http_header_bytes (16384) bounds the header block: one long header, many
    # headers, and a token near its documented maximum (8192 bytes) all fit; past it, 413.
    def get(headers):
        return requests.get(witness.base + "/v1/me", headers=headers, timeout=10)
    long_token = "x" * 8100
    r = get({"Authorization": "Bearer " + long_token})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert get({"X-Long": "v" * 15000}).status_code == 401  # reached the API: no token
    assert get({f"X-H{i}": "v" * 100 for i in range(85)}).status_code == 401
    r = get({"X-Long": "v" * 17000})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    # The Server header names the product, not its version.
    assert requests.get(witness.base + "/healthz").headers["Server"] == "parley"


@pytest.mark.single_node("a 413 sent before a 2 MB body is read: through HAProxy the client can see the "
                         "connection reset before the answer (docs/operations.md)")
def test_huge_http_body(witness):
    r = requests.post(witness.base + "/v1/auth/login", data="x" * (2 << 20))
    assert r.status_code == 413


def test_malformed_http(witness):
    with socket.create_connection(("127.0.0.1", witness.port)) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        assert b" 400 " in sock.recv(4096).split(b"\r\n")[0]
    user = witness.register()
    r = user.api("POST", "/v1/groups", data="{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = user.api("POST", "/v1/groups", data=b'{"title":"\xff"}')
    assert r.status_code == 400
    r = user.api("DELETE", "/v1/groups")
    assert r.status_code == 405


def test_rest_query_strings_must_be_utf8(witness):
    # Found by rest_fuzz: a percent-decoded query string is arbitrary bytes; stored, invalid
    # UTF-8 would have made every frame and page carrying it invalid text.
    alice, bob = witness.register(), witness.register()
    r = alice.api("POST", f"/v1/users/{bob.id}/messages?client_msg_id=x&text=%FF%FE")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    b = bob.connect()
    assert b.ok("sync", cursor=0)["events"] == []
    r = alice.api("POST", f"/v1/users/{bob.id}/messages?client_msg_id=x&text=%C3%A9")
    assert r.status_code == 200
    assert b.wait_events(lambda e: e.get("text") == "\u00e9")


def test_errors_name_the_field_they_are_about(witness):
    c = witness.register().connect()
    reply = c.request("history", conversation_id=1, limit=0)
    assert reply["code"] == "invalid_field" and reply["field"] == "limit"
    reply = c.request("send", conversation_id=1, client_msg_id="x" * 65, text="t")
    assert reply["code"] == "too_large" and reply["field"] == "client_msg_id"
    assert "field" not in c.request("send", client_msg_id="a", text="t")  # neither of two: no one field
    r = requests.post(witness.base + "/v1/auth/register", json={"username": "x" + uuid_hex(), "password": "password1"})
    assert r.json()["error"]["field"] == "password"


def uuid_hex():
    import uuid
    return uuid.uuid4().hex[:10]


def test_strings_with_u0000_are_refused_and_others_sends_carry_on(witness):
    # PostgreSQL cannot store U+0000 in text: refused up front on every engine, so one such
    # message can never fail the group commit it would have shared with other users' messages.
    alice, bob = witness.register(), witness.register()
    a, b = alice.connect(), bob.connect()
    conversation = a.send_text(to_user_id=bob.id, text="first")["conversation_id"]
    reply = a.request("send", conversation_id=conversation, client_msg_id="nul", text="a\u0000b")
    assert reply["code"] == "invalid_field" and reply["field"] == "text", reply
    assert "U+0000" in reply["message"]
    reply = a.request("send", conversation_id=conversation, client_msg_id="n\u0000l", text="x")
    assert reply["code"] == "invalid_field" and reply["field"] == "client_msg_id", reply
    r = alice.api("POST", "/v1/groups", json={"title": "t\u0000"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", r.text
    assert b.ok("send", conversation_id=conversation, client_msg_id="after", text="still fine")["type"] == "ack"
    assert [e["text"] for e in b.ok("history", conversation_id=conversation)["events"]] == ["first", "still fine"]
