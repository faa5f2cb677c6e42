#!/usr/bin/env python3
"""Media benchmarks (issue 14; docs/benchmarks.md "Media"). Starts its own parleyd (the
harness of tests/integration) on loopback and measures:

  send-10mb   a 10 MB file from the sender's first byte of upload to the recipient's first
              byte of download: media.upload, PUT, media.complete, send with the attachment,
              the recipient's live event, media.urls, GET (first byte) — p50 / p99 over --runs
  event       the size in bytes of the event frame of a message with one photo attachment
  images      completed uploads per second of ~100 KB JPEG photos (thumbnail and preview made
              for each), --clients uploading at once for --seconds
  s3-floor    (--backend s3) the store's own floor for send-10mb: the four transfers of the path
              without parleyd (client PUT, server GET, server PUT, recipient's first byte)
  rss-1gb     parleyd's resident memory sampled every 50 ms during one 1 GB upload and its
              media.complete (with s3: parleyd GETs the object to disk and PUTs it back)

Usage: PARLEYD=build/src/app/parleyd bench/media.py [send-10mb|event|images|rss-1gb|all] [--runs N]
Prints one JSON object per measure. Backends: --backend local (default) or s3 with --s3-port
of a running s3rver (node tests/s3presign/s3rver.mjs DIR --lifetime 0).
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import HIGH_RATE, ParleyServer as Server  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def send_file(server, sender, peer_id, body, content_type, name):
    reply = sender.ok("media.upload", size=len(body), content_type=content_type, file_name=name)
    up = reply["upload"]
    url = up["url"] if up["url"].startswith("http") else server.base + up["url"]
    r = requests.put(url, data=body, headers=up["headers"], timeout=120)
    assert r.status_code == 200, r.text
    sender.ok("media.complete", media_id=reply["media_id"])
    ack = sender.ok("send", to_user_id=peer_id, client_msg_id=uuid.uuid4().hex,
                    attachments=[{"media_id": reply["media_id"]}])
    return reply["media_id"], ack


def bench_send_10mb(server, runs):
    alice, bob = server.register(), server.register()
    a, b = alice.connect(), bob.connect()
    body = os.urandom(10 * 1000 * 1000)
    totals, uploads = [], []
    for _ in range(runs):
        start = time.perf_counter()
        media_id, ack = send_file(server, a, bob.id, body, "application/octet-stream", "big.bin")
        uploaded = time.perf_counter()
        b.wait_events(lambda e: e["conversation_id"] == ack["conversation_id"] and e["seq"] == ack["seq"])
        url = b.ok("media.urls", media_ids=[media_id])["media"][0]["url"]
        url = url if url.startswith("http") else server.base + url
        with requests.get(url, stream=True, timeout=60) as r:
            assert r.status_code == 200
            first = next(r.iter_content(1))
            assert len(first) == 1
        totals.append((time.perf_counter() - start) * 1000)
        uploads.append((uploaded - start) * 1000)
    return {"measure": "send-10mb", "runs": runs, "p50_ms": round(percentile(totals, 50), 1),
            "p99_ms": round(percentile(totals, 99), 1), "max_ms": round(max(totals), 1),
            "upload_complete_send_p50_ms": round(percentile(uploads, 50), 1)}


def bench_s3_floor(port, runs):
    body = os.urandom(10 * 1000 * 1000)
    base = f"http://127.0.0.1:{port}/parley-media/floor/"
    totals = []
    for i in range(runs):
        start = time.perf_counter()
        assert requests.put(base + f"u{i}", data=body, timeout=60).status_code == 200
        fetched = requests.get(base + f"u{i}", timeout=60).content
        assert requests.put(base + f"m{i}", data=fetched, timeout=60).status_code == 200
        with requests.get(base + f"m{i}", stream=True, timeout=60) as r:
            assert len(next(r.iter_content(1))) == 1
        totals.append((time.perf_counter() - start) * 1000)
        for key in (f"u{i}", f"m{i}"):
            requests.delete(base + key, timeout=60)
    return {"measure": "s3-floor", "runs": runs, "p50_ms": round(percentile(totals, 50), 1),
            "p99_ms": round(percentile(totals, 99), 1)}


def photo(width, height, quality):
    """A noisy JPEG (hard to compress, like a photo) made by libvips."""
    directory = tempfile.mkdtemp()
    raw = os.path.join(directory, "noise.v")
    out = os.path.join(directory, "photo.jpg")
    subprocess.run(["vips", "gaussnoise", raw, str(width), str(height), "--sigma", "40", "--mean", "128"], check=True)
    subprocess.run(["vips", "bandjoin", f"{raw} {raw} {raw}", os.path.join(directory, "rgb.v")], check=True)
    subprocess.run(["vips", "cast", os.path.join(directory, "rgb.v"), os.path.join(directory, "rgb8.v"), "uchar"],
                   check=True)
    subprocess.run(["vips", "copy", os.path.join(directory, "rgb8.v"), f"{out}[Q={quality}]"], check=True)
    data = open(out, "rb").read()
    subprocess.run(["rm", "-rf", directory])
    return data


def bench_event(server):
    alice, bob = server.register(), server.register()
    a, b = alice.connect(), bob.connect()
    body = photo(4032, 3024, 85)   # a 12-megapixel phone photo's size
    media_id, ack = send_file(server, a, bob.id, body, "image/jpeg", "IMG_20261207_093512.jpg")
    b.wait_events(lambda e: e["seq"] == ack["seq"] and e["conversation_id"] == ack["conversation_id"])
    frame = [f for f in b.frames if f.get("type") == "event" and f["event"]["seq"] == ack["seq"]][0]
    attachment = frame["event"]["attachments"][0]
    return {"measure": "event", "event_frame_bytes": len(json.dumps(frame, separators=(",", ":")).encode()),
            "preview_base64_bytes": len(attachment.get("preview", "")), "photo_bytes": len(body),
            "width": attachment["width"], "height": attachment["height"]}


def bench_images(server, clients, seconds):
    body = photo(380, 380, 92)   # about 100 KB
    users = [server.register() for _ in range(clients)]
    counts = [0] * clients
    latencies = []
    stop = time.time() + seconds

    def worker(i):
        c = users[i].connect(timeout=60)
        while time.time() < stop:
            t0 = time.perf_counter()
            reply = c.ok("media.upload", size=len(body), content_type="image/jpeg", file_name="p.jpg")
            up = reply["upload"]
            url = up["url"] if up["url"].startswith("http") else server.base + up["url"]
            assert requests.put(url, data=body, headers=up["headers"], timeout=60).status_code == 200
            done = c.ok("media.complete", media_id=reply["media_id"])
            assert done["media"]["thumbnail"] is True
            latencies.append((time.perf_counter() - t0) * 1000)
            counts[i] += 1
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    return {"measure": "images", "image_bytes": len(body), "clients": clients, "seconds": round(elapsed, 1),
            "completed": sum(counts), "per_second": round(sum(counts) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1)}


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_rss(server):
    alice = server.register()
    c = alice.connect(timeout=120)
    size = 1024 * 1024 * 1024
    reply = c.ok("media.upload", size=size, content_type="application/octet-stream", file_name="huge.bin")
    up = reply["upload"]
    url = up["url"] if up["url"].startswith("http") else server.base + up["url"]
    samples = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(rss_kib(server.proc.pid))
            time.sleep(0.05)

    block = os.urandom(1 << 20)

    def pieces():
        for _ in range(size // len(block)):
            yield block

    sampler = threading.Thread(target=sample)
    before = rss_kib(server.proc.pid)
    sampler.start()
    start = time.time()
    # http.client sends an iterable body as is when Content-Length is set (requests would
    # switch to chunked encoding, which the upload route refuses).
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)
    connection.request("PUT", parsed.path + "?" + parsed.query, body=pieces(), headers=up["headers"])
    status = connection.getresponse().status
    elapsed = time.time() - start
    assert status == 200, status
    completing = time.time()
    c.ok("media.complete", media_id=reply["media_id"])
    completed = time.time() - completing
    done.set()
    sampler.join()
    return {"measure": "rss-1gb", "rss_before_kib": before, "rss_max_kib": max(samples), "rss_min_kib": min(samples),
            "samples": len(samples), "upload_seconds": round(elapsed, 1),
            "upload_mb_per_s": round(size / elapsed / 1e6, 1), "complete_seconds": round(completed, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="all")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--s3-port", type=int, default=0)
    args = parser.parse_args()
    extra = ["--media.max_file_bytes", str(2 << 30), "--media.user_quota_bytes", "0",
             "--media.max_pending_uploads", "100000"]
    if args.backend == "s3":
        extra += ["--media.backend", "s3", "--media.s3.endpoint", f"http://127.0.0.1:{args.s3_port}",
                  "--media.s3.bucket", "parley-media", "--media.s3.access_key", "S3RVER",
                  "--media.s3.secret_key", "S3RVER"]
    server = Server(*HIGH_RATE, *extra).start()
    try:
        for what in (["event", "send-10mb", "images", "rss-1gb"] if args.what == "all" else [args.what]):
            if what == "send-10mb":
                result = bench_send_10mb(server, args.runs)
            elif what == "s3-floor":
                result = bench_s3_floor(args.s3_port, args.runs)
            elif what == "event":
                result = bench_event(server)
            elif what == "images":
                result = bench_images(server, args.clients, args.seconds)
            else:
                result = bench_rss(server)
            result["backend"] = args.backend
            print(json.dumps(result), flush=True)
    finally:
        server.stop()
        server.cleanup()


if __name__ == "__main__":
    main()
