#!/usr/bin/env python3
"""Writes the fuzz seed corpora (corpus/parse, corpus/rest, corpus/websocket) and the
dictionaries (parse.dict, rest.dict) of tests/fuzz from docs/protocol.md and, optionally, a log
of what the integration tests send.

    PARLEY_FRAME_LOG=/tmp/frames.jsonl python3 -m pytest tests/integration   # see harness.py
    tests/fuzz/make_corpus.py --frame-log /tmp/frames.jsonl

Sources:
- parse: every JSON object in a code block of docs/protocol.md (requests, replies, events,
  objects: all are inputs worth parsing), then the WebSocket messages of the log, one per shape
  (which keys, which value types, which command; see shape()).
- rest: every route of the table in docs/protocol.md section 8.2, with its parameters given in
  the body, in the query string, only the first one, and none (example values from the docs'
  frames of that command); the curl examples of section 8; the log's HTTP requests to /v1/, one
  per shape. Format: "METHOD /path?query" LF body (what rest_fuzz.cpp reads).
- websocket: hand-made frames (every opcode, the three length encodings, fragments, close
  codes), the docs' request frames as masked text messages, the raw frames of the log.

Files are named by the SHA-1 of their content, like libFuzzer names corpus files, and only added:
files already there (e.g. merged by scripts/fuzz.sh --merge) stay unless --clean is given. The
dictionaries are rewritten every time. Only the standard library is used.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "..", "docs", "protocol.md")

MAX_PARSE = 300       # files per corpus, at most
MAX_REST = 250
MAX_WEBSOCKET = 120
MAX_BYTES = 70000     # a seed larger than this is skipped (the parser's frame limit is 64 KiB)


# --- reading the docs ------------------------------------------------------------------------

def code_blocks(markdown):
    """The lines of every ``` block."""
    blocks, current = [], None
    for line in markdown.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def json_objects(lines):
    """JSON objects in a code block: one per line, or spread over several lines."""
    out, pending = [], []
    for line in lines:
        if not pending and not line.lstrip().startswith("{"):
            continue
        pending.append(line)
        text = "\n".join(pending)
        try:
            value = json.loads(text)
        except ValueError:
            if len(pending) > 40:
                pending = []
            continue
        if isinstance(value, dict):
            out.append(text)
        pending = []
    return out


def curl_requests(lines):
    """(method, target, body) of the `curl` examples: -X METHOD, a localhost URL, -d 'body'."""
    out, joined = [], " ".join(line.rstrip("\\").strip() for line in lines)
    for command in re.split(r"\$ ", joined)[1:]:
        if not command.startswith("curl"):
            continue
        method = re.search(r"-X (\w+)", command)
        url = re.search(r"[\"']?localhost:\d+(/[^\s\"']*)", command)
        body = re.search(r"-d '([^']*)'", command)
        if url:
            out.append((method.group(1) if method else ("POST" if body else "GET"), url.group(1),
                        body.group(1) if body else ""))
    return out


def route_table(markdown):
    """(method, path, command, parameter names) of every row of section 8.2."""
    section = markdown.split("### 8.2 Routes", 1)[1].split("\n### ", 1)[0]
    routes = []
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            continue
        path = cells[1].strip("`")
        command = cells[2].strip("`")
        names = re.findall(r"`([a-z_]+)`", cells[3]) + re.findall(r"[?&]([a-z_]+)=", cells[3])
        names = [n for n in dict.fromkeys(names) if "{" + n + "}" not in path]
        routes.append((cells[0], path, command, names))
    return routes


