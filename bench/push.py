#!/usr/bin/env python3
"""Push benchmarks (issue 15; docs/benchmarks.md "Push"). Starts its own parleyd (the harness
of tests/integration) on loopback, and a push service in this process that answers 201 and
records when each notification arrived.

  latency   offline recipients with a webhook (or Web Push) subscription; one sender sends to
            each in turn at --rate messages/s for --seconds. Measures the time from the send
            (just before the frame leaves) to the notification's arrival at the push service:
            p50 / p99 / max, and how many arrived.

Usage: PARLEYD=build/src/app/parleyd bench/push.py latency [--kind webhook|webpush]
       [--users N] [--rate R] [--seconds S]
Prints one JSON object.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import HIGH_RATE, ParleyServer as Server  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Receiver:
    def __init__(self):
        self.arrivals = {}  # path -> [time]
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                with receiver.lock:
                    receiver.arrivals.setdefault(self.path, []).append(now)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def browser_keys():
    script = ("const c=require('crypto').createECDH('prime256v1');c.generateKeys();"
              "console.log(c.getPublicKey('base64url'))")
    public = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.strip()
    return public, base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def bench_latency(server, receiver, kind, users, rate, seconds):
    sender = server.register().connect()
    recipients = []
    for i in range(users):
        user = server.register()
        c = user.connect()
        path = f"/u{i}"
        sub = {"kind": kind, "endpoint": f"http://127.0.0.1:{receiver.port}{path}"}
        if kind == "webpush":
            public, auth = browser_keys()
            sub["keys"] = {"p256dh": public, "auth": auth}
        c.ok("push.subscribe", **sub)
        c.close()  # offline from now on
        conversation = sender.send_text(to_user_id=user.id, text="hi")["conversation_id"]
        recipients.append((path, conversation))
    # Let the notifications of the first messages go out and be forgotten.
    time.sleep(2)
    with receiver.lock:
        receiver.arrivals.clear()
    sent = {}  # path -> [send time]
    interval = 1.0 / rate
    start = time.time()
    n = 0
    while time.time() - start < seconds:
        path, conversation = recipients[n % len(recipients)]
        # One message per recipient at a time: a second one would collapse into the first
        # notification while it waits, and the measure is of single notifications.
        at = time.time()
        sender.send_text(conversation_id=conversation, text=f"message {n}")
        sent.setdefault(path, []).append(at)
        n += 1
        next_at = start + n * interval
        pause = next_at - time.time()
        if pause > 0:
            time.sleep(pause)
    time.sleep(3)
    latencies, missing = [], 0
    with receiver.lock:
        for path, times in sent.items():
            arrived = receiver.arrivals.get(path, [])
            for i, t in enumerate(times):
                if i < len(arrived):
                    latencies.append((arrived[i] - t) * 1000)
                else:
                    missing += 1
    return {"measure": "push-latency", "kind": kind, "users": users, "rate": rate, "seconds": seconds,
            "sent": n, "notified": len(latencies), "collapsed_or_missing": missing,
            "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("measure", choices=["latency"])
    parser.add_argument("--kind", choices=["webhook", "webpush"], default="webhook")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as data:
        server = Server(*HIGH_RATE, "--push.allow_http_endpoints", "true", "--push.allow_private_networks", "true",
                        data_dir=data).start()
        try:
            print(json.dumps(bench_latency(server, receiver, args.kind, args.users, args.rate, args.seconds)))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
