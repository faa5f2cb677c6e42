"""Safe defaults: private files, erased content that really leaves the disk, static files that
cannot escape web_root, and settings that refuse unsafe values at start-up."""
import os
import stat
import subprocess
import time

import pytest
import requests

import postgres
from harness import HIGH_RATE, PARLEYD

# The files of the embedded store live in the data directory only with SQLite.
SQLITE_FILES = ("parley.db", "parley.db-wal", "parley.db-shm") if postgres.engine() == "sqlite" else ()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.single_node("one process's data directory")
def test_data_dir_and_files_are_private_from_the_start(make_server, tmp_path):
    data_dir = tmp_path / "fresh"
    data_dir.mkdir(mode=0o700)  # (the harness keeps parleyd's log there)
    old_umask = os.umask(0o022)  # what a careless service manager would leave
    try:
        s = make_server(*HIGH_RATE, data_dir=str(data_dir)).start()
    finally:
        os.umask(old_umask)
    user, peer = s.register(), s.register()
    user.connect().send_text(to_user_id=peer.id, text="private")
    assert _mode(data_dir) == 0o700
    for name in (*SQLITE_FILES, "token.key"):
        path = data_dir / name
        assert path.exists(), name
        assert _mode(path) & 0o077 == 0, f"{name} is {oct(_mode(path))}"


@pytest.mark.single_node("one process's data directory")
def test_files_left_readable_by_an_older_version_are_tightened(make_server, tmp_path):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    s = make_server(*HIGH_RATE, data_dir=str(data_dir)).start()
    s.register()
    s.stop()
    os.chmod(data_dir, 0o755)
    for name in (*SQLITE_FILES[:1], "token.key"):
        os.chmod(data_dir / name, 0o644)
    s.start()
    assert _mode(data_dir) == 0o700
    for name in (*SQLITE_FILES[:1], "token.key"):
        assert _mode(data_dir / name) == 0o600, name
    assert "security.permissions_tightened" in s.read_log()


def _files_contain(data_dir, needle):
    found = []
    for name in ("parley.db", "parley.db-wal"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                if needle in f.read():
                    found.append(name)
    return found


@pytest.mark.skipif(postgres.engine() != "sqlite", reason="SQLite's files; PostgreSQL's vacuum: docs/operations.md")
def test_deleted_text_leaves_the_database_and_the_wal(make_server):
    s = make_server(*HIGH_RATE).start()
    alice, bob = s.register(), s.register()
    a = alice.connect()
    secret = "erase-me-" + os.urandom(8).hex()
    conversation = a.send_text(to_user_id=bob.id, text=secret)["conversation_id"]
    a.ok("message.edit", conversation_id=conversation, seq=1, text=secret + " (edited)")
    assert _files_contain(s.data_dir, secret.encode())  # it was written
    a.ok("message.delete", conversation_id=conversation, seq=1)
    # The WAL is truncated right after a delete (retried until no reader holds it), and
    # secure_delete zeroes the freed bytes in the database file.
    deadline = time.time() + 10
    while _files_contain(s.data_dir, secret.encode()) and time.time() < deadline:
        time.sleep(0.1)
    assert _files_contain(s.data_dir, secret.encode()) == []


def test_symlinks_under_web_root_are_not_served(make_server, tmp_path):
    web_root = tmp_path / "web"
    web_root.mkdir()
    (web_root / "index.html").write_text("<!doctype html><title>app</title>")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the web")
    os.symlink(outside / "secret.txt", web_root / "leak.txt")
    os.symlink(outside, web_root / "linked")
    s = make_server("--server.web_root", str(web_root)).start()
    assert requests.get(s.base + "/index.html").text.startswith("<!doctype html>")
    for path in ("/leak.txt", "/linked/secret.txt"):
        r = requests.get(s.base + path)
        assert r.status_code == 404 and "not for the web" not in r.text, path


def _refused(*args):
    r = subprocess.run([PARLEYD, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    return r.stderr


def test_unsafe_settings_are_refused_at_start_up():
    assert "at least 32 bytes" in _refused("--auth.secret", "k")
    assert "at least 32 bytes" in _refused("--auth.admin_token", "short-admin-token")
    assert "at least 32 bytes" in _refused("--auth.jwt_secret", "x" * 31)
    assert "within 1..16777216" in _refused("--limits.max_text_bytes", "-1")
    assert "within 1..31536000" in _refused("--auth.token_ttl_s", str(10000 * 365 * 24 * 3600))
    assert "must be one of full|normal" in _refused("--store.sqlite_synchronous", "off")
    assert "must be one of" in _refused("--server.log_level", "verbose")
    assert "ping_interval_ms" in _refused("--limits.ping_interval_ms", "70000")
