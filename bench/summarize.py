"""Prints the median (and range) of the main figures of each scenario in a results folder."""
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
                    ("latency_delivery", "p999_ms"), ("latency_delivery", "max_ms"), ("server", "cpu_percent")],
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
}

folder = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
for scenario, figures in FIGURES.items():
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, f"{scenario}-*.json")))]
    if not runs:
        continue
    print(f"{scenario} ({len(runs)} runs)")
    for section, key in figures:
        values = [r.get(section, {}).get(key) for r in runs if r.get(section, {}).get(key) is not None]
        if values:
            print(f"  {section}.{key}: median {statistics.median(values):.2f}  (min {min(values):.2f}, max {max(values):.2f})")
micro = os.path.join(folder, "micro.json")
if os.path.exists(micro):
    print("micro-benchmarks (median of repetitions)")
    for b in json.load(open(micro))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            print(f"  {b['run_name']}: {b['cpu_time']:.2f} {b['time_unit']} cpu/iteration")
