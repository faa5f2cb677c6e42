"""Media with media.backend = s3 against a real S3 server (s3rver, tests/s3presign, which
Parley did not write): the client puts the bytes to the pre-signed URL, media.complete makes
parleyd HEAD and GET the object, check it as on the local backend (docs/protocol.md,
"media.complete"), PUT its thumbnail beside it, and DELETE what it refuses; the sweep of
uploads never completed DELETEs their objects. Runs unchanged on one node and on a cluster:
every node reaches the same bucket."""
import hashlib
import json
import os
import socket
import subprocess
import time

import pytest
import requests

from harness import HIGH_RATE

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


def s3_upload(user, body, content_type, file_name, put_body=None, **extra):
    r = user.api("POST", "/v1/media", json={"size": len(body), "content_type": content_type, "file_name": file_name,
                                             **extra})
    assert r.status_code == 200, r.text
    up = r.json()["upload"]
    assert up["url"].startswith("http://127.0.0.1:") and up["headers"] == {"Content-Length": str(len(body))}, up
    put = requests.put(up["url"], data=body if put_body is None else put_body, timeout=10)
    return r.json()["media_id"], put


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
    # The download URL is a pre-signed GET of the object itself: the same bytes.
    assert reply["url"].startswith(f"http://127.0.0.1:{s3[0]}/{BUCKET}/media/{media_id}?"), reply["url"]
    r = requests.get(reply["url"], timeout=10)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == hashlib.sha256(body).hexdigest()
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
    assert requests.get(reply["url"], timeout=10).content == body
    # A checksum the bytes do not have: refused, and the object is deleted.
    media_id, put = s3_upload(alice, b"abc", "text/plain", "a.txt", sha256="0" * 64)
    assert put.status_code == 200
    reply = c.request("media.complete", media_id=media_id)
    assert (reply["code"], reply.get("field")) == ("invalid_field", "sha256"), reply
    assert stored(s3, f"media/{media_id}") is None


def test_html_declared_as_png_is_refused_and_deleted_from_the_bucket(s3, s3_server):
    alice = s3_server.register()
    html = b"<!doctype html><html><script>alert(1)</script></html>" + b" " * 200
    media_id, put = s3_upload(alice, html, "image/png", "cat.png")
    assert put.status_code == 200 and stored(s3, f"media/{media_id}") == html
    reply = alice.connect().request("media.complete", media_id=media_id)
    assert (reply["type"], reply["code"], reply.get("field")) == ("error", "invalid_field", "content_type"), reply
    assert stored(s3, f"media/{media_id}") is None


def test_a_size_other_than_the_declared_one_is_refused(s3, s3_server):
    alice = s3_server.register()
    # The URL signs Content-Length: a store that checks signatures refuses the body at once.
    # s3rver does not check V4 signatures, so it stores it, and media.complete refuses it.
    for sent in (1200, 800):   # larger (refused from the HEAD), smaller (by the checks on the copy)
        media_id, put = s3_upload(alice, b"x" * 1000, "text/plain", "a.txt", put_body=b"x" * sent)
        if put.status_code == 200:
            reply = alice.connect().request("media.complete", media_id=media_id)
            assert (reply["type"], reply["code"], reply.get("field")) == ("error", "invalid_field", "size"), reply
            assert stored(s3, f"media/{media_id}") is None
        else:
            assert 400 <= put.status_code < 500, put.text


def test_nothing_uploaded_yet_is_a_conflict(s3, s3_server):
    alice = s3_server.register()
    r = alice.api("POST", "/v1/media", json={"size": 3, "content_type": "text/plain", "file_name": "b.txt"})
    reply = alice.connect().request("media.complete", media_id=r.json()["media_id"])
    assert (reply["type"], reply["code"]) == ("error", "conflict"), reply


def test_uploads_never_completed_are_deleted_from_the_bucket(s3, make_server):
    s = make_server(*s3_args(s3[0], "--media.upload_url_ttl_s", "10", "--media.upload_ttl_s", "10",
                             "--media.cleanup_interval_s", "1")).start()
    alice = s.register()
    c = alice.connect()
    stale, put = s3_upload(alice, b"s" * 400, "text/plain", "stale.txt")   # uploaded, never completed
    assert put.status_code == 200
    done, put = s3_upload(alice, b"d" * 400, "text/plain", "done.txt")
    assert put.status_code == 200
    c.ok("media.complete", media_id=done)
    assert stored(s3, f"media/{stale}") == b"s" * 400
    deadline = time.time() + 60
    while stored(s3, f"media/{stale}") is not None and time.time() < deadline:
        time.sleep(0.25)
    assert stored(s3, f"media/{stale}") is None                               # the object
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
