"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder (as the `postgres`
user when running as root: PostgreSQL refuses to run as root), a free loopback port, fsync on.
Stopped by PID (pg_ctl) when the test run ends.

PARLEY_TEST_STORE=postgres makes every ParleyServer of the integration suite use a database of
its own on one such server (see harness.py)."""
import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/install-deps.sh installs it)")
    return found[-1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, port=None, settings=None):
        self.port = port or _free_port()
        self.dir = tempfile.mkdtemp(prefix="parley-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.settings = {"max_connections": "300", "fsync": "on", "synchronous_commit": "on",
                         "shared_buffers": "128MB", **(settings or {})}
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        self._run([_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C.UTF-8"], quiet=True)
        self.started = False

    def _run(self, cmd, quiet=False, check=True):
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{self.read_log()}")
        return out

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} " + " ".join(
            f"-c {k}={v}" for k, v in self.settings.items())
        self._run([_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options, "start"])
        self.started = True
        return self

    def stop(self, mode="fast"):
        """Stops the server: fast (clean) or immediate (like a crash: recovery at the next start)."""
        if self.started:
            self._run([_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"], check=False)
            self.started = False

    def pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres"):
        """Runs SQL with psql; returns its unaligned output."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(database),
                              "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr}")
        return out.stdout.strip()

    def create_database(self):
        name = "parley_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return name


class ExistingServer:
    """A server someone else started (scripts/test.sh), named by its admin URL."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.base = admin_url.rsplit("/", 1)[0]

    def url(self, database="postgres"):
        return f"{self.base}/{database}"

    psql = PostgresServer.psql
    create_database = PostgresServer.create_database


_shared = None


def shared_server():
    """The run's shared PostgreSQL server: the one $PARLEY_TEST_POSTGRES names, else one
    started on first use and stopped at exit."""
    global _shared
    if _shared is None:
        if os.environ.get("PARLEY_TEST_POSTGRES"):
            _shared = ExistingServer(os.environ["PARLEY_TEST_POSTGRES"])
        else:
            _shared = PostgresServer().start()
            atexit.register(_shared.cleanup)
    return _shared


def engine():
    return os.environ.get("PARLEY_TEST_STORE", "sqlite")


def wait_until(predicate, timeout=30, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


if __name__ == "__main__":
    # scripts/test.sh: `postgres.py start` prints "URL DIR" of a new server; `postgres.py stop DIR`.
    import sys
    if sys.argv[1:2] == ["start"]:
        server = PostgresServer().start()
        print(server.url(), server.dir)
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        server = PostgresServer.__new__(PostgresServer)
        server.dir = sys.argv[2]
        server.data = os.path.join(server.dir, "data")
        server.log = os.path.join(server.dir, "postgres.log")
        server.as_root = os.geteuid() == 0
        server.started = True
        server.cleanup()
    else:
        sys.exit("usage: postgres.py start | stop DIR")
