"""Summarizes bench/latency-curve.sh's runs: the median (and range) per binary and offered load
as a Markdown table on stdout, and with gnuplot a PNG of ack p50/p99 against the delivered rate,
log scale, next to the disk's floor (p50/p99 of an 8 KiB append + fdatasync)."""
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys

out = sys.argv[1]
rows = collections.defaultdict(list)
with open(os.path.join(out, "curve.tsv")) as f:
    next(f)
    for line in f:
        label, offered, _run, acked, p50, p99, cpu = line.rstrip("\n").split("\t")
        rows[(label, int(offered))].append((float(acked), float(p50), float(p99), float(cpu)))
floor = json.load(open(os.path.join(out, "floor.json")))
labels = list(dict.fromkeys(k[0] for k in rows))


def median(values):
    return statistics.median(values)


print("| build | offered msg/s | delivered msg/s | ack p50 ms | ack p99 ms (min–max) | server CPU |")
print("|---|---|---|---|---|---|")
series = {}
for label in labels:
    points = []
    for (l, offered), runs in sorted(rows.items(), key=lambda kv: (kv[0][1] == 0, kv[0][1])):
        if l != label:
            continue
        acked, p50, p99, cpu = (median([r[i] for r in runs]) for i in range(4))
        lo, hi = min(r[2] for r in runs), max(r[2] for r in runs)
        print(f"| {label} | {'flat out' if offered == 0 else f'{offered:,}'} | {acked:,.0f} | {p50:.1f} | "
              f"{p99:.1f} ({lo:.1f}–{hi:.1f}) | {cpu:.0f}% |")
        points.append((acked, p50, p99))
    series[label] = points
print(f"\ndisk floor ({floor['bytes']} B append + fdatasync): p50 {floor['p50_us'] / 1000:.2f} ms, "
      f"p99 {floor['p99_us'] / 1000:.2f} ms")

if shutil.which("gnuplot"):
    data = os.path.join(out, "curve.dat")
    with open(data, "w") as f:
        for label in labels:
            f.write(f"# {label}\n")
            for acked, p50, p99 in series[label]:
                f.write(f"{acked:.0f} {p50:.3f} {p99:.3f}\n")
            f.write("\n\n")
    plots = []
    for i, label in enumerate(labels):
        plots.append(f"'{data}' index {i} using 1:3 with linespoints lw 2 title '{label} p99'")
        plots.append(f"'{data}' index {i} using 1:2 with linespoints dt 2 title '{label} p50'")
    plots.append(f"{floor['p99_us'] / 1000:.3f} with lines lc rgb 'black' dt 3 title 'disk floor p99 (8 KiB append + fdatasync)'")
    script = "\n".join([
        "set terminal pngcairo size 900,560",
        f"set output '{os.path.join(out, 'latency-curve.png')}'",
        "set title 'parley-bench direct: ack latency against delivered rate (median of runs)'",
        "set xlabel 'delivered messages/s'", "set ylabel 'ack latency, ms (log)'",
        "set logscale y", "set grid", "set key top left",
        "plot " + ", ".join(plots)])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
