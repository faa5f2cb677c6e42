"""Prints the median (and range) of the main figures of each scenario in a results folder.

    summarize.py [FOLDER]              (default bench/results)
    summarize.py FOLDER BASELINE       each figure beside the baseline's, and FOLDER / BASELINE

Sections that bench/cluster.sh merges into cluster results (bus, cluster, cpu_components) are
printed whole when present."""
import glob
import json
import os
import statistics
import sys

FIGURES = {
    "direct-flat": [("results", "acked_per_s"), ("results", "delivered_per_s"), ("latency_delivery", "p50_ms"),
                    ("latency_delivery", "p99_ms"), ("latency_ack", "p99_ms"), ("server", "cpu_percent"),
                    ("bench", "cpu_percent")],
    "direct-rate": [("results", "delivered_per_s"), ("latency_delivery", "p50_ms"), ("latency_delivery", "p99_ms"),
                    ("latency_delivery", "p999_ms"), ("latency_delivery", "max_ms"), ("latency_ack", "p50_ms"),
                    ("latency_ack", "p99_ms"), ("server", "cpu_percent")],
    "direct-rate1k": [("results", "delivered_per_s"), ("latency_delivery", "p50_ms"), ("latency_delivery", "p99_ms"),
                      ("latency_delivery", "max_ms"), ("latency_ack", "p50_ms"), ("latency_ack", "p99_ms"),
                      ("server", "cpu_percent")],
    "group-100": [("results", "messages_per_s"), ("results", "deliveries_per_s"), ("latency_last_member", "p50_ms"),
                  ("latency_last_member", "p99_ms"), ("results", "messages_incomplete"), ("server", "cpu_percent"),
                  ("bench", "cpu_percent")],
    "group-1000": [("results", "messages_per_s"), ("results", "deliveries_per_s"), ("latency_last_member", "p50_ms"),
                   ("latency_last_member", "p99_ms"), ("results", "messages_incomplete"), ("server", "cpu_percent"),
                   ("bench", "cpu_percent")],
    "history": [("latest_page", "p50_ms"), ("latest_page", "p99_ms"), ("paging_back", "p50_ms"),
                ("paging_back", "p99_ms"), ("sync_after_missed", "p50_ms"), ("sync_after_missed", "p99_ms"),
                ("results", "sync_events")],
    "connections": [("results", "live"), ("results", "connects_per_s"), ("results", "server_bytes_per_connection"),
                    ("results", "server_rss_idle_mb"), ("results", "server_rss_held_mb"),
                    ("results", "bench_bytes_per_connection")],
    "storm": [("results", "resync_seconds"), ("results", "reconnects_per_s"), ("results", "messages_lost"),
              ("results", "messages_duplicated")],
    "node-kill": [("results", "clients_disconnected"), ("results", "resync_seconds"), ("client_back", "p50_ms"),
                  ("client_back", "p99_ms"), ("client_resync", "p50_ms"), ("client_resync", "p99_ms"),
                  ("message_without_drop", "p50_ms"), ("message_without_drop", "p99_ms"), ("results", "messages_lost"),
                  ("results", "messages_duplicated")],
}
WHOLE_SECTIONS = ("bus", "cluster", "cpu_components")


def load(folder, scenario):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, f"{scenario}-*.json")))]


def values(runs, section, key):
    return [r.get(section, {}).get(key) for r in runs if isinstance(r.get(section, {}).get(key), (int, float))]


def stats(v):
    return f"median {statistics.median(v):.2f}  (min {min(v):.2f}, max {max(v):.2f})"


def line(runs, baseline, section, key):
    v = values(runs, section, key)
    if not v:
        return
    text = f"  {section}.{key}: {stats(v)}"
    if baseline is not None:
        b = values(baseline, section, key)
        if b:
            text += f"  | baseline {stats(b)}"
            if statistics.median(b):
                text += f"  | ratio {statistics.median(v) / statistics.median(b):.2f}"
    print(text)

folder = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
baseline_folder = sys.argv[2] if len(sys.argv) > 2 else None
for scenario, figures in FIGURES.items():
    runs = load(folder, scenario)
    if not runs:
        continue
    baseline = load(baseline_folder, scenario) if baseline_folder else None
    print(f"{scenario} ({len(runs)} runs" + (f", baseline {len(baseline)} runs)" if baseline is not None else ")"))
    for section, key in figures:
        line(runs, baseline, section, key)
    for section in WHOLE_SECTIONS:
        keys = sorted({k for r in runs for k in r.get(section, {})})
        for key in keys:
            line(runs, baseline, section, key)
micro = os.path.join(folder, "micro.json")
if os.path.exists(micro):
    print("micro-benchmarks (median of repetitions)")
    for b in json.load(open(micro))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            print(f"  {b['run_name']}: {b['cpu_time']:.2f} {b['time_unit']} cpu/iteration")
