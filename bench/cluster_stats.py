"""What bench/cluster.sh reads from a local cluster (tests/integration/cluster.py's state file)
around each parley-bench run: CPU of every component, bus traffic and the nodes' cluster
counters. Loopback only; every loop is bounded.

    cluster_stats.py sample STATE OUT [MAX_S]    CPU seconds of every component, every 0.25 s, one
                                                 JSON line each, until killed (or MAX_S, default 300)
    cluster_stats.py snapshot STATE OUT          counters now: NATS connections (/connz), node metrics
    cluster_stats.py quiet MAX_PERCENT MAX_S     waits (at most MAX_S) until the machine's CPU use over
                                                 2 s is below MAX_PERCENT (of all cores); prints it
    cluster_stats.py stamp OUT                   parley-bench's progress lines (its stderr, on stdin)
                                                 with the time each arrived; other lines go to stderr
    cluster_stats.py merge RESULT BEFORE AFTER SAMPLES [--progress STAMPS] [--no-bus]
                                                 adds "bus", "cluster" and "cpu_components" sections to
                                                 a parley-bench JSON result; CPU over the measured window
                                                 (run.seconds ending at the last progress line), or the
                                                 busiest window of that length without STAMPS
    cluster_stats.py subscriptions STATE         each node's NATS subscriptions (subjects)

Components: parleyd-N, nats (all servers), redis, postgres-primary and postgres-standby (the
postmaster and every child, exited children included through cutime/cstime), haproxy.
"""
import glob
import json
import os
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def http_text(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode(errors="replace")


def proc_stat(pid):
    """(ppid, own cpu seconds, reaped children's cpu seconds) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def postmaster_pid(data_dir):
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def all_stats():
    stats = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        pid = int(path.split("/")[2])
        s = proc_stat(pid)
        if s:
            stats[pid] = s
    return stats


def machine_busy_seconds():
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK  # user nice system idle iowait irq softirq steal


def cpu_by_component(state):
    """{component: cumulative CPU seconds} now, and "machine": every process and the kernel."""
    stats = all_stats()
    out = {"machine": machine_busy_seconds()}
    for c in state["components"]:
        kind, name = c["kind"], c["component"]
        if kind == "postgres":
            root = postmaster_pid(c["data"])
            if root not in stats:
                continue
            total = stats[root][1] + stats[root][2]
            total += sum(own + reaped for pid, (ppid, own, reaped) in stats.items() if ppid == root)
            out[name] = total
        else:
            pid = c.get("pid")
            if pid in stats:
                key = "nats" if kind == "nats" else name
                out[key] = out.get(key, 0.0) + stats[pid][1]
    return out


def bus_counters(state):
    """The nodes' NATS traffic and commit counters now (None if a node or server does not answer)."""
    try:
        snap = snapshot_of(state)
    except (OSError, ValueError, KeyError):
        return None
    counters = {k: sum(c[k] for c in snap["nats"]) for k in ("in_msgs", "in_bytes", "out_msgs", "out_bytes")}
    counters["events"] = total(snap, "parley_events_committed_total")
    counters["batches"] = total(snap, "parley_bus_batches_published_total")
    return counters


def sample(state_path, out_path, max_s=300.0):
    """CPU every 0.25 s; with a cluster up, its bus counters every second."""
    with open(state_path) as f:
        state = json.load(f)
    has_nodes = any(c["kind"] == "parleyd" for c in state["components"])
    deadline = time.monotonic() + max_s
    tick = 0
    with open(out_path, "w") as out:
        while time.monotonic() < deadline:
            record = {"t": time.monotonic(), "cpu": cpu_by_component(state)}
            record["cpu"]["sampler"] = time.process_time()  # this process: its cost is measured too
            if has_nodes and tick % 4 == 0:
                bus = bus_counters(state)
                if bus:
                    record["bus"] = bus
            out.write(json.dumps(record) + "\n")
            out.flush()
            tick += 1
            time.sleep(0.25)


def wait_quiet(max_percent, max_s):
    """Waits until the machine's busy CPU over 2 s is below max_percent (100 = one core), at most
    max_s seconds; returns the last reading, so that a run on a busy machine says so."""
    deadline = time.monotonic() + max_s
    while True:
        a, t = machine_busy_seconds(), time.monotonic()
        time.sleep(2)
        busy = 100.0 * (machine_busy_seconds() - a) / (time.monotonic() - t)
        if busy < max_percent or time.monotonic() >= deadline:
            return round(busy)


def prometheus(text):
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def snapshot(state_path):
    with open(state_path) as f:
        return snapshot_of(json.load(f))


def snapshot_of(state):
    snap = {"t": time.monotonic(), "nats": [], "nodes": {}}
    for c in state["components"]:
        if c["kind"] == "nats":
            connz = json.loads(http_text(f"http://127.0.0.1:{c['monitor_port']}/connz?subs=1&limit=1024"))
            for conn in connz.get("connections", []):
                snap["nats"].append({"server": c["component"], "name": conn.get("name", ""),
                                     "in_msgs": conn["in_msgs"], "in_bytes": conn["in_bytes"],
                                     "out_msgs": conn["out_msgs"], "out_bytes": conn["out_bytes"],
                                     "subscriptions": conn.get("subscriptions_list", [])})
        elif c["kind"] == "parleyd":
            try:
                snap["nodes"][c["component"]] = prometheus(http_text(f"http://127.0.0.1:{c['metrics_port']}/metrics"))
            except OSError as e:
                snap["nodes"][c["component"]] = {"error": str(e)}
    return snap


def total(snap, metric):
    return sum(m.get(metric, 0.0) for m in snap["nodes"].values())


PROGRESS = ("t=", "re-synced:")  # parley-bench's progress lines of the measured phase


def stamp(out_path):
    """Reads parley-bench's stderr: each progress line (ended by \\r or \\n) with its arrival time."""
    buffer = b""
    with open(out_path, "w") as out:
        while True:
            chunk = sys.stdin.buffer.read1(4096)
            if not chunk:
                break
            buffer += chunk
            while True:
                cut = min((i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0), default=-1)
                if cut < 0:
                    break
                line, buffer = buffer[:cut].decode(errors="replace").strip(), buffer[cut + 1:]
                if not line:
                    continue
                out.write(f"{time.monotonic():.4f}\t{line}\n")
                out.flush()
                if not line.startswith(PROGRESS + ("connecting:", "receivers:")):
                    print(line, file=sys.stderr, flush=True)


def measured_end(stamps_path):
    """Arrival time of the last progress line of the measured phase (printed as it ends), or None."""
    end = None
    with open(stamps_path) as f:
        for line in f:
            t, _, text = line.rstrip("\n").partition("\t")
            if text.startswith(PROGRESS):
                end = float(t)
    return end


def cpu_at(samples, t):
    """Each component's cumulative CPU seconds at time t, interpolated between samples."""
    after = next((i for i, s in enumerate(samples) if s["t"] >= t), len(samples) - 1)
    a, b = samples[max(0, after - 1)], samples[after]
    f = 0.0 if b["t"] == a["t"] else min(1.0, max(0.0, (t - a["t"]) / (b["t"] - a["t"])))
    return {k: a["cpu"].get(k, v) + f * (v - a["cpu"].get(k, v)) for k, v in b["cpu"].items()}


def window_bus(samples, end, seconds):
    """The bus traffic of [end - seconds, end], interpolated between the per-second counters."""
    points = [{"t": s["t"], "cpu": s["bus"]} for s in samples if "bus" in s]
    start = end - seconds
    if len(points) < 2 or points[0]["t"] > start + 1.0 or points[-1]["t"] < end - 1.0:
        return {}
    a, b = cpu_at(points, start), cpu_at(points, end)
    d = {k: b[k] - a[k] for k in b}
    out = {"window_events": round(d["events"]), "window_batches": round(d["batches"])}
    if d["batches"] > 0:
        out["window_events_per_batch"] = round(d["events"] / d["batches"], 2)
        out["window_bytes_per_batch"] = round(d["in_bytes"] / d["batches"], 1)
    if d["events"] > 0:
        out["window_published_bytes_per_event"] = round(d["in_bytes"] / d["events"], 1)
        out["window_delivered_bytes_per_event"] = round(d["out_bytes"] / d["events"], 1)
    out["window_published_mb_per_s"] = round(d["in_bytes"] / seconds / 1e6, 3)
    out["window_delivered_mb_per_s"] = round(d["out_bytes"] / seconds / 1e6, 3)
    return out


def window_cpu(samples, end, seconds):
    """Per-component CPU % over [end - seconds, end]."""
    start = end - seconds
    if len(samples) < 2 or samples[0]["t"] > start + 0.25 or samples[-1]["t"] < end - 0.25:
        return {}
    a, b = cpu_at(samples, start), cpu_at(samples, end)
    return {k: round(100.0 * (b[k] - a.get(k, 0.0)) / seconds, 1) for k in b} | {"window_s": round(seconds, 2)}


def busiest_window(samples, seconds):
    """Per-component CPU % over the `seconds`-long stretch of samples with the most CPU in total."""
    best, best_sum = None, -1.0
    j = 0
    for i in range(len(samples)):
        while j < len(samples) and samples[j]["t"] - samples[i]["t"] < seconds:
            j += 1
        if j >= len(samples):
            break
        a, b = samples[i], samples[j]
        used = sum(b["cpu"].get(k, 0.0) - a["cpu"].get(k, 0.0) for k in b["cpu"] if k != "machine")
        if used > best_sum:
            best, best_sum = (a, b), used
    if best is None and len(samples) >= 2:
        best = (samples[0], samples[-1])
    if best is None:
        return {}
    a, b = best
    span = b["t"] - a["t"]
    return {k: round(100.0 * (b["cpu"][k] - a["cpu"].get(k, 0.0)) / span, 1) for k in b["cpu"]} | {
        "window_s": round(span, 2)}


def merge(result_path, before_path, after_path, samples_path, bus=True, stamps_path=None):
    with open(result_path) as f:
        result = json.load(f)
    if bus:
        with open(before_path) as f:
            before = json.load(f)
        with open(after_path) as f:
            after = json.load(f)
        # The nodes' connections to NATS (named or not: parleyd's are the only clients).
        def sums(snap):
            keys = ("in_msgs", "in_bytes", "out_msgs", "out_bytes")
            return {k: sum(c[k] for c in snap["nats"]) for k in keys}
        b, a = sums(before), sums(after)
        d = {k: a[k] - b[k] for k in a}
        batches = total(after, "parley_bus_batches_published_total") - total(before, "parley_bus_batches_published_total")
        received = total(after, "parley_bus_batches_received_total") - total(before, "parley_bus_batches_received_total")
        events = total(after, "parley_events_committed_total") - total(before, "parley_events_committed_total")
        bus_section = {"published_msgs": d["in_msgs"], "published_bytes": d["in_bytes"],
                       "delivered_msgs": d["out_msgs"], "delivered_bytes": d["out_bytes"],
                       "batches_published": batches, "batches_received": received, "events_committed": events}
        if d["in_msgs"]:
            bus_section["bytes_per_published_msg"] = round(d["in_bytes"] / d["in_msgs"], 1)
        if batches:
            bus_section["events_per_batch"] = round(events / batches, 2)
        if events:
            bus_section["published_bytes_per_event"] = round(d["in_bytes"] / events, 1)
            bus_section["delivered_bytes_per_event"] = round(d["out_bytes"] / events, 1)
        result["bus"] = bus_section
        counters = ("parley_cluster_fills_total", "parley_cluster_filled_events_total",
                    "parley_cluster_stale_batches_total", "parley_bus_publish_dropped_total",
                    "parley_bus_messages_refused_total", "parley_directory_failures_total",
                    "parley_ws_slow_consumer_closes_total", "parley_ws_write_timeouts_total",
                    "parley_ws_rate_limited_frames_total", "parley_cluster_requests_refused_total",
                    "parley_cluster_sessions_refused_total")
        result["cluster"] = {name.removeprefix("parley_"): total(after, name) - total(before, name)
                             for name in counters}
        result["cluster"]["bus_connected_nodes"] = total(after, "parley_bus_connected")
    samples = []
    with open(samples_path) as f:
        for line in f:
            try:
                samples.append(json.loads(line))
            except ValueError:
                pass  # the last line, cut by the kill
    seconds = float(result.get("run", {}).get("seconds", 10))
    end = measured_end(stamps_path) if stamps_path else None
    cpu = window_cpu(samples, end, seconds) if end else busiest_window(samples, seconds)
    if bus and end:
        result["bus"].update(window_bus(samples, end, seconds))
    if "machine" in cpu:
        # What else ran: the machine's busy time less the components, the generator and (single
        # node) the spawned parleyd; includes the kernel's network work not charged to a process.
        known = sum(v for k, v in cpu.items() if k not in ("machine", "window_s"))
        known += result.get("bench", {}).get("cpu_percent", 0.0)
        if "pids" not in result.get("server", {}):
            known += result.get("server", {}).get("cpu_percent", 0.0)
        cpu["other"] = round(cpu["machine"] - known, 1)
    result["cpu_components"] = cpu
    with open(result_path, "w") as f:
        json.dump(result, f, indent=1)


def subscriptions(state_path):
    snap = snapshot(state_path)
    for conn in snap["nats"]:
        print(f"{conn['server']}: client {conn['name'] or '(unnamed)'}: {', '.join(sorted(conn['subscriptions']))}")


def main(argv):
    if len(argv) >= 3 and argv[0] == "sample":
        sample(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 300.0)
    elif len(argv) == 3 and argv[0] == "snapshot":
        with open(argv[2], "w") as f:
            json.dump(snapshot(argv[1]), f)
    elif len(argv) == 3 and argv[0] == "quiet":
        print(wait_quiet(float(argv[1]), float(argv[2])))
    elif len(argv) == 2 and argv[0] == "stamp":
        stamp(argv[1])
    elif len(argv) >= 5 and argv[0] == "merge":
        stamps = argv[argv.index("--progress") + 1] if "--progress" in argv else None
        merge(argv[1], argv[2], argv[3], argv[4], bus="--no-bus" not in argv, stamps_path=stamps)
    elif len(argv) == 2 and argv[0] == "subscriptions":
        subscriptions(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
