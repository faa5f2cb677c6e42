"""Media with media.backend = s3 against a real S3 server (s3rver, tests/s3presign, which
Parley did not write): the client puts the bytes to the pre-signed URL (the object
uploads/ID), media.complete makes parleyd HEAD and GET it, check it as on the local backend
(docs/protocol.md, "media.complete"), PUT the checked original as media/ID and its thumbnail
beside it, delete the upload object, and DELETE what it refuses; the sweep DELETEs the objects
of uploads never completed. Runs unchanged on one node and on a cluster: every node reaches
the same bucket."""
import hashlib
import json
import os
import socket
import subprocess
import time

import pytest
import requests

from harness import HIGH_RATE
from test_media import LATITUDE, exif_app1

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3PRESIGN = os.path.join(ROOT, "tests", "s3presign")
BUCKET = "parley-media"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """s3rver (installed by scripts/test.sh) with the bucket parley-media: (port, directory)."""
    if not os.path.isdir(os.path.join(S3PRESIGN, "node_modules", "s3rver")):
        pytest.fail("run: npm ci --prefix tests/s3presign")
    directory = str(tmp_path_factory.mktemp("s3rver"))
    process = subprocess.Popen(["node", os.path.join(S3PRESIGN, "s3rver.mjs"), directory, "--lifetime", "0"],
                               stdout=subprocess.PIPE)
    try:
        port = json.loads(process.stdout.readline())["port"]
        yield port, directory
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_args(port, *extra):
    return (*HIGH_RATE, "--media.backend", "s3", "--media.s3.endpoint", f"http://127.0.0.1:{port}",
            "--media.s3.bucket", BUCKET, "--media.s3.access_key", "S3RVER", "--media.s3.secret_key", "S3RVER", *extra)


@pytest.fixture(scope="module")
def s3_server(s3, make_module_server):
    return make_module_server(*s3_args(s3[0]))


def stored(s3, key):
    """The bytes s3rver holds for `key` (it keeps an object as KEY._S3rver_object), or None."""
    path = os.path.join(s3[1], BUCKET, key + "._S3rver_object")
    return open(path, "rb").read() if os.path.exists(path) else None


def gone(s3, key, timeout=30):
    """Whether the object `key` is deleted within `timeout` seconds (parleyd deletes an upload
    object after the completion is recorded, on its media worker)."""
    deadline = time.time() + timeout
    while stored(s3, key) is not None and time.time() < deadline:
        time.sleep(0.1)
    return stored(s3, key) is None


def s3_upload(user, body, content_type, file_name, put_body=None, put_headers=None, with_url=False, **extra):
    r = user.api("POST", "/v1/media", json={"size": len(body), "content_type": content_type, "file_name": file_name,
                                             **extra})
    assert r.status_code == 200, r.text
    up = r.json()["upload"]
    assert up["url"].startswith("http://127.0.0.1:") and up["headers"] == {"Content-Length": str(len(body))}, up
    put = requests.put(up["url"], data=body if put_body is None else put_body, headers=put_headers, timeout=10)
    return (r.json()["media_id"], put, up["url"]) if with_url else (r.json()["media_id"], put)


def image(tmp_path, name, width, height):
    subprocess.run(["vips", "black", str(tmp_path / "base.png"), str(width), str(height)], check=True)
    subprocess.run(["vips", "copy", str(tmp_path / "base.png"), str(tmp_path / name)], check=True)
    return (tmp_path / name).read_bytes()


def test_complete_fetches_checks_and_describes_the_object(s3, s3_server, tmp_path):
    alice = s3_server.register()
    body = image(tmp_path, "a.png", 64, 48)
    media_id, put = s3_upload(alice, body, "image/png", "a.png")
    assert put.status_code == 200, put.text
    reply = alice.connect().ok("media.complete", media_id=media_id)
    m = reply["media"]
    assert (m["id"], m["file_name"], m["size"], m["content_type"]) == (media_id, "a.png", len(body), "image/png"), m
    assert (m["width"], m["height"], m["thumbnail"]) == (64, 48, True), m
    assert m["preview"]
    # The download URL is a pre-signed GET of the checked copy parleyd stored as media/ID: the
    # same bytes, served as what they are; the upload object is gone.
    assert reply["url"].startswith(f"http://127.0.0.1:{s3[0]}/{BUCKET}/media/{media_id}?"), reply["url"]
    r = requests.get(reply["url"], timeout=10)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == hashlib.sha256(body).hexdigest()
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith('inline; filename="a.png"'), r.headers
    assert gone(s3, f"uploads/{media_id}")
    # The thumbnail parleyd PUT beside it (the key MediaUrls names), a JPEG of at most 320 px.
    r = requests.get(reply["thumbnail_url"], timeout=10)
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff", r.content[:100]
    assert r.headers["Content-Type"] == "image/jpeg"
    assert stored(s3, f"media/{media_id}.thumb") == r.content
    # Completing again answers the same description (no second fetch needed); over REST too.
    again = alice.api("POST", f"/v1/media/{media_id}/complete")
    assert again.status_code == 200 and again.json()["media"] == m, again.text


