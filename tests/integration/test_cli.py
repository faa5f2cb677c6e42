"""The `parley` command-line client, driven end to end against a real parleyd.

Each test runs the CLI binary ($PARLEY_CLI, else build/tools/parley/parley) as a subprocess
with its own config file per user (--config in tmp_path) and checks its output and exit code.
"""
import glob
import hashlib
import json
import os
import random
import re
import select
import socket
import stat
import subprocess
import time
import uuid

import pytest

from harness import HIGH_RATE, free_port
from test_media import s3rver  # noqa: F401 (the fixture)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
CLI = os.environ.get("PARLEY_CLI") or os.path.join(REPO, "build/tools/parley/parley")
PASSWORD = "correct horse battery"
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex

# Exit codes (tools/parley/README.md).
OK, REFUSED, USAGE, NETWORK, NOT_LOGGED_IN = 0, 1, 2, 3, 4


def clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["HOME"] = str(tmp_path)  # never touch the real ~/.config/parley
    env.update(extra)
    return env


class Cli:
    """One CLI user: a config file of its own and the server to talk to."""

    def __init__(self, server, tmp_path, name):
        self.server = server
        self.tmp_path = tmp_path
        self.name = name
        self.config = str(tmp_path / f"{name}.json")

    def argv(self, *args, server=True):
        base = [CLI, "--config", self.config]
        if server:
            base += ["--server", self.server.base]
        return base + [str(a) for a in args]

    def run(self, *args, expect=OK, input=None, server=True, env=None, timeout=30):
        """Runs the CLI; `expect` is the exit code it must end with (None: any, unchecked)."""
        proc = subprocess.run(self.argv(*args, server=server), input=input, capture_output=True, text=True,
                              timeout=timeout, env=env or clean_env(self.tmp_path))
        if expect is None:
            return proc
        assert proc.returncode == expect, (
            f"parley {' '.join(map(str, args))}: exit {proc.returncode}, expected {expect}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        if expect == OK:
            assert "error" not in proc.stderr, proc.stderr
        else:
            # Notes may come first, a usage hint after; the failure is one "error: " line.
            assert len(re.findall(r"^error: ", proc.stderr, re.M)) == 1, proc.stderr
            assert "Traceback" not in proc.stderr and "terminate called" not in proc.stderr
        return proc

    def out(self, *args, **kwargs):
        return self.run(*args, **kwargs).stdout

    def json(self, *args, **kwargs):
        lines = self.out("--json", *args, **kwargs).splitlines()
        assert len(lines) == 1, lines
        return json.loads(lines[0])

    def popen(self, *args):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=clean_env(self.tmp_path))


def new_name(prefix):
    return prefix + uuid.uuid4().hex[:8]


def registered(server, tmp_path, prefix="u"):
    cli = Cli(server, tmp_path, new_name(prefix))
    cli.out("register", cli.name, "--password", PASSWORD)
    return cli


def wait_stderr_line(proc, pattern, timeout=10):
    """Reads the process's stderr until a line matches `pattern`; returns the match."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.time()))
        if not ready:
            break
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no stderr line matching {pattern!r}; got {seen}")


def finish(proc, timeout=15):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


class StdoutLines:
    """Reads a running process's stdout line by line (raw reads: no hidden buffering)."""

    def __init__(self, proc):
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.lines = []

    def wait_for(self, pattern, timeout=10):
        """Reads until a line (new or already read) matches `pattern`; returns the match."""
        deadline = time.time() + timeout
        while True:
            for line in self.lines:
                match = re.search(pattern, line)
                if match:
                    return match
            remaining = deadline - time.time()
            ready, _, _ = select.select([self.fd], [], [], max(0.0, remaining))
            if not ready:
                raise AssertionError(f"no stdout line matching {pattern!r}; got {self.lines}")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError(f"stdout closed without a line matching {pattern!r}; got {self.lines}")
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split(b"\n")
            self.lines += [line.decode() for line in complete]


# --- accounts ---------------------------------------------------------------------------------

