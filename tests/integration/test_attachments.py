"""Attachments (issue 14; docs/protocol.md "send", "media.urls", 3.1): a completed upload is
attached to a message by its media id, every reader sees its description in the event, and
download URLs are issued per request to users who can see a message that carries it. Deleting
the message for everyone makes its media unreachable and then deletes the file."""
import hashlib
import subprocess
import time
import uuid

import pytest
import requests

from harness import HIGH_RATE


@pytest.fixture(scope="module")
def media(make_module_server):
    return make_module_server(*HIGH_RATE, "--media.cleanup_interval_s", "1", "--media.download_url_ttl_s", "600")


def completed(server, client, user, body, content_type, file_name):
    """Uploads `body` (REST + PUT) and completes it; returns media.complete's reply."""
    r = user.api("POST", "/v1/media", json={"size": len(body), "content_type": content_type, "file_name": file_name})
    assert r.status_code == 200, r.text
    up = r.json()
    assert requests.put(server.base + up["upload"]["url"], data=body, timeout=30).status_code == 200
    return client.ok("media.complete", media_id=up["media_id"])


def png(tmp_path, width=64, height=48):
    path = tmp_path / f"img-{uuid.uuid4().hex}.png"
    subprocess.run(["vips", "black", str(path), str(width), str(height)], check=True)
    return path.read_bytes()


def send(client, attachments, text=None, **address):
    fields = {"client_msg_id": uuid.uuid4().hex, "attachments": [{"media_id": m} for m in attachments], **address}
    if text is not None:
        fields["text"] = text
    return client.request("send", **fields)


def urls(client, *media_ids):
    return client.ok("media.urls", media_ids=list(media_ids))


def download(server, url):
    r = requests.get(server.base + url, timeout=30)
    assert r.status_code == 200, r.text
    return r