def test_a_file_that_is_not_an_image_and_a_declared_checksum(s3, s3_server):
    alice = s3_server.register()
    c = alice.connect()
    body = b"%PDF-1.4\n" + bytes(range(256)) * 40
    media_id, put = s3_upload(alice, body, "application/pdf", "doc.pdf", sha256=hashlib.sha256(body).hexdigest())
    assert put.status_code == 200
    reply = c.ok("media.complete", media_id=media_id)
    m = reply["media"]
    assert (m["content_type"], m["size"], m["thumbnail"]) == ("application/pdf", len(body), False), m
    assert "thumbnail_url" not in reply
    r = requests.get(reply["url"], timeout=10)
    assert r.content == body and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="doc.pdf"'), r.headers
    # A checksum the bytes do not have: refused, and the object is deleted.
    media_id, put = s3_upload(alice, b"abc", "text/plain", "a.txt", sha256="0" * 64)
    assert put.status_code == 200
    reply = c.request("media.complete", media_id=media_id)
    assert (reply["code"], reply.get("field")) == ("invalid_field", "sha256"), reply
    assert stored(s3, f"uploads/{media_id}") is None and stored(s3, f"media/{media_id}") is None


def test_what_the_upload_url_writes_later_is_never_what_others_download(s3, s3_server):
    """An S3 upload URL stays usable until it expires, and a store serves the Content-Type its
    writer sent. Downloads read only what parleyd stored after its checks."""
    alice, bob = s3_server.register(), s3_server.register()
    a = alice.connect()
    body = b"%PDF-1.4\n" + bytes(range(256)) * 8
    media_id, put, upload_url = s3_upload(alice, body, "application/pdf", "doc.pdf",
                                          put_headers={"Content-Type": "text/html"}, with_url=True)
    assert put.status_code == 200
    a.ok("media.complete", media_id=media_id)
    assert gone(s3, f"uploads/{media_id}")
    # The same URL again, with a page of the same size that a browser would run.
    html = (b"<html><script>alert(document.cookie)</script></html>" + b" " * len(body))[:len(body)]
    again = requests.put(upload_url, data=html, headers={"Content-Type": "text/html"}, timeout=10)
    assert again.status_code == 200
    ack = a.request("send", client_msg_id=f"s3-{media_id}", to_user_id=bob.id, attachments=[{"media_id": media_id}])
    assert ack["type"] == "ack", ack
    reply = bob.connect().ok("media.urls", media_ids=[media_id])
    r = requests.get(reply["media"][0]["url"], timeout=10)
    assert r.content == body and r.headers["Content-Type"] == "application/pdf", r.headers
    assert r.headers["Content-Disposition"].startswith("attachment"), r.headers


def test_what_others_download_has_no_location(s3, s3_server, tmp_path):
    alice, bob = s3_server.register(), s3_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "plain.jpg[strip]"), "200", "100"], check=True)
    plain = (tmp_path / "plain.jpg").read_bytes()
    photo = plain[:2] + exif_app1(6) + plain[2:]
    assert LATITUDE in photo
    media_id, put = s3_upload(alice, photo, "image/jpeg", "IMG_0002.jpg", sha256=hashlib.sha256(photo).hexdigest())
    assert put.status_code == 200
    a = alice.connect()
    m = a.ok("media.complete", media_id=media_id)["media"]
    assert (m["width"], m["height"]) == (100, 200), m   # orientation kept: shown upright
    assert a.request("send", client_msg_id=f"gps-{media_id}", to_user_id=bob.id,
                     attachments=[{"media_id": media_id}])["type"] == "ack"
    url = bob.connect().ok("media.urls", media_ids=[media_id])["media"][0]["url"]
    served = requests.get(url, timeout=10).content
    assert len(served) == m["size"] < len(photo)
    assert LATITUDE not in served and b"Phone" not in served and served.startswith(b"\xff\xd8")
    assert gone(s3, f"uploads/{media_id}")   # nothing in the bucket still has the position
    assert LATITUDE not in stored(s3, f"media/{media_id}")


def test_html_declared_as_png_is_refused_and_deleted_from_the_bucket(s3, s3_server):
    alice = s3_server.register()
    html = b"<!doctype html><html><script>alert(1)</script></html>" + b" " * 200
    media_id, put = s3_upload(alice, html, "image/png", "cat.png")
    assert put.status_code == 200 and stored(s3, f"uploads/{media_id}") == html
    reply = alice.connect().request("media.complete", media_id=media_id)
    assert (reply["type"], reply["code"], reply.get("field")) == ("error", "invalid_field", "content_type"), reply
    assert stored(s3, f"uploads/{media_id}") is None and stored(s3, f"media/{media_id}") is None