def test_register_login_whoami_and_config_file(server, tmp_path):
    alice = Cli(server, tmp_path, new_name("alice"))
    out = alice.out("register", alice.name, "--password", PASSWORD, "--display-name", "Alice A")
    assert re.fullmatch(rf"registered and logged in as {alice.name} \(id \d+\) on {re.escape(server.base)}; "
                        rf"token saved in {re.escape(alice.config)}\n", out)

    mode = stat.S_IMODE(os.stat(alice.config).st_mode)
    assert mode == 0o600, oct(mode)
    saved = json.load(open(alice.config))
    assert saved["server"] == server.base and saved["username"] == alice.name
    assert saved["token"].count(".") == 2 and saved["user_id"] > 0 and saved["expires_at"] > time.time()

    # The saved server is used when --server is not given.
    out = alice.out("whoami", server=False)
    assert out == f'{alice.name} (id {saved["user_id"]}, display name "Alice A") on {server.base}\n'
    me = alice.json("whoami", server=False)
    assert me["user"] == {"id": saved["user_id"], "username": alice.name, "display_name": "Alice A",
                          "created_at": me["user"]["created_at"]}
    assert me["server"] == server.base

    # Password from stdin, then from the environment; login replaces the token.
    bob = Cli(server, tmp_path, new_name("bob"))
    reply = bob.json("register", bob.name, input=PASSWORD + "\n")
    assert reply["user"]["username"] == bob.name and "token" not in reply
    first_token = json.load(open(bob.config))["token"]
    out = bob.out("login", bob.name.upper(), env=clean_env(tmp_path, PARLEY_PASSWORD=PASSWORD))
    assert out.startswith(f"logged in as {bob.name} (id {reply['user']['id']})")
    assert json.load(open(bob.config))["token"] != first_token

    # users get by name and by id, human and JSON.
    out = alice.out("users", "get", bob.name)
    assert re.fullmatch(rf'{bob.name} \(id {reply["user"]["id"]}, display name "{bob.name}", since '
                        r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n', out)
    assert alice.json("users", "get", reply["user"]["id"])["user"]["username"] == bob.name


def test_logout_revokes_the_token(server, tmp_path):
    carol = registered(server, tmp_path, "carol")
    old_config = tmp_path / "carol-old.json"
    old_config.write_text(open(carol.config).read())
    assert carol.out("logout") == f"logged out {carol.name}\n"
    saved = json.load(open(carol.config))
    assert "token" not in saved and saved["username"] == carol.name
    carol.run("whoami", expect=NOT_LOGGED_IN)
    carol.run("logout", expect=NOT_LOGGED_IN)

    # The old token is refused by REST and by the WebSocket hello alike, with the precise code.
    stale = Cli(server, tmp_path, "carol-old")
    assert stale.run("whoami", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    assert stale.run("conversations", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    assert stale.run("tail", "--timeout", "5", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    # Logging out a dead token just forgets it.
    assert "already refused the token: token_revoked" in stale.out("logout")


def another_device(cli, label):
    """The same account signed in from a second config file (another device), labelled `label`."""
    device = Cli(cli.server, cli.tmp_path, f"{cli.name}-{label}")
    device.out("login", cli.name, "--password", PASSWORD, "--device", label)
    return device


def token_ids(cli):
    """token_id -> session entry of `parley sessions --json`."""
    return {s["token_id"]: s for s in cli.json("sessions")["sessions"]}


def test_sessions_list_and_revoke(server, tmp_path):
    alice = Cli(server, tmp_path, new_name("alice"))
    alice.out("register", alice.name, "--password", PASSWORD)
    phone = another_device(alice, "phone")

    sessions = alice.json("sessions")["sessions"]
    assert len(sessions) == 2 and sessions[0]["device"] == "phone"  # newest first
    mine = [s for s in sessions if s["current"]]
    assert len(mine) == 1 and mine[0]["device"] == f"parley-cli on {socket.gethostname()}"  # the default label
    assert mine[0]["address"] == "127.0.0.1" and mine[0]["expires_at"] > time.time()
    phone_id = sessions[0]["token_id"]
    assert token_ids(phone)[phone_id]["current"] is True

    # A running tail is an online session of the phone's token; the table shows it and marks this device.
    tail = phone.popen("tail", "--timeout", 20)
    try:
        wait_stderr_line(tail, r"live on")
        table = alice.out("sessions").splitlines()
        assert table[0].split() == ["CURRENT", "TOKEN_ID", "ONLINE", "ADDRESS", "CREATED", "LAST_ACTIVE", "EXPIRES",
                                    "DEVICE"]
        assert len(table) == 3
        assert any(re.fullmatch(rf" +{re.escape(phone_id)} +1 +127\.0\.0\.1 +{DATE} +{DATE} +{DATE} +phone", row)
                   for row in table), table
        assert any(re.fullmatch(rf"\* +{re.escape(mine[0]['token_id'])} +0 +127\.0\.0\.1 +.* parley-cli on \S+", row)
                   for row in table), table

        # Signing the phone out ends its live session and its token.
        assert alice.out("sessions", "revoke", phone_id) == f"signed out {phone_id}\n"
        code, _, err = finish(tail)
        assert code == REFUSED and "error: token_revoked: " in err, err
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert phone.run("whoami", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    assert list(token_ids(alice)) == [mine[0]["token_id"]]
    assert alice.run("sessions", "revoke", phone_id, expect=REFUSED).stderr.startswith("error: not_found: ")

    # Revoking this device's own token is a logout: the token is forgotten.
    laptop = another_device(alice, "laptop")
    laptop_id = next(t for t, s in token_ids(laptop).items() if s["current"])
    assert laptop.json("sessions", "revoke", laptop_id) == {"token_id": laptop_id, "revoked": True, "current": True}
    assert "token" not in json.load(open(laptop.config))
    laptop.run("sessions", expect=NOT_LOGGED_IN)
    assert list(token_ids(alice)) == [mine[0]["token_id"]]


def test_logout_everywhere(server, tmp_path):
    bob = registered(server, tmp_path, "bob")
    phone, tablet = another_device(bob, "phone"), another_device(bob, "tablet")
    assert phone.run("logout", "--keep-current", expect=USAGE).stderr.startswith("error: ")

    # --keep-current: the others are signed out, this one stays.
    assert bob.out("logout", "--everywhere", "--keep-current") == \
        f"signed out 2 other devices of {bob.name}; this one stays signed in\n"
    for device in (phone, tablet):
        assert device.run("whoami", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    assert bob.json("whoami")["user"]["username"] == bob.name
    assert json.load(open(bob.config))["token"]

    # Without it: every token, this one too, which the config file forgets.
    phone.out("login", bob.name, "--password", PASSWORD)
    assert phone.json("logout", "--everywhere") == {"revoked": 2, "kept_current": False, "username": bob.name}
    saved = json.load(open(phone.config))
    assert "token" not in saved and saved["username"] == bob.name
    phone.run("whoami", expect=NOT_LOGGED_IN)
    assert bob.run("whoami", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    # A dead token cannot log anyone out: that is an error, not a quiet success.
    assert bob.run("logout", "--everywhere", expect=REFUSED).stderr.startswith("error: token_revoked: ")

    tablet.out("login", bob.name, "--password", PASSWORD)
    assert tablet.out("logout", "--everywhere") == f"logged out {bob.name} everywhere (1 device signed out)\n"


NEW_PASSWORD = "violet staple rocket"


def test_password_change(server, tmp_path):
    carol = registered(server, tmp_path, "carol")
    phone = another_device(carol, "phone")

    out = carol.out("password", "--current", PASSWORD, "--new", NEW_PASSWORD)
    assert out == f"password changed for {carol.name}; 1 other device signed out\n"
    assert phone.run("whoami", expect=REFUSED).stderr.startswith("error: token_revoked: ")
    assert carol.json("whoami")["user"]["username"] == carol.name  # this device stays signed in
    assert phone.run("login", carol.name, "--password", PASSWORD, expect=REFUSED).stderr == \
        "error: unauthorized: wrong username or password\n"
    phone.out("login", carol.name, "--password", NEW_PASSWORD)

    # The server's refusals, as it words them; nothing changes.
    err = carol.run("password", "--current", "not my password", "--new", "orange kettle drum", expect=REFUSED).stderr
    assert err == "error: forbidden: the current password is wrong\n"
    err = carol.run("password", "--current", NEW_PASSWORD, "--new", "password123", expect=REFUSED).stderr
    assert re.fullmatch(r"error: invalid_field: 'new_password' .+\n", err), err
    phone.json("whoami")

    # Passwords from the environment, then from two lines of stdin.
    env = clean_env(tmp_path, PARLEY_PASSWORD=NEW_PASSWORD, PARLEY_NEW_PASSWORD="orange kettle drum")
    assert carol.json("password", env=env) == {"changed": True, "revoked": 1}
    phone.run("whoami", expect=REFUSED)
    carol.out("password", input=f"orange kettle drum\n{PASSWORD}\n")
    carol.out("login", carol.name, "--password", PASSWORD)
    # Missing: a usage error before anything is sent.
    assert "no new password: give --new, set PARLEY_NEW_PASSWORD" in \
        carol.run("password", input=f"{PASSWORD}\n", expect=USAGE).stderr


def test_password_asks_twice_on_a_terminal(server, tmp_path):
    dave = registered(server, tmp_path, "dave")

    def on_terminal(lines):
        controller, terminal = os.openpty()
        try:
            proc = subprocess.Popen(dave.argv("password"), stdin=terminal, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=clean_env(tmp_path))
            os.write(controller, "".join(line + "\n" for line in lines).encode())
            out, err = proc.communicate(timeout=30)
            return proc.returncode, out, err
        finally:
            os.close(controller)
            os.close(terminal)

    code, out, err = on_terminal([PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!"])
    assert code == USAGE and "error: the two new passwords typed differ; nothing was changed" in err, err
    assert "parley: reading the current password from the terminal (not echoed)" in err
    assert "parley: the new password again, to confirm" in err
    code, out, err = on_terminal([PASSWORD, NEW_PASSWORD, NEW_PASSWORD])
    assert code == OK and out.startswith(f"password changed for {dave.name}"), err
    dave.out("login", dave.name, "--password", NEW_PASSWORD)


def test_password_change_and_login_throttled(make_server, tmp_path):
    # The address erin signed up from is one she uses (exempt from her account's throttle), so
    # the address's own throttle is what slows these attempts down.
    server = make_server(*HIGH_RATE, "--auth.login_free_failures", "1", "--auth.login_address_free_failures", "1").start()
    erin = registered(server, tmp_path, "erin")
    # Wrong current passwords count as failed sign-ins; soon every attempt must wait.
    errors = [erin.run("password", "--current", f"guess {n}", "--new", NEW_PASSWORD, expect=REFUSED).stderr
              for n in range(4)]
    assert errors[0] == "error: forbidden: the current password is wrong\n"
    waits = [re.fullmatch(r"error: rate_limited: too many failed password attempts; retry later "
                          r"\(retry after (\d+) s\)\n", err) for err in errors[1:]]
    assert any(waits), errors
    assert all(int(w.group(1)) >= 1 for w in waits if w)
    # Sign-ins share the account's counter, and say how long to wait too.
    err = erin.run("login", erin.name, "--password", PASSWORD, expect=REFUSED).stderr
    assert re.fullmatch(r"error: rate_limited: too many failed sign-ins; retry later \(retry after \d+ s\)\n", err), err


def test_password_check(server, tmp_path):
    anyone = Cli(server, tmp_path, "anyone")
    assert re.fullmatch(r"acceptable: about \d+ bits \(the server needs 20\)\n",
                        anyone.out("password-check", "--password", PASSWORD))
    err = anyone.run("password-check", input="password123\n", expect=REFUSED).stderr
    assert re.fullmatch(r"error: invalid_field: 'password' is too easy to guess .+\n", err), err
    # The username counts as a known word.
    name = new_name("frank")
    anyone.run("password-check", "--password", f"{name} {name}", "--username", name, expect=REFUSED)
    proc = anyone.run("--json", "password-check", "--password", "password123", expect=REFUSED)
    verdict = json.loads(proc.stdout)
    assert verdict["acceptable"] is False and verdict["problem"] and verdict["min_password_bytes"] == 8
    verdict = anyone.json("password-check", env=clean_env(tmp_path, PARLEY_PASSWORD=PASSWORD))
    assert verdict["acceptable"] is True and verdict["entropy_bits"] >= 20 and "problem" not in verdict


def test_ping(server, tmp_path):
    alice = registered(server, tmp_path)
    assert re.fullmatch(rf"pong from {re.escape(server.base)} in \d+\.\d{{3}} ms \(parleyd \d+\.\d+\.\d+\)\n",
                        alice.out("ping"))
    reply = alice.json("ping")
    assert reply["rtt_ms"] >= 0 and reply["server_ts"] > 0 and reply["server_version"]


# --- messages ---------------------------------------------------------------------------------

def test_dm_send_and_history(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")

    out = alice.out("dm", bob.name)
    match = re.fullmatch(rf"direct conversation (\d+) with @{bob.name} \(new\)\n", out)
    assert match, out
    conversation = int(match.group(1))
    opened = bob.json("dm", alice.name)
    assert opened["conversation"]["id"] == conversation and opened["created"] is False
    assert opened["conversation"]["peer"]["username"] == alice.name

    out = alice.out("send", conversation, "hello", "bob")
    assert re.fullmatch(rf"sent to conversation {conversation}: seq 1, message \d+, client_msg_id [0-9a-f]{{32}}\n", out)
    ack = bob.json("send", "--to", alice.name, "hi alice")
    assert ack["conversation_id"] == conversation and ack["seq"] == 2 and ack["duplicate"] is False
    assert alice.json("send", conversation, "-", input="from\nstdin\n")["seq"] == 3
    assert alice.json("send", conversation, "--", "-starts with a dash")["seq"] == 4

    # Idempotent: the same client_msg_id stores nothing new and reports the original.
    first = alice.json("send", conversation, "once", "--client-msg-id", "fixed-1")
    again = alice.out("send", conversation, "twice", "--client-msg-id", "fixed-1")
    assert f"seq {first['seq']}, message {first['message_id']}, client_msg_id fixed-1 (duplicate" in again

    lines = bob.out("history", conversation).splitlines()
    stamp = r"\d\d:\d\d:\d\d"
    expected = [rf"\[1\] {stamp} {alice.name}: hello bob", rf"\[2\] {stamp} {bob.name}: hi alice",
                rf"\[3\] {stamp} {alice.name}: from\nstdin", rf"\[4\] {stamp} {alice.name}: -starts with a dash",
                rf"\[5\] {stamp} {alice.name}: once"]
    assert re.fullmatch("\n".join(expected), "\n".join(lines)), lines

    history = bob.json("history", conversation)
    assert [e["seq"] for e in history["events"]] == [1, 2, 3, 4, 5]
    assert history["events"][2]["text"] == "from\nstdin" and history["has_more"] is False
    assert history["events"][4]["client_msg_id"] == "fixed-1"

    # Paging options.
    assert [e["seq"] for e in bob.json("history", conversation, "--limit", 2)["events"]] == [4, 5]
    page = bob.json("history", conversation, "--before", 4, "--limit", 2)
    assert [e["seq"] for e in page["events"]] == [2, 3] and page["has_more"] is True
    assert [e["seq"] for e in bob.json("history", conversation, "--after", 3)["events"]] == [4, 5]
    assert len(bob.json("history", conversation, "--all")["events"]) == 5

    listed = alice.json("conversations")["conversations"]
    mine = [c for c in listed if c["id"] == conversation][0]
    assert mine["kind"] == "direct" and mine["last_seq"] == 5
    assert mine["unread_count"] == 1 and mine["last_message"]["text"] == "once"  # bob's "hi alice"
    table = alice.out("conversations").splitlines()
    assert table[0].split() == ["ID", "KIND", "TITLE", "MEMBERS", "LAST_SEQ", "UNREAD", "MENTIONS", "FLAGS",
                                "LAST_ACTIVITY", "LAST_MESSAGE"]
    assert re.search(rf"^{conversation}\s+direct\s+@{bob.name}\s+2\s+5\s+1\s+0\s+-\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d"
                     rf"\s+{alice.name}: once$", "\n".join(table), re.M)


def test_history_pages_through_more_than_a_server_page(server, tmp_path):
    alice = registered(server, tmp_path)
    conversation = alice.json("group", "create", "long")["conversation"]["id"]
    for i in range(130):
        alice.run("send", conversation, f"m{i}")
    events = alice.json("history", conversation, "--all")["events"]
    assert [e["seq"] for e in events] == list(range(1, 132))
    lines = alice.out("history", conversation, "--limit", 120).splitlines()
    assert len(lines) == 120 and lines[0].startswith("[12] ") and lines[-1].endswith(": m129")


# --- tail -------------------------------------------------------------------------------------

def test_tail_receives_messages_sent_meanwhile(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    dm = alice.json("dm", bob.name)["conversation"]["id"]
    group = alice.json("group", "create", "G", "--members", bob.name)["conversation"]["id"]

    # Events only: a presence notice about alice (her CLI connects to send) may come at any
    # moment of the presence window; what is tested here is the event stream.
    tail = bob.popen("--json", "tail", "--count", 3, "--events-only")
    start = int(wait_stderr_line(tail, r"live on .* \(cursor (\d+)\)").group(1))
    sent = [alice.json("send", dm, "one"), alice.json("send", group, "two"), alice.json("send", dm, "three")]
    code, out, err = finish(tail)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["conversation_id"], e["seq"], e["text"]) for e in events] == \
        [(dm, 1, "one"), (group, 3, "two"), (dm, 2, "three")]
    assert [e["id"] for e in events] == [a["message_id"] for a in sent]
    final = json.loads(err.strip().splitlines()[-1])["cursor"]
    assert final == sent[-1]["pos"] > start

    # Resume from the first tail's start: the same events, filtered to one conversation, human.
    code, out, err = finish(bob.popen("tail", dm, "--since", start, "--count", 2, "--events-only"))
    assert code == 0, err
    assert re.fullmatch(rf"\[1\] \d\d:\d\d:\d\d {alice.name}: one\n\[2\] \d\d:\d\d:\d\d {alice.name}: three\n", out)
    assert f"cursor {sent[2]['pos']}" in err

    # All conversations, human: each line names its conversation; --timeout ends a quiet tail.
    code, out, err = finish(bob.popen("tail", "--since", start, "--timeout", 1, "--events-only"))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, lines
    for line, (conversation, seq, text) in zip(lines, [(dm, 1, "one"), (group, 3, "two"), (dm, 2, "three")]):
        assert re.fullmatch(rf"#{conversation} \[{seq}\] \d\d:\d\d:\d\d {alice.name}: {text}", line), line
    assert re.search(rf"cursor {sent[2]['pos']} \(resume with: parley tail --since {sent[2]['pos']}\)", err)


def test_tail_resumes_across_a_server_restart(make_server, tmp_path):
    server = make_server(*HIGH_RATE).start()
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    dm = alice.json("dm", bob.name)["conversation"]["id"]

    tail = bob.popen("--json", "tail", dm, "--count", 3, "--events-only")
    wait_stderr_line(tail, r"live on")
    alice.run("send", dm, "before")
    server.stop()
    server.start()
    alice.run("send", dm, "after 1")
    alice.run("send", dm, "after 2")
    code, out, err = finish(tail, timeout=30)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["seq"], e["text"]) for e in events] == [(1, "before"), (2, "after 1"), (3, "after 2")]
    assert "reconnecting" in err


# --- groups and channels ----------------------------------------------------------------------

def test_groups_members_and_channels(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    carol = registered(server, tmp_path, "carol")
    dave = registered(server, tmp_path, "dave")
    carol_id = carol.json("whoami")["user"]["id"]

    out = alice.out("group", "create", "Team", "--members", f"{bob.name},{carol_id}")
    match = re.fullmatch(r'created group (\d+) "Team" \(3 members\)\n', out)
    assert match, out
    group = int(match.group(1))
    assert alice.out("group", "add", group, dave.name) == f'added 1 member(s) to group {group} "Team" (now 4 members)\n'
    assert alice.run("group", "add", group, dave.name, expect=REFUSED).stderr.startswith("error: already_member: ")
    assert alice.out("group", "role", group, bob.name, "admin") == f'{bob.name} is now admin in group {group} "Team"\n'
    assert bob.out("group", "rename", group, "Team 2") == f'renamed to group {group} "Team 2"\n'
    assert bob.out("group", "remove", group, dave.name) == f'removed {dave.name} from group {group} "Team 2"\n'
    assert carol.run("group", "remove", group, bob.name, expect=REFUSED).stderr.startswith("error: forbidden: ")

    members = alice.json("members", group)
    assert members["conversation_id"] == group
    assert sorted((m["username"], m["role"]) for m in members["members"]) == sorted(
        [(alice.name, "owner"), (bob.name, "admin"), (carol.name, "member")])
    table = alice.out("members", group).splitlines()
    assert table[0].split() == ["USER_ID", "USERNAME", "ROLE", "JOINED"] and len(table) == 4
    assert any(re.match(rf"\d+\s+{bob.name}\s+admin\s+\d{{4}}-", row) for row in table[1:])

    assert carol.out("leave", group) == f'left group {group} "Team 2"\n'
    lines = alice.out("history", group).splitlines()
    actions = [line.split(" ", 2)[2] for line in lines]
    assert actions == [
        f'* {alice.name} created the conversation "Team"',
        f"* {alice.name} added {bob.name}, {carol.name}",
        f"* {alice.name} added {dave.name}",
        f"* {alice.name} made {bob.name} an admin",
        f'* {bob.name} renamed the conversation to "Team 2"',
        f"* {bob.name} removed {dave.name}",
        f"* {carol.name} left",
    ], lines

    # Channels: create, find, join (idempotent), list with and without a query.
    title = new_name("Rust")
    out = alice.out("channel", "create", title, "--topic", "systems")
    channel = int(re.fullmatch(rf'created channel (\d+) "{title}"\n', out).group(1))
    assert bob.out("channel", "join", channel) == f'joined channel {channel} "{title}"\n'
    assert bob.out("channel", "join", channel) == f'already a member of channel {channel} "{title}"\n'
    found = bob.json("channels", "--query", title[:6].lower())["channels"]
    assert [(c["id"], c["title"], c["topic"], c["member_count"], c["role"]) for c in found] == \
        [(channel, title, "systems", 2, "member")]
    table = carol.out("channels").splitlines()
    assert table[0].split() == ["ID", "TITLE", "MEMBERS", "ROLE", "TOPIC"]
    assert any(re.fullmatch(rf"{channel}\s+{title}\s+2\s+-\s+systems", row) for row in table)
    assert bob.out("history", channel).splitlines()[-1].endswith(f"* {bob.name} joined")


def test_members_pages_beyond_one_reply(make_server, tmp_path):
    server = make_server(*HIGH_RATE, "--auth.admin_token", ADMIN_TOKEN).start()
    owner = registered(server, tmp_path, "owner")
    prefix = new_name("m")
    created = owner.out("admin", "create-users", "--admin-token", ADMIN_TOKEN, "--count", 1005, "--prefix", prefix)
    ids = [line.split("\t")[1] for line in created.splitlines()]
    assert len(ids) == 1005
    group = owner.json("group", "create", "big")["conversation"]["id"]
    for start in range(0, len(ids), 256):
        owner.run("group", "add", group, *ids[start:start + 256])
    members = owner.json("members", group)["members"]
    assert len(members) == 1006 and len({m["user_id"] for m in members}) == 1006
    assert len(owner.out("members", group).splitlines()) == 1007


# --- exit codes -------------------------------------------------------------------------------

def test_exit_codes(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    # 1: the server refused.
    assert alice.run("login", alice.name, "--password", "wrong password", expect=REFUSED).stderr == \
        "error: unauthorized: wrong username or password\n"
    assert alice.run("send", 999999, "hi", expect=REFUSED).stderr.startswith("error: not_found: ")
    assert alice.run("users", "get", new_name("ghost"), expect=REFUSED).stderr.startswith("error: not_found: no such user")
    assert alice.run("register", alice.name, "--password", PASSWORD, expect=REFUSED).stderr.startswith(
        "error: conflict: ")
    # 4: no token.
    nobody = Cli(server, tmp_path, "nobody")
    for args in (["whoami"], ["conversations"], ["send", "1", "hi"], ["tail"], ["logout"], ["logout", "--everywhere"],
                 ["sessions"], ["sessions", "revoke", "x"], ["password", "--current", "a", "--new", "b"]):
        assert "not logged in" in nobody.run(*args, expect=NOT_LOGGED_IN).stderr
    # 2: usage.
    for args in (["frobnicate"], [], ["send", "1"], ["history", "abc"], ["group"], ["group", "role", "1", "x", "owner"],
                 ["history", "1", "--all", "--limit", "3"], ["history", "1", "--before", "3", "--after", "1"],
                 ["tail", "--count", "0"], ["register", "x"], ["admin", "sessions"], ["sessions", "revoke"],
                 ["logout", "--keep-current"], ["password"], ["password-check"], ["admin", "invite"],
                 ["admin", "invite", "revoke"], ["register", "x", "--invite"], ["sessions", "revoke", ""]):
        alice.run(*args, expect=USAGE, input="")
    assert alice.run("--server", "https://example.com", "whoami", expect=USAGE).stderr.startswith("error: ")
    # 3: nothing listens there.
    down = f"http://127.0.0.1:{free_port()}"
    for args in (["whoami"], ["ping"], ["send", "1", "hi"], ["history", "1"], ["tail", "--timeout", "5"],
                 ["login", alice.name, "--password", PASSWORD]):
        err = alice.run("--server", down, *args, expect=NETWORK).stderr
        assert err.startswith(f"error: cannot connect to {down}"), err
    # --help is not an error.
    assert "Usage: parley" in alice.out("--help")


# --- admin ------------------------------------------------------------------------------------

def test_admin_create_users_and_sessions(make_server, tmp_path):
    server = make_server(*HIGH_RATE, "--auth.admin_token", ADMIN_TOKEN).start()
    admin = Cli(server, tmp_path, "admin")
    out_file = tmp_path / "accounts.tsv"
    prefix = new_name("load")
    done = admin.run("admin", "create-users", "--admin-token", ADMIN_TOKEN, "--count", 3, "--prefix", prefix,
                     "--password", PASSWORD, "--out", out_file)
    assert done.stdout == "" and f"created 3 of 3 accounts into {out_file}" in done.stderr
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    rows = [line.split("\t") for line in out_file.read_text().splitlines()]
    assert [row[0] for row in rows] == [f"{prefix}1", f"{prefix}2", f"{prefix}3"]
    assert all(row[1].isdigit() and row[2].count(".") == 2 for row in rows)

    # The issued tokens work, and so do the passwords.
    user = Cli(server, tmp_path, "load-user")
    assert user.json("--token", rows[1][2], "whoami")["user"]["username"] == f"{prefix}2"
    user.run("login", f"{prefix}3", "--password", PASSWORD)

    # JSON lines, the token from the environment, batches smaller than the count; a taken name fails.
    env = clean_env(tmp_path, PARLEY_ADMIN_TOKEN=ADMIN_TOKEN)
    proc = admin.run("--json", "admin", "create-users", "--count", 4, "--prefix", prefix, "--batch", 2,
                     expect=REFUSED, env=env)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["username"], r.get("error")) for r in results] == [
        (f"{prefix}1", "conflict"), (f"{prefix}2", "conflict"), (f"{prefix}3", "conflict"), (f"{prefix}4", None)]
    assert results[3]["id"] > 0 and results[3]["user"]["username"] == f"{prefix}4"
    assert "error: partial: 3 of 4 accounts were not created" in proc.stderr

    assert admin.run("admin", "sessions", "--admin-token", "wrong", expect=REFUSED).stderr.startswith(
        "error: unauthorized: ")

    # A running tail is a session, labelled with the CLI's device name.
    tail = user.popen("tail", "--timeout", 20)
    wait_stderr_line(tail, r"live on")
    try:
        sessions = admin.json("admin", "sessions", "--admin-token", ADMIN_TOKEN)["sessions"]
        user_id = user.json("whoami")["user"]["id"]
        mine = [s for s in sessions if s["user_id"] == user_id]
        assert len(mine) == 1 and mine[0]["device"].startswith("parley-cli/")
        assert mine[0]["remote"].startswith("127.0.0.1:") and mine[0]["connected_at"] > 0
        table = admin.out("admin", "sessions", "--admin-token", ADMIN_TOKEN).splitlines()
        assert table[0].split() == ["SESSION", "USER_ID", "DEVICE", "REMOTE", "THREAD", "CONNECTED"]
        assert any(re.match(rf"{mine[0]['session_id']}\s+{user_id}\s+parley-cli/", row) for row in table[1:])
    finally:
        tail.terminate()
        code, _, err = finish(tail)
    assert code == 0 and "cursor" in err


def test_admin_invites_and_register_with_invite(make_server, tmp_path):
    server = make_server(*HIGH_RATE, "--auth.admin_token", ADMIN_TOKEN, "--auth.registration", "invite").start()
    admin = Cli(server, tmp_path, "admin")
    erin, frank = Cli(server, tmp_path, new_name("erin")), Cli(server, tmp_path, new_name("frank"))
    assert erin.run("register", erin.name, "--password", PASSWORD, expect=REFUSED).stderr == \
        "error: forbidden: an invite code is required to register here\n"

    # One use, an hour, a note; the code is printed once.
    done = admin.run("admin", "invite", "create", "--admin-token", ADMIN_TOKEN, "--expires-in", "1h", "--note", "for erin")
    match = re.fullmatch(r'invite ([0-9a-f]{16}): code (\S+) \(1 use, expires (.+), note "for erin"\)\n', done.stdout)
    assert match, done.stdout
    invite_id, code = match.group(1), match.group(2)
    assert "the code is shown only this once" in done.stderr
    env = clean_env(tmp_path, PARLEY_ADMIN_TOKEN=ADMIN_TOKEN)
    listed = admin.json("admin", "invite", "list", env=env)["invites"]
    assert [(i["id"], i["uses_left"], i["note"]) for i in listed] == [(invite_id, 1, "for erin")]
    assert abs(listed[0]["expires_at"] - (time.time() + 3600)) < 60 and "code" not in listed[0]
    table = admin.out("admin", "invite", "list", env=env).splitlines()
    assert table[0].split() == ["ID", "USES_LEFT", "CREATED", "EXPIRES", "NOTE"]
    assert re.fullmatch(rf"{invite_id}  1 +{DATE}  {DATE}  for erin", table[1]), table

    # Registering with it works once; the device label goes along.
    erin.out("register", erin.name, "--password", PASSWORD, "--invite", code, "--device", "erin's laptop")
    assert [s["device"] for s in erin.json("sessions")["sessions"]] == ["erin's laptop"]
    assert frank.run("register", frank.name, "--password", PASSWORD, "--invite", code, expect=REFUSED).stderr.startswith(
        "error: forbidden: ")
    assert admin.json("admin", "invite", "list", env=env)["invites"] == []

    # Several uses, no expiry; revoked, the code stops working.
    created = admin.json("admin", "invite", "create", "--uses", 5, "--expires-in", "never", env=env)
    assert created["invite"]["uses_left"] == 5 and created["invite"]["expires_at"] == 0 and created["code"] != code
    assert re.search(rf"{created['invite']['id']}  5 +{DATE}  never", admin.out("admin", "invite", "list", env=env))
    assert admin.out("admin", "invite", "revoke", created["invite"]["id"], env=env) == \
        f"revoked invite {created['invite']['id']}\n"
    frank.run("register", frank.name, "--password", PASSWORD, "--invite", created["code"], expect=REFUSED)
    assert admin.run("admin", "invite", "revoke", created["invite"]["id"], env=env, expect=REFUSED).stderr.startswith(
        "error: not_found: ")
    assert admin.json("admin", "invite", "create", "--expires-in", 90, env=env)["invite"]["expires_at"] < time.time() + 200

    # Bad arguments are caught before any request; a wrong admin token is the server's refusal.
    for args in (["--expires-in", "soon"], ["--expires-in", "5y"], ["--uses", "0"], ["--expires-in", "-5"]):
        admin.run("admin", "invite", "create", *args, env=env, expect=USAGE)
    admin.run("admin", "invite", "list", expect=USAGE)
    assert admin.run("admin", "invite", "list", "--admin-token", "x" * 40, expect=REFUSED).stderr.startswith(
        "error: unauthorized: ")


def test_admin_api_disabled_by_default(server, tmp_path):
    admin = Cli(server, tmp_path, "admin")
    err = admin.run("admin", "sessions", "--admin-token", "anything", expect=REFUSED).stderr
    assert err.startswith("error: not_found: the admin API is disabled")


# --- live features --------------------------------------------------------------------------

STAMP = r"\d\d:\d\d:\d\d"
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_receipts_edits_reactions_pins_and_threads(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    carol = registered(server, tmp_path, "carol")
    eve = registered(server, tmp_path, "eve")
    ids = {cli.name: cli.json("whoami")["user"]["id"] for cli in (alice, bob, carol)}
    group = alice.json("group", "create", "Live", "--members", f"{bob.name},{carol.name}")["conversation"]["id"]
    assert alice.json("send", group, f"hello @{bob.name}")["seq"] == 3  # after conversation.created, member.added

    # Unread and mention counts and the last message, before anyone has read anything.
    entry = [c for c in bob.json("conversations")["conversations"] if c["id"] == group][0]
    assert (entry["unread_count"], entry["mention_count"], entry["last_message"]["seq"]) == (1, 1, 3)
    table = bob.out("conversations")
    assert re.search(rf"^{group}\s+group\s+Live\s+3\s+3\s+1\s+1\s+-\s+{DATE}\s+{alice.name}: hello @{bob.name}$", table, re.M), table

    # Read receipts: up to the latest, or up to --seq; the reply is the confirmed read state.
    assert bob.out("read", group) == f"read up to [3] in conversation {group}: 0 unread, 0 mentions\n"
    again = bob.run("read", group)
    assert again.stdout == f"read up to [3] in conversation {group}: 0 unread, 0 mentions\n"
    assert "already read up to [3]" in again.stderr
    assert carol.json("read", group, "--seq", 2) == {"conversation_id": group, "delivered_seq": 2, "read_seq": 2,
                                                     "unread_count": 1, "mention_count": 0}
    assert alice.out("receipts", group, 3) == f"read by: {bob.name}\ndelivered to: {bob.name}\n"
    assert alice.json("receipts", group, 3) == {"conversation_id": group, "seq": 3,
                                                "read_by": [{"user_id": ids[bob.name], "read_seq": 3}],
                                                "delivered_to": [{"user_id": ids[bob.name], "delivered_seq": 3}]}
    # Bob hides his read receipts: he still counts as delivered, no longer as read.
    assert bob.out("settings") == "read receipts: on, last seen: on, discoverable: on\n"
    assert bob.out("settings", "--read-receipts", "off") == "read receipts: off, last seen: on, discoverable: on\n"
    assert bob.json("settings") == {"settings": {"read_receipts": False, "last_seen": True, "discoverable": True}}
    carol.run("read", group)
    lines = alice.out("receipts", group, 3).splitlines()
    assert lines[0] == f"read by: {carol.name}"
    assert sorted(lines[1].removeprefix("delivered to: ").split(", ")) == sorted([bob.name, carol.name])

    # Edits: only the author.
    assert alice.out("edit", group, 3, "hello", f"@{bob.name}", "(fixed)") == f"edited [3] in conversation {group} (event [4])\n"
    assert bob.run("edit", group, 3, "mine now", expect=REFUSED).stderr.startswith("error: forbidden: ")

    # Reactions: add (idempotent), list, take back.
    assert bob.out("react", group, 3, "👍") == "reacted 👍 to [3]\n"
    assert bob.out("react", group, 3, "👍") == "already reacted 👍 to [3]: nothing changed\n"
    assert alice.out("react", group, 3, "🎉") == "reacted 🎉 to [3]\n"
    rows = [row.split(None, 2) for row in carol.out("reactions", group, 3).splitlines()]
    assert rows == [["EMOJI", "COUNT", "USERS"], ["👍", "1", bob.name], ["🎉", "1", alice.name]], rows
    assert bob.out("react", group, 3, "👍", "--remove") == "took back 👍 from [3]\n"
    assert bob.out("react", group, 3, "👍", "--remove") == "no 👍 of yours on [3]: nothing changed\n"
    assert alice.json("reactions", group, 3)["reactions"] == [{"emoji": "🎉", "count": 1, "user_ids": [ids[alice.name]]}]

    # Pins.
    assert alice.out("pin", group, 3) == "pinned [3]\n"
    assert alice.out("pin", group, 3) == "[3] was already pinned: nothing changed\n"
    pins = carol.out("pins", group)
    assert re.fullmatch(rf"\[3\] {STAMP} {alice.name}: hello @{bob.name} \(fixed\) \(edited\)  "
                        rf"\(pinned by {alice.name}, {DATE}\)\n", pins), pins
    pinned = carol.json("pins", group)["pins"]
    assert [(p["seq"], p["pinned_by"], p["message"]["text"]) for p in pinned] == \
        [(3, ids[alice.name], f"hello @{bob.name} (fixed)")]
    assert alice.out("pin", group, 3, "--remove") == "unpinned [3]\n"
    empty = carol.run("pins", group)
    assert empty.stdout == "" and "no pinned messages" in empty.stderr

    # Threads and replies.
    out = bob.out("send", group, "--thread", 3, "in the thread")
    assert re.fullmatch(rf"sent to conversation {group} in thread \[3\]: seq 10, message \d+, client_msg_id [0-9a-f]{{32}}\n", out)
    quoted = carol.json("send", group, "--thread", 3, "--reply-to", 10, "quoting", "bob")
    assert quoted["seq"] == 11
    lines = alice.out("thread", group, 3).splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(rf"\[3\] {STAMP} {alice.name}: hello @{bob.name} \(fixed\) \(edited\)  \[🎉 1\]  \[2 replies\]",
                        lines[0]), lines[0]
    assert re.fullmatch(rf"  \[10\] {STAMP} {bob.name} \(in thread \[3\]\): in the thread", lines[1]), lines[1]
    assert re.fullmatch(rf"  \[11\] {STAMP} {carol.name} \(in thread \[3\]\) \(reply to \[10\]\): quoting bob",
                        lines[2]), lines[2]
    thread = alice.json("thread", group, 3)
    assert thread["root"]["seq"] == 3 and thread["root"]["thread"]["reply_count"] == 2
    assert [e["seq"] for e in thread["events"]] == [10, 11] and thread["has_more"] is False
    newest = alice.json("thread", group, 3, "--limit", 1)
    assert [e["seq"] for e in newest["events"]] == [11] and newest["has_more"] is True
    assert len(alice.out("thread", group, 3, "-n", 1).splitlines()) == 2

    # Deletes: one's own message; members may not delete others'.
    assert bob.out("delete", group, 10) == f"deleted [10] in conversation {group} (event [12])\n"
    assert carol.run("delete", group, 3, expect=REFUSED).stderr.startswith("error: forbidden: ")

    # The history tells the whole story, message-state events included.
    actions = [line.split(" ", 2)[2] for line in carol.out("history", group, "--after", 2).splitlines()]
    assert actions == [
        f"{alice.name}: hello @{bob.name} (fixed) (edited)  [🎉 1]  [2 replies]",
        f"* {alice.name} edited [3]: hello @{bob.name} (fixed)",
        f"* {bob.name} reacted 👍 to [3]",
        f"* {alice.name} reacted 🎉 to [3]",
        f"* {bob.name} took back 👍 from [3]",
        f"* {alice.name} pinned [3]",
        f"* {alice.name} unpinned [3]",
        f"{bob.name} (in thread [3]): (deleted)",
        f"{carol.name} (in thread [3]) (reply to [10]): quoting bob",
        f"* {bob.name} deleted [10]",
    ], actions
    entry = [c for c in bob.json("conversations")["conversations"] if c["id"] == group][0]
    assert (entry["unread_count"], entry["mention_count"], entry["last_message"]["text"]) == (1, 0, "quoting bob")
    assert re.search(rf"^{group}\s+group\s+Live\s+3\s+12\s+1\s+0\s+-\s+{DATE}\s+{carol.name}: quoting bob$",
                     bob.out("conversations"), re.M)

    # Refusals and usage errors of the new commands.
    assert eve.run("read", group, expect=REFUSED).stderr.startswith("error: not_member: ")
    assert eve.run("receipts", group, 3, expect=REFUSED).stderr.startswith("error: not_member: ")
    assert alice.run("react", group, 999, "x", expect=REFUSED).stderr.startswith("error: not_found: ")
    assert alice.run("edit", group, 2, "x", expect=REFUSED).stderr.startswith("error: invalid_field: ")
    channel = alice.json("channel", "create", new_name("receipts"))["conversation"]["id"]
    alice.run("send", channel, "in a channel")
    assert alice.run("receipts", channel, 2, expect=REFUSED).stderr.startswith("error: forbidden: ")
    for args in (["edit", group, 3], ["read", group, "--seq", 0], ["receipts", group], ["thread", group, "x"],
                 ["react", group, 3], ["pin", "x", 3], ["settings", "--last-seen", "maybe"], ["presence"],
                 ["away", "--for", 0]):
        alice.run(*args, expect=USAGE, input="")
    assert alice.out("edit", group, 3, "--", "-dashed") == f"edited [3] in conversation {group} (event [13])\n"


def test_presence_and_tail_notices(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    erin = registered(server, tmp_path, "erin")
    stranger = registered(server, tmp_path, "stranger")
    dave = server.register()  # a plain WebSocket client: it types, which the CLI does not
    group = alice.json("group", "create", "Notices", "--members", f"{bob.name},{erin.name},{dave.username}")
    group = group["conversation"]["id"]

    # bob streams one conversation as JSON lines; erin everything, for humans.
    bob_tail = bob.popen("--json", "tail", group, "--count", 1, "--timeout", 30)
    erin_tail = erin.popen("tail", "--count", 1, "--timeout", 30)
    wait_stderr_line(bob_tail, r"live on")
    wait_stderr_line(erin_tail, r"live on")
    bob_lines, erin_lines = StdoutLines(bob_tail), StdoutLines(erin_tail)

    d = dave.connect()
    assert d.ok("typing", conversation_id=group)["throttled"] is False
    bob_lines.wait_for(rf'"type":"typing".*"user_id":{dave.id}')
    erin_lines.wait_for(rf"^#{group} {STAMP} ~ {dave.username} is typing$")
    d.ok("receipt", conversation_id=group, read_seq=2)
    bob_lines.wait_for(rf'"type":"receipt".*"user_id":{dave.id}')
    erin_lines.wait_for(rf"^#{group} {STAMP} ~ {dave.username}: delivered \[2\], read \[2\]$")

    # Presence lasts while a session does: `away` holds one open.
    alice_id = alice.json("whoami")["user"]["id"]
    away = alice.popen("away", "--for", 4)
    bob_lines.wait_for(rf'"type":"presence".*"user_id":{alice_id},"status":"away"')
    erin_lines.wait_for(rf"^{STAMP} ~ {alice.name} is away$")
    table = bob.out("presence", alice.name, stranger.name).splitlines()
    assert table[0].split() == ["USER", "STATUS", "LAST_SEEN"]
    assert re.fullmatch(rf"{alice.name}\s+away\s+-", table[1]) and re.fullmatch(rf"{stranger.name}\s+unknown\s+-", table[2])
    code, out, err = finish(away)
    assert (code, out) == (0, "away\n") and "away for 4 s, while this session lasts" in err, err

    # A new conversation is announced; then a message ends both tails (--count counts events).
    direct = alice.json("dm", erin.name)["conversation"]["id"]
    erin_lines.wait_for(rf"^#{direct} {STAMP} ~ new direct {direct} @{alice.name}$")
    # A peer's new display name: shown whatever the conversation filter.
    d.ok("account.update_profile", display_name="Dave Renamed")
    erin_lines.wait_for(rf'^{STAMP} ~ {dave.username} is now shown as "Dave Renamed"$')
    bob_lines.wait_for(rf'"type":"user".*"display_name":"Dave Renamed"')
    alice.run("send", group, "bye")
    code, out, err = finish(bob_tail)
    assert code == 0, err
    records = [json.loads(line) for line in bob_lines.lines + out.splitlines()]
    events = [r for r in records if "type" not in r]
    assert [(e["seq"], e["text"]) for e in events] == [(3, "bye")] and records[-1] is events[-1]
    types = {r["type"] for r in records if "type" in r}
    assert {"typing", "receipt", "presence"} <= types, types
    assert all(r["conversation_id"] == group for r in records if r.get("type") in ("typing", "receipt"))
    code, out, err = finish(erin_tail)
    assert code == 0, err
    assert re.fullmatch(rf"#{group} \[3\] {STAMP} {alice.name}: bye", (erin_lines.lines + out.splitlines())[-1])

    # Alice is offline now, with a last-seen time, unless she hides it.
    deadline = time.time() + 10
    while not re.search(rf"^{alice.name}\s+offline\s+{DATE}$", bob.out("presence", alice.name), re.M):
        assert time.time() < deadline, bob.out("presence", alice.name)
        time.sleep(0.2)
    assert alice.out("settings", "--last-seen", "off") == "read receipts: on, last seen: off, discoverable: on\n"
    assert bob.json("presence", alice.name)["users"] == [{"user_id": alice_id, "status": "offline"}]
    assert alice.json("online", "--for", 1) == {"status": "online"}
    d.close()


def test_conversation_settings(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    first = alice.json("dm", bob.name)["conversation"]["id"]
    second = alice.json("group", "create", "Second", "--members", bob.name)["conversation"]["id"]
    assert alice.out("mute", first) == f"conversation {first}: muted until unmuted\n"
    out = alice.out("mute", second, "--for", "8h")
    assert re.match(rf"^conversation {second}: muted until {DATE}\n$", out), out
    muted_until = alice.json("mute", second, "--for", "2h")["settings"]["muted_until"]
    assert abs(muted_until - (time.time() + 7200) * 1000) < 60_000
    assert alice.out("unmute", second) == f"conversation {second}: no settings (not muted, archived, pinned or marked unread)\n"
    assert alice.out("archive", second) == f"conversation {second}: archived\n"
    assert alice.out("unarchive", second) == f"conversation {second}: no settings (not muted, archived, pinned or marked unread)\n"
    assert alice.out("pin-conversation", second) == f"conversation {second}: pinned (rank 1)\n"
    assert alice.out("mark-unread", first) == f"conversation {first}: muted until unmuted, marked unread\n"
    assert alice.json("pin-conversation", first) == {
        "conversation_id": first,
        "settings": {"muted_until": -1, "archived": False, "pin_rank": 2, "marked_unread": True, "cleared_seq": 0,
                     "notify": "default"}}
    # The list shows the flags, pinned conversations first (the last pinned on top).
    rows = [line.split() for line in alice.out("conversations").splitlines()]
    assert rows[0][7] == "FLAGS"
    assert [int(r[0]) for r in rows[1:3]] == [first, second]
    assert rows[1][7] == "muted,pinned,unread" and rows[2][7] == "pinned"
    assert alice.out("unpin-conversation", first) == f"conversation {first}: muted until unmuted, marked unread\n"
    # Bob's are his own; usage and refusals.
    assert [r for r in (line.split() for line in bob.out("conversations").splitlines()) if r[0] == str(first)][0][7] == "-"
    assert "--for" in alice.run("mute", first, "--for", "soon", expect=USAGE).stderr
    carol = registered(server, tmp_path, "carol")
    assert carol.run("archive", second, expect=REFUSED).stderr.startswith("error: not_member: ")


def test_notify_level_and_do_not_disturb(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    chat = alice.json("dm", bob.name)["conversation"]["id"]
    assert alice.out("notify", chat, "mentions") == f"conversation {chat}: notifications: mentions\n"
    assert alice.json("notify", chat, "none")["settings"]["notify"] == "none"
    assert alice.out("notify", chat, "default") == f"conversation {chat}: no settings (not muted, archived, pinned or marked unread)\n"
    assert "LEVEL" in alice.run("notify", chat, "loud", expect=USAGE).stderr
    assert alice.out("dnd") == "notifications on\n"
    assert alice.out("dnd", "--forever") == "paused until turned on again; quiet now\n"
    out = alice.out("dnd", "--off", "--quiet", "22:00-07:00", "--timezone", "Europe/Berlin")
    assert re.fullmatch(r"quiet 22:00-07:00 \(Europe/Berlin\)(; quiet now)?\n", out), out
    assert alice.json("dnd", "--no-quiet")["notifications"] == {"dnd_until": 0, "schedule": None, "quiet_now": False}
    assert alice.run("dnd", "--quiet", "22:00-07:00", "--timezone", "Mars/Olympus",
                     expect=REFUSED).stderr.startswith("error: invalid_field: ")
    assert "--for" in alice.run("dnd", "--for", "8h", "--off", expect=USAGE).stderr



def test_hide_and_clear(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    conversation = alice.json("dm", bob.name)["conversation"]["id"]
    for text in ("one", "two", "three", "four"):
        bob.json("send", conversation, text)
    assert alice.out("hide", conversation, 2) == f"hid [2] in conversation {conversation} for you, on all your devices\n"
    assert alice.out("hide", conversation, 2) == "[2] was hidden already: nothing changed\n"
    assert alice.json("hide", conversation, 3, 1) == {"conversation_id": conversation, "seqs": [1, 3], "changed": True}
    # history shows them in their place as hidden; bob's is unchanged.
    stamp = r"\d\d:\d\d:\d\d"
    lines = alice.out("history", conversation).splitlines()
    assert re.fullmatch(rf"\[2\] {stamp} {bob.name}: \(hidden\)", lines[1]), lines
    assert re.fullmatch(rf"\[4\] {stamp} {bob.name}: four", lines[3]), lines
    assert "(hidden)" not in bob.out("history", conversation)
    # clear: everything there is, or up to a seq; it never goes back.
    assert alice.out("clear", conversation, "--up-to", 2) == f"conversation {conversation}: cleared up to [2]\n"
    assert [e["seq"] for e in alice.json("history", conversation)["events"]] == [3, 4]
    assert alice.json("clear", conversation, "--up-to", 1)["settings"]["cleared_seq"] == 2
    assert alice.out("clear", conversation) == f"conversation {conversation}: cleared up to [4]\n"
    assert alice.run("history", conversation).stderr == "parley: no events in that range\n"
    row = [r for r in (line.split() for line in alice.out("conversations").splitlines()) if r[0] == str(conversation)][0]
    assert row[7] == "cleared" and row[-1] == "-"  # no last message left to show
    assert alice.run("hide", conversation, "x", expect=USAGE).returncode == USAGE
    carol = registered(server, tmp_path, "carol")
    assert carol.run("hide", conversation, 1, expect=REFUSED).stderr.startswith("error: not_member: ")

def test_users_search(server, tmp_path):
    tag = new_name("f")
    alice = registered(server, tmp_path, tag + "a")
    bob = registered(server, tmp_path, tag + "b")
    carol = registered(server, tmp_path, tag + "c")
    alice.json("dm", bob.name)
    rows = [line.split() for line in alice.out("users", "search", tag).splitlines()]
    assert rows[0] == ["ID", "USERNAME", "DISPLAY_NAME", "CONTACT"]
    assert [(r[1], r[3]) for r in rows[1:]] == [(bob.name, "yes"), (carol.name, "-")]
    found = alice.json("users", "search", tag.upper(), "--limit", 1)
    assert [u["username"] for u in found["users"]] == [bob.name] and found["has_more"] is True and found["cursor"]
    every = alice.json("users", "search", tag, "--limit", 1, "--all")
    assert [u["username"] for u in every["users"]] == [bob.name, carol.name] and every["has_more"] is False
    assert carol.out("settings", "--discoverable", "off") == "read receipts: on, last seen: on, discoverable: off\n"
    assert [u["username"] for u in alice.json("users", "search", tag)["users"]] == [bob.name]
    assert alice.run("users", "search", "   ", expect=REFUSED).stderr.startswith("error: invalid_field: ")


def test_profile_display_name(server, tmp_path):
    tag = new_name("p")
    alice = registered(server, tmp_path, tag + "a")
    bob = registered(server, tmp_path, tag + "b")
    me = alice.json("whoami")["user"]
    assert alice.out("profile", "--display-name", "  Alice   Liddell ") == \
        f'{alice.name} (id {me["id"]}) is now shown as "Alice Liddell"\n'
    assert alice.json("whoami")["user"]["display_name"] == "Alice Liddell"
    assert [u["username"] for u in bob.json("users", "search", "liddell")["users"]] == [alice.name]
    reply = alice.json("profile", "--display-name", "")  # "": the username
    assert reply["user"] == {**me, "display_name": alice.name}
    # Refusals: the server's code and message; a missing option is a usage error.
    assert alice.run("profile", "--display-name", bob.name, expect=REFUSED).stderr == \
        "error: conflict: that display name looks like another user's username\n"
    assert alice.run("profile", "--display-name", "x" * 65, expect=REFUSED).stderr.startswith("error: too_large: ")
    assert alice.run("profile", "--display-name", "a\u202eb", expect=REFUSED).stderr.startswith("error: invalid_field: ")
    alice.run("profile", expect=USAGE)


# --- files ------------------------------------------------------------------------------------

def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_send_a_file_and_get_it_back(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    carol = registered(server, tmp_path, "carol")
    # Several pieces of the streamed transfer, of no known format (fixed: random bytes are now
    # and then something to libmagic, say "MZ…", a DOS executable).
    data = random.Random(19).randbytes(200 * 1024 + 3)
    path = tmp_path / "report.bin"
    path.write_bytes(data)

    out = alice.out("send", "--to", bob.name, "--file", path, "the", "report")
    uploaded, sent = out.splitlines()
    match = re.fullmatch(r"uploaded report\.bin, 200\.0 KiB, application/octet-stream, media ([A-Za-z0-9_-]{22})",
                         uploaded)
    assert match, out
    media_id = match.group(1)
    sent_match = re.fullmatch(r"sent to conversation (\d+): seq 1, message \d+, client_msg_id [0-9a-f]{32}", sent)
    assert sent_match, out
    conversation = int(sent_match.group(1))

    # Bob sees the caption and the file; history --json has the media object.
    line = bob.out("history", conversation).strip()
    assert re.fullmatch(rf"\[1\] \d\d:\d\d:\d\d {alice.name}: the report  "
                        rf"\[file report\.bin, 200\.0 KiB, application/octet-stream, media {media_id}\]", line), line
    event = bob.json("history", conversation)["events"][0]
    assert event["text"] == "the report"
    assert event["attachments"] == [{"id": media_id, "file_name": "report.bin", "size": len(data),
                                     "content_type": "application/octet-stream", "thumbnail": False}]
    assert f"{alice.name}: the report [file report.bin]" in bob.out("conversations")

    # Bob gets it back, byte for byte, to a file and to stdout.
    out = bob.out("get", media_id, "-o", tmp_path / "copy.bin")
    assert out == f"saved media {media_id} to {tmp_path / 'copy.bin'} (200.0 KiB)\n"
    assert sha256_of(tmp_path / "copy.bin") == hashlib.sha256(data).hexdigest()
    raw = subprocess.run(bob.argv("get", media_id, "-o", "-"), capture_output=True, timeout=30,
                         env=clean_env(tmp_path))
    assert raw.returncode == OK and raw.stdout == data, raw.stderr
    assert bob.json("get", media_id, "-o", tmp_path / "again.bin") == {
        "media_id": media_id, "path": str(tmp_path / "again.bin"), "size": len(data)}

    # Carol is in no conversation carrying it: refused with the code, and no file is left.
    err = carol.run("get", media_id, "-o", tmp_path / "stolen.bin", expect=REFUSED).stderr
    assert err.startswith(f"error: not_found: media {media_id} cannot be downloaded"), err
    assert not (tmp_path / "stolen.bin").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]

    # Several files without a caption (--json: the ack and the media), and a file forwarded by id.
    (tmp_path / "a.txt").write_text("first file\n")
    (tmp_path / "b.txt").write_text("second file\n")
    ack = alice.json("send", conversation, "--file", tmp_path / "a.txt", "--file", tmp_path / "b.txt")
    assert ack["seq"] == 2 and [m["file_name"] for m in ack["attachments"]] == ["a.txt", "b.txt"]
    assert [m["content_type"] for m in ack["attachments"]] == ["text/plain", "text/plain"]
    line = bob.out("history", conversation, "--after", 1).strip()
    assert re.fullmatch(rf"\[2\] \d\d:\d\d:\d\d {alice.name}: \[file a\.txt, 11 bytes, text/plain, media \S+\]"
                        rf"  \[file b\.txt, 12 bytes, text/plain, media \S+\]", line), line
    group = bob.json("group", "create", "fwd", "--members", carol.name)["conversation"]["id"]
    bob.run("send", group, "--media", media_id, "fyi")
    carol.run("get", media_id, "-o", tmp_path / "forwarded.bin")
    assert sha256_of(tmp_path / "forwarded.bin") == hashlib.sha256(data).hexdigest()


def test_upload_prints_the_media(server, tmp_path):
    alice = registered(server, tmp_path, "alice")
    (tmp_path / "notes.txt").write_text("some notes\n")
    media = alice.json("upload", tmp_path / "notes.txt")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", media["id"])
    assert {k: media[k] for k in ("file_name", "size", "content_type")} == {
        "file_name": "notes.txt", "size": 11, "content_type": "text/plain"}
    out = alice.out("upload", tmp_path / "notes.txt", "--type", "application/octet-stream")
    assert re.fullmatch(r"uploaded notes\.txt, 11 bytes, text/plain, media [A-Za-z0-9_-]{22}\n", out), out


def test_file_errors(make_server, tmp_path):
    server = make_server(*HIGH_RATE, "--media.max_file_bytes", "1000").start()
    alice = registered(server, tmp_path, "alice")
    bob = registered(server, tmp_path, "bob")
    # A missing file: a usage error naming it, before anything is sent.
    missing = tmp_path / "missing.jpg"
    for args in (["send", "--to", bob.name, "--file", missing, "hi"], ["upload", missing]):
        err = alice.run(*args, expect=USAGE).stderr
        assert err == f"error: cannot read {missing}: No such file or directory\n", err
    assert alice.run("send", "--to", bob.name, "--file", tmp_path, expect=USAGE).stderr == \
        f"error: cannot send {tmp_path}: not a regular file\n"
    # Too large for media.max_file_bytes: the server's too_large, and no message.
    (tmp_path / "big.txt").write_bytes(b"x" * 1001)
    err = alice.run("send", "--to", bob.name, "--file", tmp_path / "big.txt", "caption", expect=REFUSED).stderr
    assert err.startswith("error: too_large: "), err
    assert alice.run("upload", tmp_path / "big.txt", expect=REFUSED).stderr.startswith("error: too_large: ")
    assert alice.json("conversations")["conversations"] == []
    # A "PNG" that is text: refused by media.complete, with the server's code.
    (tmp_path / "fake.png").write_text("not an image")
    err = alice.run("upload", tmp_path / "fake.png", expect=REFUSED).stderr
    assert err.startswith("error: invalid_field: declared image/png but the bytes are text/plain"), err
    # Usage: send needs a text or a file; get needs -o; an unknown media id is not found.
    alice.run("send", "--to", bob.name, expect=USAGE)
    alice.run("get", "Xq3vB0sQ9kz1Hh7wL2pA_g", expect=USAGE)
    err = alice.run("get", "Xq3vB0sQ9kz1Hh7wL2pA_g", "-o", tmp_path / "x", expect=REFUSED).stderr
    assert err.startswith("error: not_found: "), err


def test_upload_to_an_s3_store(make_server, s3rver, tmp_path):
    """With media.backend = s3 the PUT goes to the store's absolute pre-signed URL, whose
    signature covers the Host and Content-Length the CLI sends."""
    port, directory = s3rver
    server = make_server(*HIGH_RATE, "--media.backend", "s3", "--media.s3.endpoint", f"http://127.0.0.1:{port}",
                         "--media.s3.bucket", "parley-media", "--media.s3.access_key", "S3RVER",
                         "--media.s3.secret_key", "S3RVER").start()
    alice = registered(server, tmp_path, "alice")
    data = os.urandom(150 * 1024)
    (tmp_path / "blob.bin").write_bytes(data)
    proc = alice.run("upload", tmp_path / "blob.bin", expect=None)
    # media.complete on s3 may still be to come (docs/protocol.md): then its refusal is shown.
    assert proc.returncode == OK or proc.stderr.startswith("error: unavailable: "), proc.stderr
    stored = glob.glob(os.path.join(directory, "parley-media", "media", "*object"))
    assert len(stored) == 1, os.listdir(directory)
    assert open(stored[0], "rb").read() == data