def test_a_message_carries_its_attachments_to_every_reader(media, tmp_path):
    alice, bob = media.register(), media.register()
    a, b = alice.connect(), bob.connect()
    photo = png(tmp_path)
    notes = b"meeting notes\n" * 100
    first = completed(media, a, alice, photo, "image/png", "photo.png")["media"]
    second = completed(media, a, alice, notes, "text/plain", "notes.txt")["media"]
    ack = send(a, [first["id"], second["id"]], "look at these", to_user_id=bob.id)
    assert ack["type"] == "ack", ack
    conversation, seq = ack["conversation_id"], ack["seq"]
    # The live event: the caption and each attachment exactly as media.complete described it.
    live = b.wait_events(lambda e: e["seq"] == seq and e["conversation_id"] == conversation)[0]
    assert live["kind"] == "text" and live["text"] == "look at these"
    assert live["attachments"] == [first, second]
    assert first["width"] == 64 and first["height"] == 48 and first["thumbnail"] is True and first["preview"]
    assert "width" not in second and second["thumbnail"] is False and "preview" not in second
    assert "url" not in str(live["attachments"])   # URLs are per request, never in events
    # Reads carry them too: history, sync, the conversation's last message.
    history = b.ok("history", conversation_id=conversation)["events"]
    assert [e for e in history if e["seq"] == seq][0]["attachments"] == [first, second]
    synced, _, _ = b.sync_all(0)
    assert [e for e in synced if e["seq"] == seq and e["conversation_id"] == conversation][0]["attachments"] == [first, second]
    listed = [c for c in b.ok("conversations.list")["conversations"] if c["id"] == conversation][0]
    assert listed["last_message"]["attachments"] == [first, second]
    # Bob downloads both; the bytes are the uploaded ones.
    reply = urls(b, first["id"], second["id"])
    assert [m["id"] for m in reply["media"]] == [first["id"], second["id"]] and reply["missing"] == []
    assert reply["url_expires_at"] > time.time()
    assert hashlib.sha256(download(media, reply["media"][0]["url"]).content).digest() == hashlib.sha256(photo).digest()
    thumbnail = download(media, reply["media"][0]["thumbnail_url"])
    assert thumbnail.headers["Content-Type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"
    assert "thumbnail_url" not in reply["media"][1]
    assert download(media, reply["media"][1]["url"]).content == notes
    # A message of attachments alone has an empty text; over REST the same field.
    ack = send(a, [first["id"]], to_user_id=bob.id)
    assert ack["type"] == "ack", ack
    event = b.wait_events(lambda e: e["seq"] == ack["seq"] and e["conversation_id"] == conversation)[0]
    assert event["text"] == "" and event["attachments"] == [first]
    r = alice.api("POST", f"/v1/conversations/{conversation}/messages",
                  json={"client_msg_id": uuid.uuid4().hex, "attachments": [{"media_id": second["id"]}]})
    assert r.status_code == 200, r.text
    event = b.wait_events(lambda e: e["seq"] == r.json()["seq"] and e["conversation_id"] == conversation)[0]
    assert event["attachments"] == [second]
    r = bob.api("POST", "/v1/media/urls", json={"media_ids": [second["id"]]})
    assert r.status_code == 200 and [m["id"] for m in r.json()["media"]] == [second["id"]], r.text
    # Hidden for Bob ("delete for me"): his reads show where it sits, not its attachments.
    b.ok("message.hide", conversation_id=conversation, seq=seq)
    hidden = [e for e in b.ok("history", conversation_id=conversation)["events"] if e["seq"] == seq][0]
    assert hidden["hidden"] is True and "attachments" not in hidden


def test_who_may_download(media, tmp_path):
    alice, bob, carol, dave, erin = (media.register() for _ in range(5))
    a, b, c, d, e = (u.connect() for u in (alice, bob, carol, dave, erin))
    group = a.ok("group.create", title="photos", member_ids=[bob.id, erin.id])["conversation"]["id"]
    before = completed(media, a, alice, png(tmp_path), "image/png", "before.png")["media"]["id"]
    assert send(a, [before], conversation_id=group)["type"] == "ack"
    # Erin leaves, then Alice posts again, then Dave joins.
    e.ok("conversation.leave", conversation_id=group)
    after = completed(media, a, alice, png(tmp_path), "image/png", "after.png")["media"]["id"]
    assert send(a, [after], conversation_id=group)["type"] == "ack"
    a.ok("members.add", conversation_id=group, user_ids=[dave.id])
    late = completed(media, a, alice, png(tmp_path), "image/png", "late.png")["media"]["id"]
    assert send(a, [late], conversation_id=group)["type"] == "ack"
    pending = a.ok("media.upload", size=3, content_type="text/plain", file_name="p.txt")["media_id"]
    unsent = completed(media, a, alice, b"abc", "text/plain", "unsent.txt")["media"]["id"]
    unknown = "A" * 22

    def allowed(client):
        reply = urls(client, before, after, late, unsent, pending, unknown)
        assert sorted(reply["missing"] + [m["id"] for m in reply["media"]]) == sorted(
            [before, after, late, unsent, pending, unknown])
        return {m["id"] for m in reply["media"]}

    assert allowed(a) == {before, after, late, unsent}   # the uploader: also what it has not sent yet
    assert allowed(b) == {before, after, late}           # a member sees every message
    assert allowed(d) == {late}                          # joined later: only from its visible_from_seq on
    assert allowed(e) == {before}                        # a former member: what it could read before leaving
    assert allowed(c) == set()                           # a stranger: nothing (and cannot tell which exist)


def test_forward_without_reupload_and_what_cannot_be_attached(media, tmp_path):
    alice, bob, carol = media.register(), media.register(), media.register()
    a, b, c = alice.connect(), bob.connect(), carol.connect()
    photo = png(tmp_path)
    original = completed(media, a, alice, photo, "image/png", "trip.png")["media"]
    assert send(a, [original["id"]], "from the trip", to_user_id=bob.id)["type"] == "ack"
    # Bob forwards Alice's photo to Carol by its id: Carol sees the same description and bytes.
    ack = send(b, [original["id"]], "forwarded", to_user_id=carol.id)
    assert ack["type"] == "ack", ack
    event = c.wait_events(lambda e: e["seq"] == ack["seq"] and e["conversation_id"] == ack["conversation_id"])[0]
    assert event["attachments"] == [original]
    assert download(media, urls(c, original["id"])["media"][0]["url"]).content == photo

    def refusal(reply):
        assert reply["type"] == "error", reply
        return reply["code"], reply.get("field")

    # Carol cannot attach what she cannot see: another user's upload, an unfinished or unknown one.
    private = completed(media, a, alice, b"private", "text/plain", "private.txt")["media"]["id"]
    pending = c.ok("media.upload", size=3, content_type="text/plain", file_name="p.txt")["media_id"]
    for media_id in (private, pending, "B" * 22):
        assert refusal(send(c, [media_id], to_user_id=alice.id)) == ("invalid_field", "attachments")
    # Shapes.
    base = {"client_msg_id": uuid.uuid4().hex, "to_user_id": alice.id}
    assert refusal(c.request("send", **base, attachments="x")) == ("invalid_field", "attachments")
    assert refusal(c.request("send", **base, attachments=[])) == ("invalid_field", "attachments")
    assert refusal(c.request("send", **base, attachments=[original["id"]])) == ("invalid_field", "attachments")
    assert refusal(c.request("send", **base, attachments=[{"media_id": "../etc/passwd"}])) == ("invalid_field",
                                                                                               "attachments")
    assert refusal(c.request("send", **base, attachments=[{"media_id": original["id"]}] * 2)) == ("invalid_field",
                                                                                                  "attachments")
    many = [{"media_id": chr(ord("a") + i) * 22} for i in range(11)]   # limits.max_attachments = 10
    assert refusal(c.request("send", **base, attachments=many)) == ("too_large", "attachments")
    assert refusal(c.request("send", **base)) == ("missing_field", "text")   # no attachments: text is required
    assert refusal(c.request("media.urls", media_ids="x")) == ("invalid_field", "media_ids")
    assert refusal(c.request("media.urls", media_ids=[])) == ("invalid_field", "media_ids")
    assert refusal(c.request("media.urls", media_ids=[1])) == ("invalid_field", "media_ids")
    assert refusal(c.request("media.urls")) == ("missing_field", "media_ids")
    assert refusal(c.request("media.urls", media_ids=["a" * 22 for _ in range(2)])) == ("invalid_field", "media_ids")
    assert refusal(c.request("media.urls", media_ids=[chr(65 + i % 26) * 21 + str(i % 10) for i in range(101)])) == (
        "too_large", "media_ids")
    assert c.hello_reply["limits"]["max_attachments"] == 10 and c.hello_reply["limits"]["max_media_urls"] == 100
    # What a client checks before uploading (docs/protocol.md, hello): the media.* defaults.
    assert c.hello_reply["media"] == {"max_file_bytes": 100 << 20, "user_quota_bytes": 10 << 30,
                                      "max_pending_uploads": 20}, c.hello_reply


def test_deleting_for_everyone_makes_the_media_unreachable_then_deletes_it(media, tmp_path):
    alice, bob, carol = media.register(), media.register(), media.register()
    a, b = alice.connect(), bob.connect()
    kept = completed(media, a, alice, b"forwarded before the delete", "text/plain", "kept.txt")["media"]["id"]
    gone = completed(media, a, alice, png(tmp_path), "image/png", "gone.png")["media"]["id"]
    ack = send(a, [kept, gone], "two files", to_user_id=bob.id)
    assert ack["type"] == "ack"
    conversation = ack["conversation_id"]
    forward = send(b, [kept], to_user_id=carol.id)
    assert forward["type"] == "ack", forward
    issued = urls(b, gone)["media"][0]
    assert download(media, issued["url"]).status_code == 200
    a.ok("message.delete", conversation_id=conversation, seq=ack["seq"])
    tombstone = [e for e in b.ok("history", conversation_id=conversation)["events"] if e["seq"] == ack["seq"]][0]
    assert tombstone["deleted"] is True and "attachments" not in tombstone
    # No new URL for anyone, the uploader included, and it cannot be attached again.
    assert urls(b, gone)["missing"] == [gone] and urls(a, gone)["missing"] == [gone]
    assert send(a, [gone], to_user_id=bob.id)["field"] == "attachments"
    # The copy Bob forwarded to Carol keeps its media reachable: for Bob, and for Alice, its
    # uploader (a message still carries it).
    assert [m["id"] for m in urls(b, kept)["media"]] == [kept]
    assert [m["id"] for m in urls(a, kept)["media"]] == [kept]
    # The sweep (media.cleanup_interval_s = 1) deletes the file: the URL issued before dies.
    deadline = time.time() + 30
    while time.time() < deadline and requests.get(media.base + issued["url"], timeout=10).status_code == 200:
        time.sleep(0.3)
    assert requests.get(media.base + issued["url"], timeout=10).status_code == 404
    assert requests.get(media.base + issued["thumbnail_url"], timeout=10).status_code == 404
    assert requests.get(media.base + urls(b, kept)["media"][0]["url"], timeout=10).status_code == 200


def test_a_completed_upload_never_attached_is_deleted_after_the_upload_ttl(make_server):
    s = make_server(*HIGH_RATE, "--media.upload_url_ttl_s", "10", "--media.upload_ttl_s", "10",
                    "--media.cleanup_interval_s", "1").start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    attached = completed(s, a, alice, b"attached", "text/plain", "attached.txt")["media"]["id"]
    assert send(a, [attached], to_user_id=bob.id)["type"] == "ack"
    unsent = completed(s, a, alice, b"never sent", "text/plain", "unsent.txt")
    deadline = time.time() + 30
    while time.time() < deadline and requests.get(s.base + unsent["url"], timeout=10).status_code == 200:
        time.sleep(0.3)
    assert requests.get(s.base + unsent["url"], timeout=10).status_code == 404
    assert a.request("media.complete", media_id=unsent["media"]["id"])["code"] == "not_found"
    # The attached one stays however long ago it was uploaded.
    assert requests.get(s.base + urls(a, attached)["media"][0]["url"], timeout=10).content == b"attached"