def documented_names(markdown, frames):
    """Command types and field names: section 4's headings, table rows' first cells, the keys and
    "type" values of the example frames, the route table's parameters."""
    types, fields = set(), set()
    commands = markdown.split("## 4. WebSocket commands", 1)[1].split("\n## 5.", 1)[0]
    for heading in re.findall(r"^### (.+)$", commands, re.M):
        types.update(t.strip() for t in heading.split("/"))
    types.update(["auth.register", "auth.login"])
    # Rows of the field tables: "| `name` | integer | ..." (also "| `a`, `b` | boolean, number |").
    for names, _ in re.findall(r"^\| ((?:`[a-z_]+`(?:, )?)+) \| (string|integer|number|boolean|array|object|event|user)",
                               markdown, re.M):
        fields.update(re.findall(r"`([a-z_]+)`", names))

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                fields.add(key)
                if key == "type" and isinstance(item, str):
                    types.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    for frame in frames:
        walk(json.loads(frame))
    for _, _, _, names in route_table(markdown):
        fields.update(names)
    fields = {f for f in fields if re.fullmatch(r"[a-z_]+", f)}
    return sorted(types), sorted(fields)


# --- shapes: one seed per kind of input ------------------------------------------------------

LITERAL_KEYS = {"type", "role", "state", "status", "kind"}


