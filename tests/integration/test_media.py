"""Media uploads, first step (issue 14): media.upload / POST /v1/media (docs/protocol.md,
"media.upload") records a pending upload and answers where to PUT the bytes, within the
limits media.max_file_bytes, media.user_quota_bytes and media.max_pending_uploads. On the
s3 backend the URL is a pre-signed PUT that an S3 server (s3rver, which Parley did not write)
accepts."""
import glob
import json
import os
import re
import subprocess
import time

import pytest
import requests

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
    assert up["url"].startswith(f"http://127.0.0.1:{port}/parley-media/media/{reply['media_id']}?"), up["url"]
    assert "X-Amz-SignedHeaders=content-length%3Bhost" in up["url"]
    r = requests.put(up["url"], data=body, headers=up["headers"], timeout=10)
    assert r.status_code == 200, r.text
    stored = glob.glob(os.path.join(directory, "parley-media", "media", reply["media_id"] + "*object"))
    assert len(stored) == 1, os.listdir(directory)
    assert open(stored[0], "rb").read() == body


@pytest.mark.single_node("a start-up refusal of one process")
def test_incomplete_s3_settings_stop_the_start(make_server):
    s = make_server("--media.backend", "s3", "--media.s3.endpoint", "http://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="media.backend = s3 needs media.s3.endpoint, media.s3.bucket"):
        s.start()
