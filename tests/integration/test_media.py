"""Media uploads, first step (issue 14): media.upload / POST /v1/media (docs/protocol.md,
"media.upload") records a pending upload and answers where to PUT the bytes, within the
limits media.max_file_bytes, media.user_quota_bytes and media.max_pending_uploads. On the
s3 backend the URL is a pre-signed PUT that an S3 server (s3rver, which Parley did not write)
accepts."""
import base64
import glob
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import struct
import subprocess
import time
import urllib.parse
import zlib

import pytest
import requests

from conftest import Server
from harness import HIGH_RATE, Client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3PRESIGN = os.path.join(ROOT, "tests", "s3presign")


def upload(client, **fields):
    return client.request("media.upload", **fields)


def test_upload_answers_a_signed_put_url_and_a_sanitized_name(server):
    alice = server.register()
    c = alice.connect()
    before = int(time.time())
    reply = c.ok("media.upload", size=12345, content_type="image/png", file_name="../../etc/pass\u202ewd.png",
                 sha256="AB" * 32)
    media_id = reply["media_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", media_id), reply
    assert reply["file_name"] == "pass_wd.png"   # no path, no bidi override
    assert reply["size"] == 12345
    up = reply["upload"]
    assert up["method"] == "PUT"
    assert up["headers"] == {"Content-Length": "12345"}
    assert before + 900 - 5 <= up["expires_at"] <= int(time.time()) + 900 + 5   # media.upload_url_ttl_s
    assert re.fullmatch(rf"/v1/media/{media_id}/content\?size=12345&expires={up['expires_at']}&sig=[A-Za-z0-9_-]{{43}}",
                        up["url"]), up["url"]
    # Every request is a new upload with its own id.
    assert c.ok("media.upload", size=1, content_type="text/plain", file_name="a.txt")["media_id"] != media_id
    # Over REST the same (POST /v1/media).
    r = alice.api("POST", "/v1/media", json={"size": 5, "content_type": "application/pdf", "file_name": "CON"})
    assert r.status_code == 200, r.text
    assert r.json()["file_name"] == "_CON" and r.json()["upload"]["headers"] == {"Content-Length": "5"}


def test_bad_fields_are_refused_with_the_field(server):
    c = server.register().connect()

    def refused(**fields):
        reply = upload(c, **{"size": 1, "content_type": "image/png", "file_name": "a.png", **fields})
        assert reply["type"] == "error", reply
        return reply["code"], reply.get("field")

    assert refused(size=-1) == ("invalid_field", "size")
    assert refused(content_type="png") == ("invalid_field", "content_type")
    assert refused(content_type="text/html; charset=utf-8") == ("invalid_field", "content_type")
    assert refused(file_name="") == ("invalid_field", "file_name")
    assert refused(file_name="x" * 1025) == ("too_large", "file_name")
    assert refused(sha256="1234") == ("invalid_field", "sha256")
    reply = c.request("media.upload", content_type="image/png", file_name="a.png")
    assert (reply["code"], reply["field"]) == ("missing_field", "size")
    # Before hello: not_authenticated, as for every command.
    fresh = Client(server, hello=False)
    assert fresh.request("media.upload", size=1, content_type="image/png", file_name="a")["code"] == "not_authenticated"
    fresh.close()