def test_a_size_other_than_the_declared_one_is_refused(s3, s3_server):
    alice = s3_server.register()
    # The URL signs Content-Length: a store that checks signatures refuses the body at once.
    # s3rver does not check V4 signatures, so it stores it, and media.complete refuses it.
    for sent in (1200, 800):   # larger or smaller: refused from the HEAD
        media_id, put = s3_upload(alice, b"x" * 1000, "text/plain", "a.txt", put_body=b"x" * sent)
        if put.status_code == 200:
            reply = alice.connect().request("media.complete", media_id=media_id)
            assert (reply["type"], reply["code"], reply.get("field")) == ("error", "invalid_field", "size"), reply
            assert stored(s3, f"uploads/{media_id}") is None and stored(s3, f"media/{media_id}") is None
        else:
            assert 400 <= put.status_code < 500, put.text


def test_nothing_uploaded_yet_is_a_conflict(s3, s3_server):
    alice = s3_server.register()
    r = alice.api("POST", "/v1/media", json={"size": 3, "content_type": "text/plain", "file_name": "b.txt"})
    reply = alice.connect().request("media.complete", media_id=r.json()["media_id"])
    assert (reply["type"], reply["code"]) == ("error", "conflict"), reply


def test_uploads_never_completed_and_deleted_messages_leave_the_bucket(s3, make_server, tmp_path):
    s = make_server(*s3_args(s3[0], "--media.upload_url_ttl_s", "10", "--media.upload_ttl_s", "10",
                             "--media.cleanup_interval_s", "1")).start()
    alice = s.register()
    c = alice.connect()
    # A photo in a message deleted for everyone: its original and thumbnail go at the next sweep.
    photo = image(tmp_path, "p.png", 40, 30)
    erased, put = s3_upload(alice, photo, "image/png", "p.png")
    assert put.status_code == 200 and c.ok("media.complete", media_id=erased)["media"]["thumbnail"]
    ack = c.ok("send", to_user_id=alice.id, client_msg_id="erased", attachments=[{"media_id": erased}])
    assert stored(s3, f"media/{erased}") == photo and stored(s3, f"media/{erased}.thumb")
    c.ok("message.delete", conversation_id=ack["conversation_id"], seq=ack["seq"])
    assert gone(s3, f"media/{erased}") and gone(s3, f"media/{erased}.thumb")
    stale, put = s3_upload(alice, b"s" * 400, "text/plain", "stale.txt")   # uploaded, never completed
    assert put.status_code == 200
    done, put = s3_upload(alice, b"d" * 400, "text/plain", "done.txt")
    assert put.status_code == 200
    c.ok("media.complete", media_id=done)
    # Attached to a message (to herself), so the TTL of a completed upload does not apply.
    c.ok("send", to_user_id=alice.id, client_msg_id="keep", attachments=[{"media_id": done}])
    assert stored(s3, f"uploads/{stale}") == b"s" * 400
    assert gone(s3, f"uploads/{stale}", timeout=60)                          # the object
    assert c.request("media.complete", media_id=stale)["code"] == "not_found"  # the row
    assert stored(s3, f"media/{done}") == b"d" * 400                          # a completed one stays


def test_a_store_out_of_reach_answers_unavailable(make_server):
    # A port that accepts connections (the kernel's backlog) and never answers: each request
    # step is bounded by media.s3.timeout_ms. And a port where nothing listens.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))   # bound, never listening: connections are refused
    try:
        for port in (silent.getsockname()[1], closed.getsockname()[1]):
            s = make_server(*s3_args(port, "--media.s3.timeout_ms", "300")).start()
            alice = s.register()
            r = alice.api("POST", "/v1/media", json={"size": 3, "content_type": "text/plain", "file_name": "a.txt"})
            assert r.status_code == 200, r.text   # signing needs no store
            reply = alice.connect().request("media.complete", media_id=r.json()["media_id"])
            assert (reply["type"], reply["code"]) == ("error", "unavailable"), reply
            s.stop()
    finally:
        silent.close()
        closed.close()


def csp_of(server):
    r = requests.get(server.base + "/", timeout=10)
    assert r.status_code == 200
    return dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))


@pytest.mark.single_node("the page's headers of one process")
def test_the_web_pages_may_reach_the_store_and_nothing_else(s3, s3_server, make_server):
    """docs/operations.md, "Media": the browser PUTs uploads to the store and shows its
    pictures, so the store's origin (only) joins connect-src, img-src and media-src."""
    store = f"http://127.0.0.1:{s3[0]}"
    policy = csp_of(s3_server)
    assert policy["connect-src"] == f"'self' {store}", policy
    assert policy["img-src"] == f"'self' data: blob: {store}", policy
    assert policy["media-src"] == f"'self' blob: {store}", policy
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'", policy
    # Virtual-hosted addressing: the bucket is part of the origin.
    virtual = make_server(*s3_args(s3[0], "--media.s3.path_style", "false")).start()
    assert csp_of(virtual)["img-src"] == f"'self' data: blob: http://{BUCKET}.127.0.0.1:{s3[0]}"
    virtual.stop()