def shape(value, key=None):
    """A coarse description of a JSON value: keys, value types, size classes of strings and
    numbers, and the literal values of enum-like keys. Two frames with one shape exercise much
    the same parser paths."""
    if isinstance(value, dict):
        return "{" + ",".join(k + ":" + shape(v, k) for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(sorted({shape(v) for v in value})) + ("+" if len(value) > 1 else "") + "]"
    if isinstance(value, bool):
        return "b"
    if value is None:
        return "n"
    if isinstance(value, int):
        return "i" + ("-" if value < 0 else "0" if value == 0 else str(len(str(value)) // 5))
    if isinstance(value, float):
        return "f"
    if key in LITERAL_KEYS and len(value) <= 32:
        return json.dumps(value)
    if value.isdigit() or (value[:1] == "-" and value[1:].isdigit()):
        return "d"
    return "s" + str(min(len(value).bit_length(), 8))


def text_shape(text):
    try:
        return shape(json.loads(text))
    except ValueError:
        return "raw:" + text[:256]


def rest_shape(method, target, body):
    path, _, query = target.partition("?")
    path = re.sub(r"[0-9]+", "N", path)
    keys = ",".join(sorted(k for k, _ in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    return f"{method} {path}?{keys}\n{text_shape(body) if body.strip() else ''}"


# --- REST seeds from the route table ---------------------------------------------------------

DEFAULT_VALUES = {
    "conversation_id": 6, "user_id": 4, "to_user_id": 9, "seq": 3, "root_seq": 4, "client_msg_id": "x",
    "text": "hi", "title": "G", "topic": "t", "emoji": "👍", "role": "admin", "username": "bob_1",
    "password": "correct horse", "display_name": "Bob One", "user_ids": [4, 5], "member_ids": [4],
    "query": "rust", "after_id": 0, "after_user_id": 0, "limit": 10, "cursor": 0, "before_seq": 9,
    "after_seq": 0, "delivered_seq": 9, "read_seq": 9, "reply_to_seq": 3, "thread_root_seq": 4,
    "read_receipts": False, "last_seen": True,
}


def example_values(frames):
    """Field values from the docs' request frames, by command: {type: {field: value}}."""
    values = {}
    for text in frames:
        frame = json.loads(text)
        if isinstance(frame.get("type"), str) and "id" in frame:
            fields = values.setdefault(frame["type"], {})
            for key, value in frame.items():
                fields.setdefault(key, value)
    return values


def query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return urllib.parse.quote(str(value), safe="")


def route_seeds(routes, examples):
    seeds = []
    for method, path, command, names in routes:
        values = dict(DEFAULT_VALUES, **examples.get(command, {}))
        target = re.sub(r"\{([a-z_]+)\}", lambda m: str(values.get(m.group(1), 5)), path)
        params = {n: values.get(n, "x") for n in names}
        query = "&".join(f"{k}={query_value(v)}" for k, v in params.items())
        seeds.append(f"{method} {target}\n")
        if params:
            seeds.append(f"{method} {target}\n{json.dumps(params, ensure_ascii=False)}")
            seeds.append(f"{method} {target}?{query}\n")
            first = dict(list(params.items())[:1])
            if method in ("GET", "DELETE"):
                seeds.append(f"{method} {target}?{query.split('&')[0]}\n")
            else:
                seeds.append(f"{method} {target}\n{json.dumps(first, ensure_ascii=False)}")
    return seeds


# --- WebSocket seeds -------------------------------------------------------------------------

def ws_frame(opcode, payload, fin=True, mask=b"\x37\xfa\x21\x3d", rsv=0, length=None):
    """One client frame: masked unless mask is None; `length` overrides the encoded length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def websocket_seeds(request_frames):
    hello = b'{"type":"hello","id":"h1","token":"t"}'
    seeds = [
        ws_frame(0x1, b"Hello"),                                  # the README's seeds
        bytes.fromhex("888201020304" "02ea"),
        ws_frame(0x1, b""),
        ws_frame(0x1, b"x" * 200),                                # 16-bit length
        ws_frame(0x1, b"y" * 300, length=70000),                  # 64-bit length, payload cut short
        ws_frame(0x1, b"", length=1 << 63),                       # length with the top bit set
        ws_frame(0x1, b"z" * 126, length=126),
        ws_frame(0x2, b"\x00\x01"),                               # binary
        ws_frame(0x9, b"ping"), ws_frame(0xA, b"pong"), ws_frame(0x9, b"p" * 126),
        ws_frame(0x8, b""), ws_frame(0x8, b"\x03"),               # close: empty, 1 byte
        ws_frame(0x8, (1000).to_bytes(2, "big") + b"bye"),
        ws_frame(0x8, (1002).to_bytes(2, "big") + "naïve".encode()),
        ws_frame(0x8, (4999).to_bytes(2, "big") + b"\xff\xfe"),   # close reason not UTF-8
        ws_frame(0x8, (1005).to_bytes(2, "big")),
        ws_frame(0x8, (3000).to_bytes(2, "big") + b"r" * 123),
        ws_frame(0x3, b""), ws_frame(0xB, b""),                   # reserved opcodes
        ws_frame(0x1, b"{}", rsv=0x40), ws_frame(0x1, b"{}", rsv=0x30),
        ws_frame(0x1, b'{"type":"ping"}', mask=None),             # unmasked
        ws_frame(0x0, b"orphan"),                                 # continuation without a message
        ws_frame(0x9, b"", fin=False),                            # fragmented control frame
        # a fragmented message with a ping between its fragments, then a close
        ws_frame(0x1, hello[:5], fin=False) + ws_frame(0x9, b"hb") + ws_frame(0x0, hello[5:20], fin=False)
        + ws_frame(0x0, hello[20:]) + ws_frame(0x8, (1000).to_bytes(2, "big")),
        ws_frame(0x1, "é👍".encode()), ws_frame(0x1, b"\xed\xa0\x80"), ws_frame(0x1, b"\xc0\x80"),
        ws_frame(0x1, "👍".encode()[:3]),                          # UTF-8 cut inside a character
        ws_frame(0x1, hello, mask=b"\x00\x00\x00\x00"),
        ws_frame(0x1, hello, mask=b"\xff\xff\xff\xff") + ws_frame(0x1, b'{"type":"ping","id":1}'),
    ]
    # The docs' requests, as the messages a client sends (two per stream, to reach the loop).
    for i in range(0, len(request_frames), 2):
        seeds.append(b"".join(ws_frame(0x1, f.encode()) for f in request_frames[i:i + 2]))
    return seeds


# --- dictionaries ----------------------------------------------------------------------------

NUMBERS = [
    "0", "-0", "1", "-1", "2", "100", "101", "500", "501", "1000", "1001", "16384", "16385", "65536",
    "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
    "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740992", "-9007199254740993",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "1e308", "1e309", "-1e309", "1e-400", "5.0", "1.5",
    "-0.0", "1e2", "1E+2", "0.1", "00", "01", "+1", "0x10", "1_000", "NaN", "Infinity",
    "123456789012345678901234567890123456789012345678901234567890",
    "0.0000000000000000000000000000000000000000000000000000000000001",
]
JSON_TOKENS = [
    "{", "}", "[", "]", ":", ",", '"', "\\", "null", "true", "false", '{"', '":', '","', '":"', '":[', '":{',
    "[" * 17, "{\"a\":" * 17, "\\u0000", "\\ud800", "\\uDFFF", "\\udc00", "\\ud83d\\udc4d", "\\u0041", '\\"', "\\\\",
    "\\/", "\\n", "\\t", "\\x", "\\u00", " ", "\t", "\r\n",
    # raw bytes: UTF-8 of é and 👍, then invalid: a lone byte, a surrogate, an overlong NUL, > U+10FFFF, NUL
    b"\xc3\xa9", b"\xf0\x9f\x91\x8d", b"\xff", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\x00",
]
STRINGS = ["start", "stop", "online", "away", "offline", "admin", "member", "owner", "@all", "@everyone"]
REST_TOKENS = [
    "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS ", "HEAD ", " /v1/", "/v1", "/", "//", "?", "&", "=",
    "%", "%00", "%25", "%2F", "%2C", "%3F", "%26", "%3D", "%FF", "%C3%A9", "%F0%9F%91%8D", "%ED%A0%80", "+", ",", ",,",
    "\n", "/v1/me", "/v1/auth/register", "/v1/auth/login", "/v1/auth/logout", "/v1/admin/users",
]


def dict_entry(text):
    """A libFuzzer dictionary value: printable ASCII as is, '"' and '\\' escaped, the rest \\xNN."""
    out = ""
    for byte in text if isinstance(text, bytes) else text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= byte < 0x7F:
            out += ch
        else:
            out += f"\\x{byte:02X}"
    return '"' + out + '"'


def write_dict(path, sections):
    seen = set()
    with open(path, "w") as f:
        f.write("# libFuzzer dictionary, written by tests/fuzz/make_corpus.py from docs/protocol.md: do not edit.\n")
        for title, entries in sections:
            f.write(f"\n# {title}\n")
            for entry in entries:
                if entry not in seen:
                    seen.add(entry)
                    f.write(dict_entry(entry) + "\n")


# --- main ------------------------------------------------------------------------------------

def read_log(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def write_corpus(directory, seeds, clean):
    if clean and os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory, exist_ok=True)
    added = 0
    for seed in seeds:
        data = seed if isinstance(seed, bytes) else seed.encode("utf-8", "surrogateescape")
        path = os.path.join(directory, hashlib.sha1(data).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            added += 1
    return added


def unique(items, key, limit, seen=None):
    seen = set() if seen is None else seen
    out = []
    if limit <= 0:
        return out
    for item in items:
        k = key(item)
        if k in seen:
            continue
        seen.add(k)
        out.append(item)
        if len(out) >= limit:
            break
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frame-log", action="append", default=[], help="JSON lines from PARLEY_FRAME_LOG (repeatable)")
    parser.add_argument("--out", default=HERE, help="folder holding corpus/ and the dictionaries (default: tests/fuzz)")
    parser.add_argument("--clean", action="store_true", help="empty the corpus folders first")
    args = parser.parse_args()

    with open(DOCS, encoding="utf-8") as f:
        markdown = f.read()
    blocks = code_blocks(markdown)
    doc_frames = list(dict.fromkeys(obj for block in blocks for obj in json_objects(block)))
    routes = route_table(markdown)
    examples = example_values(doc_frames)
    request_frames = [f for f in doc_frames if "id" in json.loads(f) and json.loads(f).get("type") not in
                      ("ok", "ack", "pong", "error")]

    log = list(read_log(args.frame_log))
    log_ws = [e["ws"] for e in log if "ws" in e and len(e["ws"].encode("utf-8", "surrogateescape")) <= MAX_BYTES]
    log_raw = [bytes.fromhex(e["ws_raw"]) for e in log if "ws_raw" in e]
    log_http = [(e["http"], e.get("body", "")) for e in log if "http" in e]

    # parse: every docs frame, then one log message per shape not seen yet.
    shapes = {text_shape(f) for f in doc_frames}
    parse = doc_frames + unique(log_ws, text_shape, MAX_PARSE - len(doc_frames), shapes)

    # rest: the route table, the curl examples, one logged /v1/ request per shape.
    rest = route_seeds(routes, examples)
    rest += [f"{m} {t}\n{b}" for block in blocks for m, t, b in curl_requests(block)]
    rest = list(dict.fromkeys(rest))
    rest_keys = set()
    for seed in rest:
        line, _, body = seed.partition("\n")
        method, _, target = line.partition(" ")
        rest_keys.add(rest_shape(method, target, body))
    logged = []
    for line, body in log_http:
        method, _, target = line.partition(" ")
        if target.startswith("/v1/") and len(body) <= MAX_BYTES:
            logged.append((method, target, body))
    rest += [f"{m} {t}\n{b}" for m, t, b in unique(logged, lambda r: rest_shape(*r), MAX_REST - len(rest), rest_keys)]

    # websocket: hand-made frames, the docs' requests, the log's raw frames.
    websocket = websocket_seeds(request_frames)
    websocket += unique([r for r in log_raw if len(r) <= MAX_BYTES], lambda r: r, MAX_WEBSOCKET - len(websocket),
                        {bytes(s) for s in websocket})

    corpus = os.path.join(args.out, "corpus")
    counts = {name: write_corpus(os.path.join(corpus, name), seeds, args.clean)
              for name, seeds in (("parse", parse[:MAX_PARSE]), ("rest", rest[:MAX_REST]),
                                  ("websocket", websocket[:MAX_WEBSOCKET]))}

    types, fields = documented_names(markdown, doc_frames)
    json_sections = [
        ("command and frame types (docs/protocol.md section 4 and the example frames)",
         [json.dumps(t) for t in types] + types),
        ("field names (tables and example frames of docs/protocol.md)", [json.dumps(f) + ":" for f in fields]),
        ("enum values", [json.dumps(s) for s in STRINGS]),
        ("numbers: limits, 2^31, 2^53, 2^63, 2^64 around their edges, floats, non-JSON forms",
         NUMBERS + [json.dumps(n) for n in NUMBERS[:32]]),
        ("JSON punctuation, escapes, UTF-8 edge cases", JSON_TOKENS),
    ]
    write_dict(os.path.join(args.out, "parse.dict"), json_sections)
    route_paths = sorted({re.sub(r"\{[a-z_]+\}", "1", p) for _, p, _, _ in routes})
    segments = sorted({"/" + s for _, p, _, _ in routes for s in p.split("/") if s and "{" not in s})
    write_dict(os.path.join(args.out, "rest.dict"), [
        ("methods, path and query syntax, percent escapes", REST_TOKENS),
        ("route paths and segments (docs/protocol.md section 8.2)", route_paths + segments),
        ("parameter names as query keys", [f + "=" for f in fields]),
    ] + json_sections)

    print(f"docs: {len(doc_frames)} JSON objects, {len(routes)} routes; log: {len(log_ws)} messages, "
          f"{len(log_raw)} raw frames, {len(log_http)} HTTP requests")
    for name, seeds in (("parse", parse), ("rest", rest), ("websocket", websocket)):
        print(f"corpus/{name}: {min(len(seeds), {'parse': MAX_PARSE, 'rest': MAX_REST}.get(name, MAX_WEBSOCKET))} seeds, "
              f"{counts[name]} new files")


if __name__ == "__main__":
    main()
