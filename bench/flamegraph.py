#!/usr/bin/env python3
"""A flame graph (SVG) from `perf script` output, for docs/ and for finding where CPU goes.

    perf record -F 999 --call-graph dwarf,16384 -p PID -- sleep 8
    perf script | python3 bench/flamegraph.py --title "parleyd at 10,000 msg/s" > out.svg

(`--call-graph dwarf`: parleyd is built without frame pointers, so plain `-g` loses most
user-space frames.)

Each stack is rooted at its thread's name (perf's comm: parleyd's threads are named, e.g.
"writer", "io-0"), so the graph shows first which thread spends the CPU, then on what. A box's
width is its share of all samples; hovering shows the full name and the share.

Written here because no Debian 12 package draws one (Brendan Gregg's FlameGraph scripts are not
packaged); the format is simple: fold identical stacks, lay out children left to right by name.
Options: --min-share hides boxes narrower than this fraction (default 0.002); C++ names are
shortened to their qualified name unless --full-names; --folded also writes the folded stacks.
"""
import argparse
import hashlib
import html
import re
import sys
from collections import defaultdict

FRAME_HEIGHT = 16
WIDTH = 1200
FONT = 11
CHAR_WIDTH = 6.2  # of the 11px monospace font, for clipping labels


def short_name(symbol: str) -> str:
    """`ns::Cls<T, U>::fn(int, char const*) const` -> `ns::Cls<…>::fn`: what a reader scans for."""
    symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol).replace("(anonymous namespace)", "{anon}")
    out, depth = [], 0
    for ch in symbol:
        if ch == "<":
            if depth == 0:
                out.append("<…>")
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    name = "".join(out)
    paren = name.find("(")
    if paren > 0 and not name.startswith("("):
        name = name[:paren]
    return name.strip() or symbol


def fold(lines, strip_args):
    """perf script text -> {(thread, frame, …, leaf): samples}."""
    stacks = defaultdict(int)
    comm, frames = None, []

    def flush():
        if comm is not None:
            stacks[tuple([comm] + list(reversed(frames)))] += 1

    header = re.compile(r"^(\S.*?)\s+\d+(?:/\d+)?\s+")
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if not line[0].isspace():
            flush()
            m = header.match(line)
            comm, frames = (m.group(1) if m else line.split()[0]), []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = ""
        m = re.match(r"^(.*) \((.*)\)$", rest)
        if m:
            rest, dso = m.group(1), m.group(2)
        if rest in ("[unknown]", ""):
            base = dso.rsplit("/", 1)[-1]
            rest = base if base.startswith("[") else f"[{base}]" if base else "[unknown]"
        frames.append(short_name(rest) if strip_args else rest)
    flush()
    return stacks


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name, self.count, self.children = name, 0, {}


def build_tree(stacks):
    root = Node("all")
    for stack, count in stacks.items():
        root.count += count
        node = root
        for frame in stack:
            node = node.children.setdefault(frame, Node(frame))
            node.count += count
    return root


def colour(name: str) -> str:
    h = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    return f"rgb({205 + h % 50},{80 + (h >> 8) % 130},{40 + (h >> 16) % 40})"


def render(root, title, min_share):
    boxes = []
    max_depth = 0

    def walk(node, x, depth):
        nonlocal max_depth
        w = WIDTH * node.count / root.count
        if node.count / root.count < min_share:
            return
        max_depth = max(max_depth, depth)
        boxes.append((x, depth, w, node))
        cx = x
        for child in sorted(node.children.values(), key=lambda n: n.name):
            walk(child, cx, depth + 1)
            cx += WIDTH * child.count / root.count

    walk(root, 0.0, 0)
    top = 40
    height = top + (max_depth + 1) * FRAME_HEIGHT + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="{FONT}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fdfdf6"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="15">{html.escape(title)}</text>',
        f'<text x="4" y="34" fill="#555">{root.count} samples; width = share of CPU; hover for names</text>',
    ]
    for x, depth, w, node in boxes:
        y = height - 10 - (depth + 1) * FRAME_HEIGHT  # root at the bottom
        share = 100.0 * node.count / root.count
        label = node.name
        fits = int((w - 4) / CHAR_WIDTH)
        text = label if len(label) <= fits else (label[: fits - 1] + "…" if fits > 2 else "")
        out.append(
            f'<g><title>{html.escape(label)} ({node.count} samples, {share:.1f}%)</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{max(w - 0.5, 0.1):.2f}" height="{FRAME_HEIGHT - 1}" '
            f'fill="{colour(label)}" rx="1"/>'
            + (f'<text x="{x + 2:.2f}" y="{y + FRAME_HEIGHT - 4}">{html.escape(text)}</text>' if text else "")
            + "</g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", help="perf script output (default: stdin)")
    parser.add_argument("--title", default="flame graph")
    parser.add_argument("--min-share", type=float, default=0.002)
    parser.add_argument("--full-names", action="store_true", help="keep template and argument lists")
    parser.add_argument("--folded", help="also write the folded stacks (one 'a;b;c count' per line) here")
    args = parser.parse_args()
    with (open(args.input, errors="replace") if args.input else sys.stdin) as f:
        stacks = fold(f, not args.full_names)
    if not stacks:
        sys.exit("no samples in the input (was perf record run with -g?)")
    if args.folded:
        with open(args.folded, "w") as f:
            for stack, count in sorted(stacks.items()):
                f.write(";".join(stack) + f" {count}\n")
    sys.stdout.write(render(build_tree(stacks), args.title, args.min_share))


if __name__ == "__main__":
    main()
