"""parley-bench: every scenario runs briefly with tiny parameters; its JSON has sane fields.
(The numbers themselves are measured in docs/benchmarks.md, not asserted here.)"""
import json
import os
import subprocess

import pytest

from harness import PARLEYD

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BENCH = os.environ.get("PARLEY_BENCH", os.path.join(ROOT, "build", "tools", "bench", "parley-bench"))


def run_bench(tmp_path, *args):
    out = tmp_path / "result.json"
    r = subprocess.run([BENCH, "--quiet", "--spawn-server", PARLEYD, "--out", str(out), *args],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr + r.stdout
    result = json.loads(out.read_text())
    assert result["machine"]["cpus"] >= 1 and result["run"]["seconds"] > 0
    assert result["server"]["pid"] > 0 and result["server"]["rss_mb"] > 0
    return result


def assert_latency(section):
    assert section["count"] > 0
    assert 0 <= section["p50_ms"] <= section["p90_ms"] <= section["p99_ms"] <= section["p999_ms"] <= section["max_ms"]


def test_direct(tmp_path):
    r = run_bench(tmp_path, "direct", "--pairs", "5", "--duration", "1", "--warmup", "0.3")
    res = r["results"]
    assert res["acked_per_s"] > 0 and res["delivered_per_s"] > 0 and res["errors"] == 0
    assert_latency(r["latency_delivery"])
    assert_latency(r["latency_ack"])


def test_direct_with_presence_churn(tmp_path):
    # 20 more users in pairs of peers, each switching away/online every 0.5 s: about 40
    # switches/s, each a presence frame for its peer.
    r = run_bench(tmp_path, "direct", "--pairs", "3", "--duration", "2", "--warmup", "0.5",
                  "--presence-users", "20", "--presence-period", "0.5")
    res = r["results"]
    assert r["params"]["presence_users"] == 20
    assert res["presence_sets_per_s"] > 10 and res["presence_set_errors"] == 0
    assert res["presence_frames_per_s"] > 0
    assert res["errors"] == 0 and res["delivered_per_s"] > 0


def test_direct_with_latency_plot(tmp_path):
    png = tmp_path / "latency.png"
    run_bench(tmp_path, "--plot", str(png), "direct", "--pairs", "3", "--duration", "1", "--warmup", "0.3")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert not (tmp_path / "latency.png.gp").exists()  # the script and data are cleaned up


def test_plot_of_a_scenario_without_latency_is_refused(tmp_path):
    r = subprocess.run([BENCH, "--quiet", "--spawn-server", PARLEYD, "--plot", str(tmp_path / "x.png"),
                        "connections", "--connections", "10", "--hold", "0.1"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "measures no latency" in r.stderr


def test_direct_fixed_rate(tmp_path):
    r = run_bench(tmp_path, "direct", "--pairs", "4", "--rate", "50", "--duration", "1", "--warmup", "0.3")
    # 4 senders at 50/s: about 200 messages/s, far from flat out.
    assert 100 < r["results"]["acked_per_s"] < 300


def test_group(tmp_path):
    r = run_bench(tmp_path, "group", "--group-size", "20", "--senders", "2", "--duration", "1", "--warmup", "0.3")
    res = r["results"]
    assert res["deliveries_per_s"] > res["messages_per_s"] > 0
    assert res["messages_complete"] > 0
    assert_latency(r["latency_last_member"])


def test_connections(tmp_path):
    r = run_bench(tmp_path, "connections", "--connections", "200", "--hold", "0.5")
    res = r["results"]
    assert res["live"] == 200 and res["failed"] == 0 and res["connects_per_s"] > 0
    assert "server_bytes_per_connection" in res


def test_reconnect_storm(tmp_path):
    r = run_bench(tmp_path, "reconnect-storm", "--clients", "50", "--backoff-base-ms", "50", "--backoff-cap-ms", "500")
    res = r["results"]
    assert res["completed"] == 1 and res["messages_lost"] == 0 and res["messages_duplicated"] == 0
    assert res["resync_seconds"] > 0


def test_history(tmp_path):
    r = run_bench(tmp_path, "history", "--messages", "300", "--iterations", "50", "--page", "50")
    assert_latency(r["latest_page"])
    assert_latency(r["paging_back"])
    assert r["results"]["pages_back"] >= 5


def test_history_sync_over_several_conversations(tmp_path):
    # 100 missed messages after the fill, round-robin over 10 direct chats, synced in pages of 50.
    r = run_bench(tmp_path, "history", "--messages", "200", "--iterations", "10", "--missed", "100",
                  "--missed-conversations", "10", "--sync-iterations", "3", "--sync-limit", "50")
    assert_latency(r["sync_after_missed"])
    assert r["sync_after_missed"]["count"] == 3
    assert r["params"]["missed_conversations"] == 10
    assert r["results"]["sync_events"] == 100 and r["results"]["sync_pages"] == 2


def test_bad_arguments():
    r = subprocess.run([BENCH, "direct", "--pairs", "x"], capture_output=True, text=True)
    assert r.returncode != 0
    r = subprocess.run([BENCH, "direct"], capture_output=True, text=True)
    assert r.returncode == 2 and "--server" in r.stderr