def test_size_quota_and_pending_limits(make_server):
    s = make_server(*HIGH_RATE, "--media.max_file_bytes", "1000", "--media.user_quota_bytes", "2500",
                    "--media.max_pending_uploads", "3").start()
    alice, bob = s.register(), s.register()
    a, b = alice.connect(), bob.connect()

    def outcome(client, size):
        reply = upload(client, size=size, content_type="application/octet-stream", file_name="f.bin")
        return "ok" if reply["type"] == "ok" else (reply["code"], reply.get("field"))

    assert outcome(a, 1001) == ("too_large", "size")       # media.max_file_bytes
    assert outcome(a, 1000) == "ok"
    assert outcome(a, 1000) == "ok"
    assert outcome(a, 600) == ("limit_reached", "size")    # 2600 > media.user_quota_bytes
    assert outcome(a, 500) == "ok"                         # exactly the quota
    assert outcome(a, 0) == ("limit_reached", None)        # 3 pending = media.max_pending_uploads
    assert outcome(b, 1000) == "ok"                        # per user
    r = alice.api("POST", "/v1/media", json={"size": 1, "content_type": "image/png", "file_name": "a.png"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "limit_reached", r.text
    r = bob.api("POST", "/v1/media", json={"size": 1001, "content_type": "image/png", "file_name": "a.png"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    """s3rver (tests/s3presign, installed by scripts/test.sh) with the bucket parley-media."""
    if not os.path.isdir(os.path.join(S3PRESIGN, "node_modules", "s3rver")):
        pytest.fail("run: npm ci --prefix tests/s3presign")
    directory = str(tmp_path_factory.mktemp("s3rver"))
    process = subprocess.Popen(["node", os.path.join(S3PRESIGN, "s3rver.mjs"), directory], stdout=subprocess.PIPE)
    port = json.loads(process.stdout.readline())["port"]
    yield port, directory
    process.terminate()
    process.wait(timeout=10)


def test_s3_backend_answers_a_presigned_put_that_the_store_accepts(make_server, s3rver):
    port, directory = s3rver
    s = make_server(*HIGH_RATE, "--media.backend", "s3", "--media.s3.endpoint", f"http://127.0.0.1:{port}",
                    "--media.s3.bucket", "parley-media", "--media.s3.access_key", "S3RVER",
                    "--media.s3.secret_key", "S3RVER").start()
    c = s.register().connect()
    body = bytes(range(256)) * 400
    reply = c.ok("media.upload", size=len(body), content_type="application/octet-stream", file_name="blob.bin")
    up = reply["upload"]
    assert up["url"].startswith(f"http://127.0.0.1:{port}/parley-media/uploads/{reply['media_id']}?"), up["url"]
    assert "X-Amz-SignedHeaders=content-length%3Bhost" in up["url"]
    r = requests.put(up["url"], data=body, headers=up["headers"], timeout=10)
    assert r.status_code == 200, r.text
    stored = glob.glob(os.path.join(directory, "parley-media", "uploads", reply["media_id"] + "*object"))
    assert len(stored) == 1, os.listdir(directory)
    assert open(stored[0], "rb").read() == body


@pytest.mark.single_node("a start-up refusal of one process")
def test_incomplete_s3_settings_stop_the_start(make_server):
    s = make_server("--media.backend", "s3", "--media.s3.endpoint", "http://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="media.backend = s3 needs media.s3.endpoint, media.s3.bucket"):
        s.start()


# --- the local backend's upload and download routes (docs/protocol.md, "Uploading and
# downloading with the local backend") ---

MEDIA_SECRET = "test-media-url-key-0123456789abcdef-0123456789"


@pytest.fixture(scope="module")
def media_server():
    """One parleyd (or three) whose media URL key the tests know, so they can sign GET URLs
    (media.url comes with media.complete) and expired ones."""
    s = Server(*HIGH_RATE, "--media.secret", MEDIA_SECRET, "--media.max_file_bytes", "300000000").start()
    yield s
    code = s.stop()
    log = s.read_log()
    s.cleanup()
    assert code == 0, "parleyd exited uncleanly:\n" + log[-20000:]


def sign(method, obj, expires, size=-1):
    text = f"parley-media-url-v1\n{method}\n{obj}\n{expires}\n{size}".encode()
    mac = hmac.new(MEDIA_SECRET.encode(), text, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def get_url(server, media_id, expires=None, variant="content"):
    expires = expires or int(time.time()) + 300
    obj = media_id + (".thumb" if variant == "thumbnail" else "")
    return f"{server.base}/v1/media/{media_id}/{variant}?expires={expires}&sig={sign('GET', obj, expires)}"


def new_upload(user, body, content_type="application/octet-stream", file_name="blob.bin"):
    r = user.api("POST", "/v1/media", json={"size": len(body), "content_type": content_type, "file_name": file_name})
    assert r.status_code == 200, r.text
    return r.json()


def put(server, url, body, headers=None, timeout=30):
    return requests.put(server.base + url, data=body, headers=headers, timeout=timeout)


def error_of(r):
    return r.status_code, r.json()["error"]["code"]


def test_local_round_trip_with_range_etag_and_safe_headers(media_server):
    alice = media_server.register()
    # A few of the server's 256 KiB pieces of bytes that are no known format. Fixed, not
    # os.urandom: one random body in 65,536 starts with "MZ" and is a DOS executable to libmagic.
    body = random.Random(14).randbytes(700_000)
    up = new_upload(alice, body, file_name="page.html")
    r = put(media_server, up["upload"]["url"], body)
    assert r.status_code == 200 and r.json() == {"size": len(body)}, r.text
    # The URL was for one upload: the same bytes again are a conflict, the file stays.
    assert error_of(put(media_server, up["upload"]["url"], body)) == (409, "conflict")

    url = get_url(media_server, up["media_id"])
    r = requests.get(url, timeout=30)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(body).hexdigest()
    h = r.headers
    assert h["Content-Type"] == "application/octet-stream"   # what the bytes are, not what was declared
    assert h["Content-Disposition"] == "attachment"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Accept-Ranges"] == "bytes" and int(h["Content-Length"]) == len(body)
    assert "sandbox" in h["Content-Security-Policy"]
    etag = h["ETag"]
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"', etag), etag

    r = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    r = requests.get(url, headers={"If-None-Match": '"other"'}, timeout=10)
    assert r.status_code == 200 and len(r.content) == len(body)

    r = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert r.status_code == 206 and r.content == body[1000:2000]
    assert r.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    r = requests.get(url, headers={"Range": "bytes=-10"}, timeout=10)
    assert r.status_code == 206 and r.content == body[-10:]
    r = requests.get(url, headers={"Range": f"bytes={len(body)}-"}, timeout=10)
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(body)}"

    r = requests.head(url, timeout=10)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(body) and r.content == b""

    # Several requests on one keep-alive connection.
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(url, headers={"Range": "bytes=0-3"}, timeout=10).content == body[:4]
            assert session.get(media_server.base + "/healthz", timeout=10).status_code == 200


def test_an_image_is_served_inline_with_its_sniffed_type(media_server, tmp_path):
    alice = media_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "a.png"), "16", "12"], check=True)
    body = (tmp_path / "a.png").read_bytes()
    up = new_upload(alice, body, content_type="image/png", file_name="a.png")
    assert put(media_server, up["upload"]["url"], body).status_code == 200
    r = requests.get(get_url(media_server, up["media_id"]), timeout=10)
    assert r.status_code == 200 and r.content == body
    assert r.headers["Content-Type"] == "image/png" and r.headers["Content-Disposition"] == "inline"


def raw_put(server, path, headers, body):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for piece in body:
            connection.send(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    status, data = response.status, response.read()
    connection.close()
    return status, json.loads(data)["error"]["code"] if status >= 400 else json.loads(data)


def test_the_declared_size_binds_the_upload(media_server):
    alice = media_server.register()
    body = b"x" * 1000
    url = new_upload(alice, body)["upload"]["url"]
    # More than declared: refused before a byte is stored; less: refused; no length: refused.
    assert raw_put(media_server, url, {"Content-Length": "1001"}, [b"x" * 1001]) == (413, "too_large")
    assert raw_put(media_server, url, {"Content-Length": "999"}, [b"x" * 999]) == (400, "invalid_field")
    assert raw_put(media_server, url, {"Transfer-Encoding": "chunked"}, [b"3e8\r\n" + body + b"\r\n0\r\n\r\n"]) == \
        (411, "bad_request")
    # A client that stops half-way leaves nothing behind: the same URL works afterwards.
    connection = http.client.HTTPConnection("127.0.0.1", media_server.port, timeout=10)
    connection.putrequest("PUT", url)
    connection.putheader("Content-Length", "1000")
    connection.endheaders()
    connection.send(b"x" * 400)
    connection.close()
    deadline = time.time() + 10
    while True:
        r = put(media_server, url, body)
        if r.status_code != 409 or time.time() > deadline:   # the part file is removed just after the close
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text


def test_expired_tampered_and_foreign_urls_are_refused(media_server):
    alice = media_server.register()
    body = b"hello"
    first, second = new_upload(alice, body), new_upload(alice, body)
    url = first["upload"]["url"]
    path, query = url.split("?")
    params = dict(urllib.parse.parse_qsl(query))
    # Tampered: another signature, another size, another expiry.
    sig = params["sig"]
    tampered = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    assert error_of(put(media_server, f"{path}?size=5&expires={params['expires']}&sig={tampered}", body)) == \
        (403, "forbidden")
    assert error_of(put(media_server, f"{path}?size=6&expires={params['expires']}&sig={sig}", body + b"!")) == \
        (403, "forbidden")
    assert error_of(put(media_server, f"{path}?size=5&expires={int(params['expires']) + 1}&sig={sig}", body)) == \
        (403, "forbidden")
    # Unsigned.
    assert error_of(put(media_server, path, body)) == (403, "forbidden")
    # One upload's URL used for another media id.
    other = f"/v1/media/{second['media_id']}/content?{query}"
    assert error_of(put(media_server, other, body)) == (403, "forbidden")
    # Expired (an authentic signature, an expiry in the past).
    past = int(time.time()) - 1
    expired = f"{path}?size=5&expires={past}&sig={sign('PUT', first['media_id'], past, 5)}"
    assert error_of(put(media_server, expired, body)) == (403, "expired")
    # The upload URL is not a download URL, nor the other way round.
    assert put(media_server, url, body).status_code == 200
    assert error_of(requests.get(media_server.base + url, timeout=10)) == (403, "forbidden")
    assert error_of(put(media_server, get_url(media_server, first["media_id"])[len(media_server.base):], body)) == \
        (403, "forbidden")
    assert error_of(requests.get(get_url(media_server, first["media_id"], expires=past), timeout=10)) == \
        (403, "expired")
    # Nothing but media ids names a file.
    assert error_of(requests.get(get_url(media_server, second["media_id"]), timeout=10)) == (404, "not_found")
    for bad in ["..%2F..%2Fetc%2Fpasswd", "....................../", "%2e%2e"]:
        r = requests.get(f"{media_server.base}/v1/media/{bad}/content?expires=1&sig=x", timeout=10)
        assert r.status_code in (400, 404), (bad, r.status_code, r.text)
    assert error_of(requests.get(get_url(media_server, first["media_id"], variant="thumbnail"), timeout=10)) == \
        (404, "not_found")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.single_node("the memory of one process during one upload")
def test_a_large_upload_streams_to_disk_without_growing_the_server(media_server):
    alice = media_server.register()
    size = 200 * 1024 * 1024
    r = alice.api("POST", "/v1/media", json={"size": size, "content_type": "application/octet-stream",
                                              "file_name": "big.bin"})
    assert r.status_code == 200, r.text
    up = r.json()
    before = vm_hwm_kib(media_server.proc.pid)
    piece = os.urandom(1024 * 1024)
    digest = hashlib.sha256()

    def pieces():
        for _ in range(size // len(piece)):
            digest.update(piece)
            yield piece

    status, reply = raw_put(media_server, up["upload"]["url"], {"Content-Length": str(size)}, pieces())
    assert (status, reply) == (200, {"size": size})
    after = vm_hwm_kib(media_server.proc.pid)
    # Flat: a few pieces in flight, not the body (a generous bound, not a measurement).
    assert after - before < 32 * 1024, (before, after)
    got = hashlib.sha256()
    with requests.get(get_url(media_server, up["media_id"]), stream=True, timeout=120) as r:
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == size
        for block in r.iter_content(1 << 20):
            got.update(block)
    assert got.hexdigest() == digest.hexdigest()
    assert vm_hwm_kib(media_server.proc.pid) - before < 32 * 1024



# --- media.complete (docs/protocol.md, "media.complete") ---

def uploaded(server, user, body, content_type, file_name, **extra):
    r = user.api("POST", "/v1/media", json={"size": len(body), "content_type": content_type, "file_name": file_name,
                                             **extra})
    assert r.status_code == 200, r.text
    up = r.json()
    assert put(server, up["upload"]["url"], body).status_code == 200
    return up["media_id"]


def png_claiming(width, height):
    """A valid PNG header for a huge grayscale image, with almost no data: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("extension,mime", [("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp"),
                                             ("gif", "image/gif")])
def test_complete_checks_and_describes_an_image_with_thumbnail_and_preview(media_server, tmp_path, extension, mime):
    alice = media_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "base.png"), "64", "48"], check=True)
    subprocess.run(["vips", "copy", str(tmp_path / "base.png"), str(tmp_path / f"a.{extension}")], check=True)
    body = (tmp_path / f"a.{extension}").read_bytes()
    media_id = uploaded(media_server, alice, body, mime, f"a.{extension}")
    c = alice.connect()
    reply = c.ok("media.complete", media_id=media_id)
    m = reply["media"]
    assert (m["id"], m["file_name"], m["content_type"]) == (media_id, f"a.{extension}", mime), m
    assert (m["width"], m["height"], m["thumbnail"]) == (64, 48, True), m
    preview = base64.b64decode(m["preview"])
    assert preview[:3] == b"\xff\xd8\xff" and len(preview) <= 1024
    assert reply["url_expires_at"] > time.time()
    r = requests.get(media_server.base + reply["url"], timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == mime
    # libvips writes an Exif block of its own into JPEG and WebP: gone from what is served.
    assert len(r.content) == m["size"] and (r.content == body if mime in ("image/png", "image/gif") else
                                             len(r.content) < len(body)), (len(r.content), len(body))
    r = requests.get(media_server.base + reply["thumbnail_url"], timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
    # Completing again answers the same file (fresh URLs); over REST too.
    again = alice.api("POST", f"/v1/media/{media_id}/complete")
    assert again.status_code == 200 and again.json()["media"] == m, again.text


def test_complete_of_a_file_that_is_not_an_image(media_server):
    alice = media_server.register()
    body = b"%PDF-1.4\n" + b"0" * 2000
    media_id = uploaded(media_server, alice, body, "application/pdf", "doc.pdf")
    m = alice.connect().ok("media.complete", media_id=media_id)["media"]
    assert m["content_type"] == "application/pdf" and m["thumbnail"] is False and "width" not in m and "preview" not in m


def test_complete_refuses_what_is_not_what_it_claims(media_server):
    alice, bob = media_server.register(), media_server.register()
    c = alice.connect()

    def refused(media_id):
        reply = c.request("media.complete", media_id=media_id)
        assert reply["type"] == "error", reply
        return reply["code"], reply.get("field")

    # A "PNG" that is HTML: refused, and the file is gone.
    html = b"<!doctype html><html><script>alert(1)</script></html>" + b" " * 200
    media_id = uploaded(media_server, alice, html, "image/png", "cat.png")
    assert refused(media_id) == ("invalid_field", "content_type")
    assert error_of(requests.get(get_url(media_server, media_id), timeout=10)) == (404, "not_found")
    # A decompression bomb: 50000 x 50000 pixels in a few hundred bytes, refused from its header.
    bomb = png_claiming(50000, 50000)
    assert len(bomb) < 1000
    media_id = uploaded(media_server, alice, bomb, "image/png", "bomb.png")
    started = time.time()
    assert refused(media_id) == ("too_large", "pixels")
    assert time.time() - started < 5
    assert error_of(requests.get(get_url(media_server, media_id), timeout=10)) == (404, "not_found")
    # A declared checksum that the bytes do not have.
    media_id = uploaded(media_server, alice, b"abc", "text/plain", "a.txt", sha256="0" * 64)
    assert refused(media_id) == ("invalid_field", "sha256")
    media_id = uploaded(media_server, alice, b"abc", "text/plain", "a.txt", sha256=hashlib.sha256(b"abc").hexdigest())
    assert c.ok("media.complete", media_id=media_id)["media"]["size"] == 3
    # Nothing uploaded yet; another user's upload; not an id.
    pending = alice.api("POST", "/v1/media", json={"size": 3, "content_type": "text/plain", "file_name": "b.txt"}).json()
    assert refused(pending["media_id"]) == ("conflict", None)
    assert bob.connect().request("media.complete", media_id=media_id)["code"] == "not_found"
    assert refused("x" * 21) == ("invalid_field", "media_id")
    assert refused("A" * 22) == ("not_found", "media_id")


# --- what other users download carries no location (docs/protocol.md, "media.complete") ---

# The GPS latitude 52 deg 31' 7" N as an Exif GPS IFD stores it (three big-endian rationals).
LATITUDE = struct.pack(">6I", 52, 1, 31, 1, 7, 1)


def exif_app1(orientation):
    """An APP1 Exif block as a phone writes it: IFD0 with Make, Orientation and a GPS IFD."""
    def entry(tag, kind, count, value4):
        return struct.pack(">HHI", tag, kind, count) + value4
    tiff = b"MM" + struct.pack(">HI", 42, 8)
    tiff += struct.pack(">H", 3) + entry(0x010F, 2, 6, struct.pack(">I", 80)) + \
        entry(0x0112, 3, 1, struct.pack(">HH", orientation, 0)) + entry(0x8825, 4, 1, struct.pack(">I", 50)) + b"\0" * 4
    tiff += struct.pack(">H", 2) + entry(0x0001, 2, 2, b"N\0\0\0") + entry(0x0002, 5, 3, struct.pack(">I", 86)) + b"\0" * 4
    tiff += b"Phone\0" + LATITUDE
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_segments(data):
    """(marker, payload) of each segment of a JPEG up to SOS."""
    at, found = 2, []
    while data[at] == 0xFF and data[at + 1] != 0xDA:
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        found.append((data[at + 1], data[at + 4:at + 2 + length]))
        at += 2 + length
    return found


def test_what_others_download_has_no_location_but_keeps_its_orientation(media_server, tmp_path):
    alice = media_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "plain.jpg[strip]"), "200", "100"], check=True)
    plain = (tmp_path / "plain.jpg").read_bytes()
    xmp = b"\xff\xe1" + struct.pack(">H", 2 + 29 + 40) + b"http://ns.adobe.com/xap/1.0/\0" + b"<x:xmpmeta exif:GPSLatitude='52,31N'/>  "
    photo = plain[:2] + exif_app1(6) + xmp + plain[2:]
    assert LATITUDE in photo and b"GPSLatitude" in photo
    media_id = uploaded(media_server, alice, photo, "image/jpeg", "IMG_0001.jpg",
                        sha256=hashlib.sha256(photo).hexdigest())   # of what was uploaded
    reply = alice.connect().ok("media.complete", media_id=media_id)
    m = reply["media"]
    assert (m["width"], m["height"]) == (100, 200), m   # as displayed: turned upright
    r = requests.get(media_server.base + reply["url"], timeout=10)
    assert r.status_code == 200
    served = r.content
    assert m["size"] == len(served) == int(r.headers["Content-Length"]) < len(photo)
    assert LATITUDE not in served and b"GPS" not in served and b"Phone" not in served
    # The only Exif left is IFD0 with one entry, the orientation; no GPS IFD (tag 0x8825).
    exif = [payload for marker, payload in jpeg_segments(served) if marker == 0xE1]
    assert len(exif) == 1 and exif[0].startswith(b"Exif\0\0MM"), exif
    tiff = exif[0][6:]
    assert struct.unpack(">H", tiff[8:10])[0] == 1                       # one entry
    assert struct.unpack(">HHIH", tiff[10:20]) == (0x0112, 3, 1, 6)       # Orientation = 6
    assert b"\x88\x25" not in tiff
    # Every byte of the picture is the one uploaded.
    assert served == plain[:2] + b"\xff\xe1\x00\x22" + exif[0] + plain[2:]
    (tmp_path / "served.jpg").write_bytes(served)
    info = subprocess.run(["vipsheader", "-f", "orientation", str(tmp_path / "served.jpg")], capture_output=True)
    assert info.stdout.strip() == b"6", info
    # Completing again answers the same stored file.
    assert alice.api("POST", f"/v1/media/{media_id}/complete").json()["media"]["size"] == len(served)


def test_completions_at_once_of_a_stripped_image_keep_it(media_server, tmp_path):
    """Three media.complete of one photo sent together: all are read as pending, so the later
    checks find the file the first one stripped (smaller than declared). They take it as it is
    rather than refuse it as the wrong size and delete it."""
    alice = media_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "plain.jpg[strip]"), "64", "48"], check=True)
    plain = (tmp_path / "plain.jpg").read_bytes()
    photo = plain[:2] + exif_app1(6) + plain[2:]
    media_id = uploaded(media_server, alice, photo, "image/jpeg", "IMG_0002.jpg",
                        sha256=hashlib.sha256(photo).hexdigest())
    c = alice.connect()
    for n in range(3):
        c.send_json({"type": "media.complete", "id": f"at-once-{n}", "media_id": media_id})
    replies = {}
    while len(replies) < 3:
        frame = c.recv_frame()
        assert frame is not None
        if str(frame.get("id", "")).startswith("at-once-"):
            replies[frame["id"]] = frame
    sizes = {r["media"]["size"] for r in replies.values() if r["type"] == "ok"}
    refusals = [(r["code"], r.get("field")) for r in replies.values() if r["type"] != "ok"]
    assert len(sizes) == 1 and all(code == "conflict" for code, _ in refusals), replies
    r = requests.get(get_url(media_server, media_id), timeout=10)
    assert r.status_code == 200 and len(r.content) == sizes.pop() < len(photo) and LATITUDE not in r.content


def test_an_image_whose_metadata_cannot_be_found_is_refused(media_server, tmp_path):
    alice = media_server.register()
    subprocess.run(["vips", "black", str(tmp_path / "plain.jpg[strip]"), "64", "48"], check=True)
    plain = (tmp_path / "plain.jpg").read_bytes()
    app1 = exif_app1(6)
    broken = plain[:2] + app1[:2] + b"\x7f\xff" + app1[4:] + plain[2:]   # the Exif block's length runs past the end
    media_id = uploaded(media_server, alice, broken, "image/jpeg", "broken.jpg")
    reply = alice.connect().request("media.complete", media_id=media_id)
    assert (reply["type"], reply["code"], reply["field"]) == ("error", "invalid_field", "content_type"), reply
    assert error_of(requests.get(get_url(media_server, media_id), timeout=10)) == (404, "not_found")


# --- uploads never completed are deleted (media.upload_ttl_s, media.cleanup_interval_s) ---

def test_uploads_never_completed_are_deleted_after_their_ttl(make_server):
    s = make_server(*HIGH_RATE, "--media.secret", MEDIA_SECRET, "--media.upload_url_ttl_s", "10",
                    "--media.upload_ttl_s", "10", "--media.cleanup_interval_s", "1",
                    "--media.user_quota_bytes", "1000", "--media.max_file_bytes", "1000").start()
    alice = s.register()
    c = alice.connect()
    stale = uploaded(s, alice, b"s" * 400, "text/plain", "stale.txt")   # uploaded, never completed
    done = uploaded(s, alice, b"d" * 400, "text/plain", "done.txt")
    c.ok("media.complete", media_id=done)
    # Attached to a message (to herself), so its own TTL (test_attachments.py) does not apply.
    c.ok("send", to_user_id=alice.id, client_msg_id="keep", attachments=[{"media_id": done}])
    # The quota counts the pending one: 800 of 1000 in use.
    assert c.request("media.upload", size=300, content_type="text/plain", file_name="x")["code"] == "limit_reached"
    assert requests.get(get_url(s, stale), timeout=10).status_code == 200
    deadline = time.time() + 30
    while time.time() < deadline:
        if requests.get(get_url(s, stale), timeout=10).status_code == 404:
            break
        time.sleep(0.5)
    assert error_of(requests.get(get_url(s, stale), timeout=10)) == (404, "not_found")   # the file
    assert c.request("media.complete", media_id=stale)["code"] == "not_found"             # the row
    # The completed one stays; the quota has the stale upload's room back.
    assert requests.get(get_url(s, done), timeout=10).content == b"d" * 400
    assert c.ok("media.upload", size=300, content_type="text/plain", file_name="x")["size"] == 300
