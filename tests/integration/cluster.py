"""Parley's cluster-mode infrastructure on loopback, for the tests and for ./scripts/cluster.sh:
a NATS cluster with JetStream (NatsCluster), Redis (RedisServer), a PostgreSQL primary with a
synchronous streaming standby (PostgresPair), HAProxy from deploy/haproxy.cfg (HAProxy), and
parleyd nodes using them all (ParleyNode, LocalCluster).

Every process is started in a session of its own (it outlives the CLI; a test stops it by PID
in a finalizer) and is stopped by its PID only: other test runs on this machine use the same
programs. Waits are bounded and say what they waited for.

CLI (state in DIR/cluster.json; logs and data stay in DIR unless `down --wipe`):
    python3 tests/integration/cluster.py up --nodes 3 --dir var/cluster [--port 8080] [--parleyd PATH]
                                            [--node-arg ARG ...]   (extra parleyd flags for every node)
    python3 tests/integration/cluster.py status --dir var/cluster
    python3 tests/integration/cluster.py down --dir var/cluster [--wipe]
"""
import argparse
import base64
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ports import free_port  # noqa: E402
from postgres import PostgresServer, _bin  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
try:  # the tests' helpers (register(), api(), metric()) for ParleyNode when requests/websocket exist
    from harness import PARLEYD, ParleyServer as _NodeBase  # noqa: E402
except ImportError:  # the CLI under a python3 without them: the nodes work all the same
    _NodeBase = object
    PARLEYD = os.environ.get("PARLEYD", os.path.join(REPO, "build", "src", "app", "parleyd"))
HAPROXY_TEMPLATE = os.path.join(REPO, "deploy", "haproxy.cfg")
STATE_FILE = "cluster.json"
MARKER = ".parley-cluster"  # `down --wipe` removes only directories that carry it


# --- small helpers -------------------------------------------------------------------------------

def port_is_free(port):
    """Nothing listens on 127.0.0.1:port (connections in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(what, predicate, timeout=30.0, interval=0.1, detail=None):
    """Polls predicate() until it is truthy (returns its value); raises TimeoutError naming
    `what` (and detail(), e.g. a log tail) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = detail() if detail else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}" + (f"\n{extra}" if extra else ""))
        time.sleep(interval)


def http_get(url, timeout=2.0):
    """(status, body) of a GET, or (None, error text) when there is no HTTP answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, ValueError) as e:
        return None, str(e)


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


LAUNCH_MARK = "--- cluster.py: starting "


def tail(path, lines=30):
    """The last `lines` lines of a log, from the last start of its process on."""
    try:
        with open(path, errors="replace") as f:
            text = f.readlines()
    except OSError:
        return ""
    starts = [i for i, line in enumerate(text) if line.startswith(LAUNCH_MARK)]
    if starts:
        text = text[starts[-1] + 1:]
    return "".join(text[-lines:])


def mark_launch(log, what):
    log.write(f"{LAUNCH_MARK}{what} at {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
    log.flush()


def proc_starttime(pid):
    """The kernel's start time of `pid` (clock ticks since boot), None when there is no such
    live process. With the PID it names a process exactly (PIDs are reused)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # exited, not yet reaped
        return None
    return int(fields[19])


def pid_alive(pid, starttime=None):
    if not pid:
        return False
    now = proc_starttime(pid)
    return now is not None and (starttime is None or now == starttime)


def stop_pid(pid, starttime=None, timeout=30.0, sig=signal.SIGTERM):
    """Sends `sig` to the process (only if it still is the one started at `starttime`), waits
    up to `timeout` s for it to exit, then SIGKILLs it. Returns how it ended."""
    if not pid_alive(pid, starttime):
        return "not running"
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, starttime):
            return "stopped"
        time.sleep(0.05)
    if pid_alive(pid, starttime):
        os.kill(pid, signal.SIGKILL)
        wait_for(f"PID {pid} to die after SIGKILL", lambda: not pid_alive(pid, starttime), timeout=10)
        return "killed"
    return "stopped"


def resp_ping(port, timeout=1.0, host="127.0.0.1"):
    """True when the Redis server on `port` answers PING with PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop_popen(proc, sig=signal.SIGTERM, timeout=20.0):
    """Sends `sig` to a child (a subprocess.Popen) and reaps it, SIGKILL after `timeout`;
    returns its exit code (None if there is no child)."""
    if not proc:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


class Proc:
    """A child process in a session of its own, output appended to a log file."""

    def __init__(self, cmd, log_path, env=None):
        self.cmd, self.log_path, self.env = list(cmd), log_path, env
        self.proc = None

    def launch(self):
        with open(self.log_path, "ab") as log:
            mark_launch(log, os.path.basename(self.cmd[0]))
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)
        self.starttime = proc_starttime(self.proc.pid)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops the process (SIGKILL after `timeout`); returns its exit code."""
        return stop_popen(self.proc, sig, timeout)

    def kill(self):
        return self.stop(signal.SIGKILL)

    def record(self):
        return {"pid": self.pid, "starttime": self.starttime, "log": self.log_path}


# --- NATS ---------------------------------------------------------------------------------------

class NatsCluster:
    """`n` nats-server processes with JetStream, joined by routes into the cluster `name`.
    Server i (0-based) keeps its client, route and monitoring ports and its JetStream store
    across stop(i)/kill(i)/start(i)."""

    def __init__(self, n=3, base_dir=None, name="parley", start=True, host="127.0.0.1"):
        self.n, self.name, self.host = n, name, host
        self.owns_dir = base_dir is None
        self.base_dir = os.path.abspath(base_dir or tempfile.mkdtemp(prefix="parley-nats-"))
        self.client_ports = [free_port() for _ in range(n)]
        self.route_ports = [free_port() for _ in range(n)]
        self.monitor_ports = [free_port() for _ in range(n)]
        self.procs = [None] * n
        for i in range(n):
            os.makedirs(self.server_dir(i), exist_ok=True)
        if start:
            self.start_all()

    @property
    def urls(self):
        return [f"nats://{self.host}:{p}" for p in self.client_ports]

    @property
    def url(self):
        """Every server's client URL, comma-separated (what --bus.url takes)."""
        return ",".join(self.urls)

    def server_name(self, i):
        return f"{self.name}-nats-{i + 1}"

    def server_dir(self, i):
        return os.path.join(self.base_dir, f"nats-{i + 1}")

    def log_path(self, i):
        return os.path.join(self.server_dir(i), "nats-server.log")

    def command(self, i):
        cmd = ["nats-server", "-a", self.host, "-p", str(self.client_ports[i]), "-n", self.server_name(i),
               "-m", str(self.monitor_ports[i]), "-js", "-sd", os.path.join(self.server_dir(i), "jetstream")]
        if self.n > 1:
            routes = ",".join(f"nats://{self.host}:{p}" for j, p in enumerate(self.route_ports) if j != i)
            cmd += ["--cluster_name", self.name, "--cluster", f"nats://{self.host}:{self.route_ports[i]}",
                    "--routes", routes]
        return cmd

    def running(self, i):
        return self.procs[i] is not None and self.procs[i].alive()

    def pid(self, i):
        return self.procs[i].pid if self.running(i) else None

    def launch(self, i):
        if not self.running(i):
            self.procs[i] = Proc(self.command(i), self.log_path(i)).launch()
        return self.procs[i]

    def monitor(self, i, path):
        status, body = http_get(f"http://{self.host}:{self.monitor_ports[i]}{path}")
        if status != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None

    def num_routes(self, i):
        routez = self.monitor(i, "/routez")
        return routez["num_routes"] if routez else None

    def healthy(self, i):
        """/healthz answers ok: accepting clients and, clustered, JetStream has a meta leader."""
        return http_get(f"http://{self.host}:{self.monitor_ports[i]}/healthz")[0] == 200

    def _accepts_clients(self, i):
        try:
            with socket.create_connection((self.host, self.client_ports[i]), timeout=1) as s:
                s.settimeout(1)
                return s.recv(4096).startswith(b"INFO ")
        except OSError:
            return False

    def wait_ready(self, i, timeout=60.0, jetstream=True):
        """Waits until server i accepts clients and has a route to every other running server;
        with `jetstream`, also until its /healthz is ok (JetStream has a meta leader: after all
        servers restart, the Raft election of NATS 2.9 takes 5-20 s)."""
        def check_alive():
            if not self.running(i):
                raise RuntimeError(f"nats-server {self.server_name(i)} exited with {self.procs[i].proc.returncode}:\n"
                                   + tail(self.log_path(i)))
            return True

        def log():
            return f"log {self.log_path(i)}:\n" + tail(self.log_path(i))

        wait_for(f"{self.server_name(i)} to accept clients on port {self.client_ports[i]}",
                 lambda: check_alive() and self._accepts_clients(i), timeout, detail=log)
        others = sum(1 for j in range(self.n) if j != i and self.running(j))
        wait_for(f"{self.server_name(i)} to have {others} route(s) (GET /routez num_routes)",
                 lambda: check_alive() and (self.num_routes(i) or 0) >= others, timeout, detail=log)
        if jetstream and others + 1 > self.n // 2:  # a meta leader needs a quorum
            wait_for(f"{self.server_name(i)} /healthz (JetStream meta leader)",
                     lambda: check_alive() and self.healthy(i), timeout, interval=0.25, detail=log)

    def start(self, i, timeout=60.0, jetstream=True):
        """(Re)starts server i on its ports and store; waits until it is routed (and healthy)."""
        self.launch(i)
        self.wait_ready(i, timeout, jetstream)
        return self

    def start_all(self, timeout=60.0, jetstream=True):
        for i in range(self.n):
            self.launch(i)
        for i in range(self.n):
            self.wait_ready(i, timeout, jetstream)
        return self

    def stop(self, i, timeout=20.0):
        if self.procs[i]:
            self.procs[i].stop(timeout=timeout)

    def kill(self, i):
        if self.procs[i]:
            self.procs[i].kill()

    def stop_all(self):
        for i in range(self.n):
            self.stop(i)

    def cleanup(self):
        self.stop_all()
        if self.owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)


# --- Redis --------------------------------------------------------------------------------------

class RedisServer:
    """redis-server on a free loopback port, no persistence."""

    def __init__(self, base_dir=None, port=None, start=True, host="127.0.0.1"):
        self.owns_dir = base_dir is None
        self.host = host
        self.dir = os.path.abspath(base_dir or tempfile.mkdtemp(prefix="parley-redis-"))
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "redis.log")
        self.proc = None
        if start:
            self.start()

    @property
    def url(self):
        return f"redis://{self.host}:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.alive() else None

    def command(self):
        # Protected mode refuses clients from any address but 127.0.0.1 and ::1; bound to another
        # (private) address on purpose, it must be off.
        protected = ["--protected-mode", "no"] if self.host != "127.0.0.1" else []
        return ["redis-server", "--bind", self.host, "--port", str(self.port), "--dir", self.dir, *protected,
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", self.log_path]

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def ping(self):
        return resp_ping(self.port, host=self.host)

    def launch(self):
        if not self.alive():
            self.proc = Proc(self.command(), self.log_path).launch()
        return self.proc

    def wait_ready(self, timeout=30.0):
        def check():
            if not self.alive():
                raise RuntimeError(f"redis-server exited with {self.proc.proc.returncode}:\n" + tail(self.log_path))
            return self.ping()
        wait_for(f"redis-server on port {self.port} to answer PING", check, timeout,
                 detail=lambda: tail(self.log_path))

    def start(self, timeout=30.0):
        self.launch()
        self.wait_ready(timeout)
        return self

    def stop(self, timeout=20.0):
        if self.proc:
            self.proc.stop(timeout=timeout)

    def kill(self):
        if self.proc:
            self.proc.kill()

    def restart(self, timeout=30.0):
        self.stop()
        return self.start(timeout)

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- s3rver (media.backend = s3) ----------------------------------------------------------------

S3RVER_SCRIPT = os.path.join(REPO, "tests", "s3presign", "s3rver.mjs")
S3RVER_BUCKET = "parley-media"
# s3rver's own test credentials (it accepts these and does not check V4 signatures): not a secret.
S3RVER_KEY = "S3RVER"


def s3rver_available():
    """True when node and s3rver (npm ci --prefix tests/s3presign) are installed."""
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(REPO, "tests", "s3presign", "node_modules", "s3rver"))


class S3rverServer:
    """s3rver (an S3-compatible server, tests/s3presign/s3rver.mjs) on a free loopback port with
    the bucket parley-media, its objects under DIR/data: the cluster's object store."""

    def __init__(self, base_dir, port=None, start=True):
        self.dir = os.path.abspath(base_dir)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "s3rver.log")
        self.proc = None
        if start:
            self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def node_args(self):
        """The parleyd flags that make a node keep media in this server's bucket."""
        return ["--media.backend", "s3", "--media.s3.endpoint", self.url, "--media.s3.bucket", S3RVER_BUCKET,
                "--media.s3.access_key", S3RVER_KEY, "--media.s3.secret_key", S3RVER_KEY]

    def command(self):
        return ["node", S3RVER_SCRIPT, os.path.join(self.dir, "data"), "--port", str(self.port), "--lifetime", "0"]

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def launch(self):
        if not self.alive():
            self.proc = Proc(self.command(), self.log_path).launch()
        return self.proc

    def wait_ready(self, timeout=30.0):
        def check():
            if not self.alive():
                raise RuntimeError(f"s3rver exited with {self.proc.proc.returncode}:\n" + tail(self.log_path))
            return port_accepts(self.port)
        wait_for(f"s3rver on port {self.port} to accept connections", check, timeout,
                 detail=lambda: tail(self.log_path))

    def start(self, timeout=30.0):
        self.launch()
        self.wait_ready(timeout)
        return self

    def stop(self, timeout=20.0):
        if self.proc:
            self.proc.stop(timeout=timeout)


# --- PostgreSQL ---------------------------------------------------------------------------------

def _as_postgres_user_possible(path):
    """Root runs PostgreSQL as `postgres`: that user must be able to reach `path`."""
    if os.geteuid() != 0:
        return True
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", path]).returncode == 0


class PgNode(PostgresServer):
    """A PostgresServer in a chosen directory (initdb only when `init` and there is no data
    yet), its pg_ctl in a session of its own. Same API as PostgresServer."""

    def __init__(self, directory, port=None, settings=None, init=True):
        self.port = port or free_port()
        self.dir = os.path.abspath(directory)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.settings = {"max_connections": "300", "fsync": "on", "synchronous_commit": "on",
                         "shared_buffers": "128MB", **(settings or {})}
        self.as_root = os.geteuid() == 0
        os.makedirs(self.dir, exist_ok=True)
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
            if not _as_postgres_user_possible(self.dir):
                raise RuntimeError(f"the postgres user cannot reach {self.dir}: a parent directory is not "
                                   "searchable by it (pick a directory under /tmp or the repository)")
        if init and not self.has_data():
            # --no-sync: a throwaway cluster's files need not survive an OS crash (saves seconds).
            self._run([_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"], quiet=True)
        self.started = self.running()

    def has_data(self):
        return os.path.exists(os.path.join(self.data, "PG_VERSION"))

    def _run(self, cmd, quiet=False, check=True, timeout=120):
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{tail(self.log)}")
        return out

    def running(self):
        try:
            return pid_alive(self.pid())
        except (OSError, ValueError):
            return False

    def ready(self):
        """pg_isready: accepting connections."""
        return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def query(self, sql, database="postgres", timeout=30):
        """Runs SQL with psql; its unaligned output, or raises RuntimeError."""
        return psql(self.url(database), sql, timeout)

    def in_recovery(self):
        """True on a standby, False on a primary, None when it does not answer."""
        try:
            return self.query("SELECT pg_is_in_recovery()", timeout=10) == "t"
        except (RuntimeError, subprocess.TimeoutExpired):
            return None


def psql(url, sql, timeout=30):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"psql {sql!r} on {url} failed: {out.stderr.strip()}")
    return out.stdout.strip()


class PostgresPair:
    """A PostgreSQL primary and a streaming standby (pg_basebackup -R, application_name
    standby1) that the primary waits for on every commit (synchronous_standby_names =
    'standby1', synchronous_commit = on). url() names both: libpq picks whichever is writable.

    The primary's synchronous_standby_names lives in its postgresql.auto.conf (ALTER SYSTEM,
    set only once the standby streams: until then every commit would hang); the standby is
    copied before that, so after promote_standby() the new primary waits for no one."""

    STANDBY_NAME = "standby1"
    REPLICATION_ROLE = "replicator"

    def __init__(self, base_dir=None, settings=None, start=True, host="127.0.0.1", client_net=None):
        """`host`: the address clients reach both servers at (they also listen on 127.0.0.1);
        `client_net`: a CIDR whose clients may connect too (pg_hba.conf), besides 127.0.0.1."""
        self.owns_dir = base_dir is None
        self.host, self.client_net = host, client_net
        self.dir = os.path.abspath(base_dir or tempfile.mkdtemp(prefix="parley-pgpair-"))
        os.makedirs(self.dir, exist_ok=True)
        if self.owns_dir:
            os.chmod(self.dir, 0o755)
        # Replication settings on both (a hot standby needs max_connections & co >= the primary's).
        common = {"wal_level": "replica", "max_wal_senders": "10", "max_replication_slots": "10",
                  "hot_standby": "on", "wal_keep_size": "256MB", **(settings or {})}
        if host != "127.0.0.1":
            common["listen_addresses"] = f"127.0.0.1,{host}"
        self.nodes = [PgNode(os.path.join(self.dir, "primary"), settings=common),
                      PgNode(os.path.join(self.dir, "standby"), settings=common, init=False)]
        self.primary_index = 0
        if start:
            self.start()

    @property
    def primary(self):
        return self.nodes[self.primary_index]

    @property
    def standby(self):
        return self.nodes[1 - self.primary_index]

    @property
    def ports(self):
        return [n.port for n in self.nodes]

    def url(self, database="postgres"):
        hosts = ",".join(f"{self.host}:{n.port}" for n in self.nodes)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write&connect_timeout=2"

    def psql(self, sql, database="postgres", timeout=30):
        return psql(self.url(database), sql, timeout)

    def create_database(self, name=None):
        name = name or "parley_" + secrets.token_hex(6)
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            self.psql(f"CREATE DATABASE {name}")
        return name

    def replication(self):
        """Rows of pg_stat_replication on the primary: [(application_name, state, sync_state)]."""
        out = self.primary.query("SELECT application_name, state, sync_state FROM pg_stat_replication", timeout=10)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def sync_state(self):
        for name, state, sync in self.replication():
            if name == self.STANDBY_NAME and state == "streaming":
                return sync
        return None

    def start_primary(self, timeout=60.0):
        primary = self.nodes[0]
        if not primary.running():
            primary.start()
        # Until the standby streams, the primary must not wait for it (a restart keeps
        # postgresql.auto.conf, which names it).
        primary.query("ALTER SYSTEM RESET synchronous_standby_names")
        primary.query("SELECT pg_reload_conf()")
        wait_for("the primary to drop synchronous_standby_names",
                 lambda: primary.query("SHOW synchronous_standby_names") == "", timeout)
        primary.query(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{self.REPLICATION_ROLE}') "
                      f"THEN CREATE ROLE {self.REPLICATION_ROLE} WITH REPLICATION LOGIN; END IF; END$$")
        hba = os.path.join(primary.data, "pg_hba.conf")
        lines = f"host replication {self.REPLICATION_ROLE} 127.0.0.1/32 trust\n"
        if self.client_net:
            lines += f"host all all {self.client_net} trust\n"
        with open(hba) as f:
            if lines not in f.read():
                with open(hba, "a") as f2:
                    f2.write("# the standby and clients of tests/integration/cluster.py\n" + lines)
                primary.query("SELECT pg_reload_conf()")

    def start_standby(self, timeout=60.0):
        """A fresh copy of the primary (pg_basebackup -R), started and confirmed synchronous."""
        primary, standby = self.nodes
        if standby.running():
            standby.stop("fast")
        shutil.rmtree(standby.data, ignore_errors=True)
        conninfo = (f"host=127.0.0.1 port={primary.port} user={self.REPLICATION_ROLE} "
                    f"application_name={self.STANDBY_NAME}")
        standby._run([_bin("pg_basebackup"), "-D", standby.data, "-R", "-X", "stream", "-c", "fast", "--no-sync",
                      "-d", conninfo])
        auto_conf = os.path.join(standby.data, "postgresql.auto.conf")
        with open(auto_conf) as f:
            written = f.read()
        if f"application_name={self.STANDBY_NAME}" not in written:
            raise RuntimeError(f"pg_basebackup -R wrote no application_name into {auto_conf}:\n{written}")
        standby.start()
        wait_for(f"{self.STANDBY_NAME} to stream from the primary (pg_stat_replication)",
                 lambda: self.sync_state() is not None, timeout, detail=lambda: tail(standby.log))
        primary.query(f"ALTER SYSTEM SET synchronous_standby_names = '{self.STANDBY_NAME}'")
        primary.query("SELECT pg_reload_conf()")
        wait_for(f"{self.STANDBY_NAME} to be synchronous (sync_state = 'sync')",
                 lambda: self.sync_state() == "sync", timeout, detail=lambda: str(self.replication()))

    def start(self, timeout=60.0):
        self.primary_index = 0
        self.start_primary(timeout)
        self.start_standby(timeout)
        return self

    def promote_standby(self, timeout=60.0):
        """Fails over: the primary stops at once (like a crash), the standby is promoted; waits
        until the new primary accepts writes. The old primary stays down."""
        old, new = self.primary, self.standby
        old.stop("immediate")
        new._run([_bin("pg_ctl"), "-D", new.data, "-w", "-t", str(int(timeout)), "promote"])
        self.primary_index = self.nodes.index(new)

        def writable():
            try:
                return new.query("SELECT pg_is_in_recovery()", timeout=10) == "f" and \
                    new.query("SELECT txid_current()", timeout=10) != ""
            except (RuntimeError, subprocess.TimeoutExpired):
                return False
        wait_for(f"the promoted standby (port {new.port}) to accept writes", writable, timeout,
                 detail=lambda: tail(new.log))
        return new

    def stop(self, mode="fast"):
        for node in self.nodes:
            if node.running():
                node.started = True
                node.stop(mode)

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- HAProxy ------------------------------------------------------------------------------------

def render_haproxy_config(frontend, backends, stats, template=HAPROXY_TEMPLATE):
    """deploy/haproxy.cfg with its markers filled: `frontend` and `stats` are bind arguments
    ("127.0.0.1:8080"), `backends` [(name, port or "host:port")]. Comment lines are kept as
    they are (they name the markers)."""
    with open(template) as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            out.append(line)
        elif line.strip() == "{{SERVERS}}":
            indent = line[:len(line) - len(line.lstrip())]
            for name, where in backends:
                address = where if isinstance(where, str) else f"127.0.0.1:{where}"
                out.append(f"{indent}server {name} {address}")
        else:
            out.append(line.replace("{{FRONTEND}}", frontend).replace("{{STATS}}", stats))
    config = "\n".join(out) + "\n"
    left = [line for line in config.splitlines() if "{{" in line and not line.lstrip().startswith("#")]
    if left:
        raise ValueError(f"unfilled markers in {template}: {left}")
    return config


def check_haproxy_config(path):
    """`haproxy -c -f path`: returns its output, raises RuntimeError when invalid."""
    out = subprocess.run(["haproxy", "-c", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"haproxy -c -f {path} failed:\n{out.stdout}")
    return out.stdout


class HAProxy:
    """haproxy -db (foreground, a child) with deploy/haproxy.cfg filled for loopback."""

    def __init__(self, frontend_port, backends, base_dir, stats_port=None, start=True):
        self.port = frontend_port
        self.stats_port = stats_port or free_port()
        self.backends = list(backends)
        self.dir = os.path.abspath(base_dir)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "haproxy.cfg")
        self.log_path = os.path.join(self.dir, "haproxy.log")
        with open(self.config_path, "w") as f:
            f.write(render_haproxy_config(f"127.0.0.1:{self.port}", self.backends, f"127.0.0.1:{self.stats_port}"))
        check_haproxy_config(self.config_path)
        self.proc = None
        if start:
            self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_url(self):
        return f"http://127.0.0.1:{self.stats_port}/"

    @property
    def pid(self):
        return self.proc.pid if self.alive() else None

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def launch(self):
        if not self.alive():
            self.proc = Proc(["haproxy", "-f", self.config_path, "-db"], self.log_path).launch()
        return self.proc

    def wait_ready(self, timeout=30.0):
        def check():
            if not self.alive():
                raise RuntimeError(f"haproxy exited with {self.proc.proc.returncode}:\n" + tail(self.log_path))
            return port_accepts(self.port) and http_get(self.stats_url)[0] == 200
        wait_for(f"haproxy to listen on {self.port} (stats on {self.stats_port})", check, timeout,
                 detail=lambda: tail(self.log_path))

    def start(self, timeout=30.0):
        self.launch()
        self.wait_ready(timeout)
        return self

    def server_states(self):
        """{server name: status} from the stats page's CSV (UP, DOWN, "UP 1/2", ...)."""
        status, body = http_get(self.stats_url + ";csv")
        if status != 200:
            return {}
        rows = [line.split(",") for line in body.splitlines() if line and not line.startswith("#")]
        return {r[1]: r[17] for r in rows if len(r) > 17 and r[1] not in ("FRONTEND", "BACKEND")
                and r[0] != "stats"}

    def stop(self, timeout=20.0):
        if self.proc:
            self.proc.stop(timeout=timeout)


# --- parleyd ------------------------------------------------------------------------------------

# Flags the cluster passes that older parleyd builds do not know (for a clearer failure message).
CLUSTER_FLAGS = ["--server.node_id", "--store.url", "--bus.url", "--server.metrics_listen",
                 "--server.drain_ms", "--server.trusted_proxies"]


def unknown_flags(binary, flags):
    try:
        text = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    if "--data-dir" not in text:  # not parleyd's usage text: no hint
        return []
    return [f for f in flags if f.startswith("--") and f + " " not in text and f + "\n" not in text]


class ParleyNode(_NodeBase):
    """One parleyd of the cluster, started in a session of its own with the cluster flags; log
    in DATA_DIR/parleyd.log. Stopped (SIGTERM), killed (-9) and started again on the same ports
    and data dir. Under pytest it is a harness.ParleyServer too (register(), api(), metric())."""

    def __init__(self, node_id, data_dir, store_url, bus_url, redis_url=None, port=None, metrics_port=None,
                 args=(), defaults=None, binary=None, env=None, host="127.0.0.1", netns=None):
        """`host`: the address it listens on (and its metrics); `netns`: a network namespace to
        run it in (`ip netns exec`, as root), where `host` is one of that namespace's addresses."""
        self.node_id = node_id
        self.host, self.netns = host, netns
        self.port = port or free_port()
        self.metrics_port = metrics_port or free_port()
        self.binary = binary or PARLEYD
        self.env = env
        self.data_dir = os.path.abspath(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.owns_dir = False
        self.log_path = os.path.join(self.data_dir, "parleyd.log")
        self.proc = None
        self.starttime = None
        self.store_url = store_url
        self.defaults = [] if defaults is None else list(defaults)
        self.args = ["--server.node_id", str(node_id), "--store.url", store_url, "--bus.url", bus_url]
        if redis_url:
            self.args += ["--directory.url", redis_url]
        self.args += ["--server.metrics_listen", f"{host}:{self.metrics_port}", *args]

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self):
        return f"ws://{self.host}:{self.port}/ws"

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """SIGTERM (parleyd drains, then exits); SIGKILL after `timeout`. Returns the exit code."""
        return stop_popen(self.proc, sig, timeout)

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()

    @property
    def name(self):
        return f"parleyd-{self.node_id}"

    @property
    def pid(self):
        return self.proc.pid if self.alive() else None

    def command(self):
        where = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*where, self.binary, "--listen", f"{self.host}:{self.port}", "--data-dir", self.data_dir,
                *self.defaults, *self.args]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def launch(self):
        if self.alive():
            return self
        env = dict(os.environ, **(self.env or {}))
        with open(self.log_path, "ab") as log:
            mark_launch(log, f"{self.name} (node_id {self.node_id})")
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.starttime = proc_starttime(self.proc.pid)
        return self

    def ready(self):
        return http_get(self.base + "/readyz", timeout=1)[0] == 200

    def metrics_ready(self):
        return http_get(f"http://{self.host}:{self.metrics_port}/readyz", timeout=1)[0] == 200

    def failure(self, what):
        missing = unknown_flags(self.binary, [a for a in self.args if a.startswith("--")])
        hint = (f"\nthis parleyd ({self.binary}) does not list {', '.join(missing)} in --help: "
                "rebuild (./scripts/build.sh) once they exist") if missing else ""
        return (f"{self.name} (port {self.port}) {what}{hint}\nlast lines of {self.log_path}:\n"
                + tail(self.log_path, 30))

    def wait_ready(self, timeout=30.0):
        def check():
            if self.proc.poll() is not None:
                raise RuntimeError(self.failure(f"exited with status {self.proc.returncode} before /readyz "
                                                "answered 200"))
            return self.ready()
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() >= deadline:
                raise TimeoutError(self.failure(f"did not answer 200 on /readyz within {timeout:.0f}s"))
            time.sleep(0.1)
        return self

    def start(self, *extra, timeout=30.0):
        if extra:
            self.args += list(extra)
        self.launch()
        return self.wait_ready(timeout)

    def record(self):
        return {"component": self.name, "kind": "parleyd", "pid": self.proc.pid if self.proc else None,
                "starttime": self.starttime, "port": self.port, "metrics_port": self.metrics_port,
                "node_id": self.node_id, "dir": self.data_dir, "log": self.log_path, "command": self.command()}


# --- the whole cluster --------------------------------------------------------------------------

class LocalCluster:
    """NATS (3 servers), Redis, a PostgreSQL pair, N parleyd nodes and HAProxy in front, all in
    `base_dir`. With `state_path`, the state (every PID, port, directory) is rewritten there as
    each component starts, so a failed up() still leaves a complete list to stop."""

    def __init__(self, base_dir, parleyd=None, front_port=None, nats_servers=3, node_args=None,
                 node_defaults=None, state_path=None, database="parley", host="127.0.0.1", client_net=None,
                 placement=None, media=None):
        """`host`: the address NATS, Redis and PostgreSQL listen on (the network-partition test
        puts it on a dummy interface that a node in a namespace reaches over a veth link);
        `client_net`: a CIDR PostgreSQL also trusts; `placement`: {node_id: (netns, address)}
        for nodes that run in a network namespace of their own; `media`: "s3" (s3rver as the
        object store, media.backend = s3), "local" (one media.dir and media.secret shared by all
        nodes, as a shared file system would be), or None (the nodes' own settings)."""
        self.host, self.client_net, self.placement = host, client_net, dict(placement or {})
        self.dir = os.path.abspath(base_dir)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, MARKER), "w") as f:
            f.write("made by tests/integration/cluster.py; `cluster.py down --wipe` may delete this directory\n")
        self.parleyd = os.path.abspath(parleyd or PARLEYD)
        self.front_port = front_port or free_port()
        self.nats_servers = nats_servers
        # drain_ms: docs/operations.md's value behind deploy/haproxy.cfg (inter 1s x fall 2).
        self.node_args = list(node_args) if node_args is not None else [
            "--server.trusted_proxies", "127.0.0.1", "--server.drain_ms", "3000"]
        self.node_defaults = node_defaults
        self.state_path = state_path
        self.database = database
        self.nats = self.redis = self.postgres = self.haproxy = self.s3rver = None
        self.nodes = []
        self.secret = self._secret()
        self.media = media
        self.media_secret = self._secret("media.secret") if media == "local" else None
        self.vapid_key = self._secret("push.vapid_private_key")
        if media == "local":
            self.node_args += ["--media.dir", os.path.join(self.dir, "media")]

    def _secret(self, name="auth.secret"):
        """The nodes' shared token key (auth.secret; media.secret alike), kept in DIR/NAME across
        up/down and handed over in the environment (node_env), not on command lines."""
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                # The VAPID key is a P-256 private scalar (base64url); the others any 32+ bytes.
                f.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
                        if name == "push.vapid_private_key" else secrets.token_hex(32))
        with open(path) as f:
            return f.read().strip()

    # -- lifecycle
    def up(self, nodes=3, timeout=90.0):
        """Starts everything and waits until HAProxy answers /readyz 200 through a node."""
        if not port_is_free(self.front_port):
            raise RuntimeError(f"port {self.front_port} is in use on 127.0.0.1: choose another front port")
        self.save()
        self.nats = NatsCluster(self.nats_servers, os.path.join(self.dir, "nats"), start=False, host=self.host)
        for i in range(self.nats.n):
            self.nats.launch(i)
        self.save()
        self.redis = RedisServer(os.path.join(self.dir, "redis"), start=False, host=self.host)
        self.redis.launch()
        self.save()
        if self.media == "s3":
            self.s3rver = S3rverServer(os.path.join(self.dir, "s3rver"), start=False)
            self.s3rver.launch()
            self.save()
            self.node_args = self.s3rver.node_args() + self.node_args  # flags of the caller's come later, and win
        for i in range(self.nats.n):
            self.nats.wait_ready(i, timeout)
        self.redis.wait_ready(timeout)
        if self.s3rver:
            self.s3rver.wait_ready(timeout)
        self.postgres = PostgresPair(os.path.join(self.dir, "postgres"), start=False, host=self.host,
                                     client_net=self.client_net)
        self.save()  # data dirs recorded before pg_ctl runs: `down` stops whatever runs there
        self.postgres.start(timeout)
        self.postgres.create_database(self.database)
        self.save()
        for node_id in range(1, nodes + 1):
            self.add_node(node_id, wait=False)
        for node in self.nodes:
            node.wait_ready(timeout)
        self.haproxy = HAProxy(self.front_port, [(n.name, f"{n.host}:{n.port}") for n in self.nodes],
                               os.path.join(self.dir, "haproxy"), start=False)
        self.haproxy.launch()
        self.save()
        self.haproxy.wait_ready(timeout)
        wait_for(f"HAProxy on port {self.front_port} to answer /readyz 200 through a node",
                 lambda: http_get(self.haproxy.url + "/readyz")[0] == 200, timeout,
                 detail=lambda: str(self.haproxy.server_states()))
        return self

    def bus_url(self, node_id):
        """Every NATS server, node i's list starting at server (i-1) % n (spreads the nodes)."""
        urls = self.nats.urls
        first = (node_id - 1) % len(urls)
        return ",".join(urls[first:] + urls[:first])

    def add_node(self, node_id, wait=True, timeout=60.0):
        netns, host = self.placement.get(node_id, (None, "127.0.0.1"))
        node = ParleyNode(node_id, os.path.join(self.dir, f"node-{node_id}"), self.postgres.url(self.database),
                          self.bus_url(node_id), self.redis.url, args=self.node_args, defaults=self.node_defaults,
                          binary=self.parleyd, env=node_env(self.dir), host=host, netns=netns)
        self.nodes.append(node)
        node.launch()
        self.save()
        if wait:
            node.wait_ready(timeout)
        return node

    def node(self, node_id):
        return next(n for n in self.nodes if n.node_id == node_id)

    def stop_node(self, node_id, timeout=30.0):
        """SIGTERM (drains: /readyz 503 for server.drain_ms, then closes sessions)."""
        return self.node(node_id).stop(timeout=timeout)

    def kill_node(self, node_id):
        self.node(node_id).kill9()

    def start_node(self, node_id, timeout=60.0):
        """Starts a stopped or killed node again on its ports and data dir."""
        node = self.node(node_id)
        node.launch()
        self.save()
        return node.wait_ready(timeout)

    def down(self, wipe=False):
        """Stops every process this object started, by PID (HAProxy, nodes, Redis, NATS, PostgreSQL)."""
        if self.haproxy:
            self.haproxy.stop()
        for node in self.nodes:  # all drain at once
            if node.alive():
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.proc:
                try:
                    node.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.kill9()
        if self.redis:
            self.redis.stop()
        if self.s3rver:
            self.s3rver.stop()
        if self.nats:
            self.nats.stop_all()
        if self.postgres:
            self.postgres.stop()
        if self.state_path and os.path.exists(self.state_path):
            os.remove(self.state_path)
        if wipe:
            wipe_dir(self.dir)

    # -- state
    def state(self):
        components = []
        if self.nats:
            for i in range(self.nats.n):
                p = self.nats.procs[i]
                components.append({"component": self.nats.server_name(i), "kind": "nats",
                                   "pid": p.pid if p else None, "starttime": p.starttime if p else None,
                                   "port": self.nats.client_ports[i], "route_port": self.nats.route_ports[i],
                                   "monitor_port": self.nats.monitor_ports[i], "dir": self.nats.server_dir(i),
                                   "log": self.nats.log_path(i)})
        if self.redis:
            p = self.redis.proc
            components.append({"component": "redis", "kind": "redis", "pid": p.pid if p else None,
                               "starttime": p.starttime if p else None, "port": self.redis.port,
                               "dir": self.redis.dir, "log": self.redis.log_path})
        if self.postgres:
            for role, node in (("primary", self.postgres.nodes[0]), ("standby", self.postgres.nodes[1])):
                pid = None
                try:
                    pid = node.pid()
                except (OSError, ValueError):
                    pass
                components.append({"component": f"postgres-{role}", "kind": "postgres", "role": role, "pid": pid,
                                   "starttime": proc_starttime(pid) if pid else None, "port": node.port,
                                   "dir": node.dir, "data": node.data, "log": node.log})
        if self.s3rver:
            p = self.s3rver.proc
            components.append({"component": "s3rver", "kind": "s3rver", "pid": p.pid if p else None,
                               "starttime": p.starttime if p else None, "port": self.s3rver.port,
                               "dir": self.s3rver.dir, "log": self.s3rver.log_path})
        for node in self.nodes:
            components.append(node.record())
        if self.haproxy:
            p = self.haproxy.proc
            components.append({"component": "haproxy", "kind": "haproxy", "pid": p.pid if p else None,
                               "starttime": p.starttime if p else None, "port": self.haproxy.port,
                               "stats_port": self.haproxy.stats_port, "config": self.haproxy.config_path,
                               "log": self.haproxy.log_path})
        return {"dir": self.dir, "parleyd": self.parleyd, "front_port": self.front_port,
                "url": f"http://127.0.0.1:{self.front_port}",
                "stats_url": self.haproxy.stats_url if self.haproxy else None,
                "store_url": self.postgres.url(self.database) if self.postgres else None,
                "bus_url": self.nats.url if self.nats else None,
                "redis_url": self.redis.url if self.redis else None,
                "media": self.media,
                "s3_url": self.s3rver.url + "/" + S3RVER_BUCKET if self.s3rver else None,
                "components": components}

    def save(self):
        if not self.state_path:
            return
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state(), f, indent=2)
        os.replace(tmp, self.state_path)

    def status(self):
        return status_of(self.state())


def component_status(c):
    """{component, pid, port, alive, healthy, detail} of one state-file entry."""
    kind, port = c["kind"], c.get("port")
    alive = pid_alive(c.get("pid"), c.get("starttime"))
    healthy, detail = False, ""
    if kind == "nats":
        status, _ = http_get(f"http://127.0.0.1:{c['monitor_port']}/healthz")
        healthy = status == 200
        routes = http_get(f"http://127.0.0.1:{c['monitor_port']}/routez")
        try:
            detail = f"/healthz {status}, {json.loads(routes[1])['num_routes']} routes"
        except (ValueError, KeyError, TypeError):
            detail = f"/healthz {status}"
    elif kind == "redis":
        healthy = resp_ping(port)
        detail = "PONG" if healthy else "no PONG"
    elif kind == "postgres":
        ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        alive = alive or (ready and c.get("pid") is None)
        if ready:
            try:
                recovery = psql(f"postgresql://postgres@127.0.0.1:{port}/postgres", "SELECT pg_is_in_recovery()", 10)
                detail = "standby (in recovery)" if recovery == "t" else "primary (writable)"
                if recovery == "f":
                    rows = psql(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                                "SELECT application_name || ':' || sync_state FROM pg_stat_replication", 10)
                    detail += ", standbys: " + (", ".join(rows.split()) or "none")
                healthy = (recovery == "t") == (c.get("role") == "standby")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                detail = str(e)
        else:
            detail = "pg_isready: not accepting connections"
    elif kind == "s3rver":
        healthy = port_accepts(port)
        detail = f"bucket {S3RVER_BUCKET}" if healthy else "not accepting connections"
    elif kind == "parleyd":
        status, _ = http_get(f"http://127.0.0.1:{port}/readyz")
        metrics, _ = http_get(f"http://127.0.0.1:{c['metrics_port']}/readyz")
        healthy = status == 200
        detail = f"/readyz {status}, metrics port {c['metrics_port']} /readyz {metrics}"
    elif kind == "haproxy":
        status, _ = http_get(f"http://127.0.0.1:{port}/readyz")
        healthy = status == 200
        detail = f"/readyz through it {status}, stats http://127.0.0.1:{c['stats_port']}/"
    return {"component": c["component"], "pid": c.get("pid"), "port": port, "alive": alive,
            "healthy": bool(alive and healthy), "detail": detail}


def status_of(state):
    return [component_status(c) for c in state["components"]]


def stop_pids(entries, timeout=30.0):
    """SIGTERM to every (pid, starttime) still running, then waits for all of them together;
    SIGKILL for those still there after `timeout`. Returns {pid: how it ended}."""
    result, waiting = {}, []
    for pid, starttime in entries:
        if not pid_alive(pid, starttime):
            result[pid] = "not running"
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            waiting.append((pid, starttime))
        except ProcessLookupError:
            result[pid] = "not running"
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        for pid, starttime in list(waiting):
            if not pid_alive(pid, starttime):
                result[pid] = "stopped"
                waiting.remove((pid, starttime))
    for pid, starttime in waiting:
        stop_pid(pid, starttime, 0, signal.SIGKILL)
        result[pid] = f"killed (still running {timeout:.0f}s after SIGTERM)"
    return result


def down_state(state, timeout=30.0, out=print):
    """Stops exactly what a state file lists: HAProxy, the nodes (together: each drains for
    server.drain_ms), Redis, NATS, s3rver by PID (SIGTERM, then SIGKILL after `timeout`), then
    PostgreSQL with pg_ctl stop -m fast in its data dir. Returns True when all stopped."""
    ok = True
    components = state["components"]
    for kinds in (("haproxy",), ("parleyd",), ("redis", "nats", "s3rver")):
        group = [c for c in components if c["kind"] in kinds]
        try:
            how = stop_pids([(c.get("pid"), c.get("starttime")) for c in group], timeout)
        except Exception as e:  # keep going: stop everything else
            how, ok = {c.get("pid"): f"FAILED: {e}" for c in group}, False
        for c in group:
            out(f"{c['component']:<18} pid {c.get('pid')!s:<8} {how.get(c.get('pid'), 'not running')}")
    for c in components:
        if c["kind"] == "postgres":
            try:
                how = stop_postgres(c, timeout)
            except Exception as e:
                how, ok = f"FAILED: {e}", False
            out(f"{c['component']:<18} pid {c.get('pid')!s:<8} {how}")
    still = [c["component"] for c in components if pid_alive(c.get("pid"), c.get("starttime"))]
    if still:
        out(f"still running: {', '.join(still)}")
    return ok and not still


def stop_postgres(c, timeout=30.0):
    data = c["data"]
    pidfile = os.path.join(data, "postmaster.pid")
    running_pid = None
    try:
        with open(pidfile) as f:
            running_pid = int(f.readline())
    except (OSError, ValueError):
        pass
    if running_pid and pid_alive(running_pid):
        cmd = [_bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "-t", str(int(timeout)), "stop"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=timeout + 30)
        if pid_alive(running_pid):
            return "pg_ctl stop failed; " + stop_pid(running_pid, None, timeout)
        return "stopped (pg_ctl stop -m fast)"
    # Not running from its data dir: the recorded PID, if it is still that process.
    return stop_pid(c.get("pid"), c.get("starttime"), timeout)


def wipe_dir(directory):
    if not os.path.exists(os.path.join(directory, MARKER)):
        raise RuntimeError(f"{directory} has no {MARKER}: not a cluster directory, not removing it")
    shutil.rmtree(directory)


def node_env(directory):
    """The secrets every node gets in its environment: the token key, the VAPID key and, with the
    local media backend, the media URL key (files in the cluster directory, made by LocalCluster)."""
    env = {}
    for name, variable in (("auth.secret", "PARLEY_AUTH_SECRET"), ("media.secret", "PARLEY_MEDIA_SECRET"),
                           ("push.vapid_private_key", "PARLEY_PUSH_VAPID_PRIVATE_KEY")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path) as f:
                env[variable] = f.read().strip()
    return env


# --- CLI ----------------------------------------------------------------------------------------

def load_state(directory):
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cli_up(args):
    directory = os.path.abspath(args.dir)
    state_path = os.path.join(directory, STATE_FILE)
    previous = load_state(directory)
    if previous:
        running = [c["component"] for c in previous["components"] if pid_alive(c.get("pid"), c.get("starttime"))]
        if running:
            sys.exit(f"a cluster is already up in {directory} ({', '.join(running)}): run `down` first")
        os.remove(state_path)  # stale: everything in it has exited
    port = args.port or 8080
    if not port_is_free(port):
        sys.exit(f"cluster: port {port} on 127.0.0.1 is in use; choose the front port with --port P")
    parleyd = os.path.abspath(args.parleyd or PARLEYD)
    if not os.access(parleyd, os.X_OK):
        sys.exit(f"cluster: no parleyd at {parleyd} (build it: ./scripts/build.sh)")
    media = args.media
    if media == "s3" and not s3rver_available():
        sys.exit("cluster: --media s3 needs node and s3rver (npm ci --prefix tests/s3presign)")
    if media is None:
        media = "s3" if s3rver_available() else "local"
    cluster = LocalCluster(directory, parleyd=parleyd, front_port=port, state_path=state_path, media=media)
    for value in args.node_arg:  # appended to the defaults (trusted_proxies, drain_ms)
        cluster.node_args += shlex.split(value)
    print(f"starting in {directory}: {cluster.nats_servers} NATS servers, Redis, PostgreSQL primary + standby, "
          f"{args.nodes} parleyd node(s), HAProxy; media: "
          + ("s3rver (media.backend = s3)" if media == "s3" else f"local, shared {directory}/media"), flush=True)
    try:
        cluster.up(nodes=args.nodes, timeout=args.timeout)
    except Exception as e:
        cluster.save()
        print(f"\ncluster: up FAILED: {e}\n", file=sys.stderr)
        print(f"What started is still running, recorded in {state_path}; stop it all with:\n"
              f"  python3 tests/integration/cluster.py down --dir {args.dir}   (./scripts/cluster.sh down)",
              file=sys.stderr)
        print_summary(cluster.state(), file=sys.stderr)
        sys.exit(1)
    print_summary(cluster.state())
    print(f"\nHAProxy: {cluster.haproxy.url}  (ws: ws://127.0.0.1:{port}/ws, stats: {cluster.haproxy.stats_url})")


def print_summary(state, file=sys.stdout):
    print(f"state file: {os.path.join(state['dir'], STATE_FILE)}", file=file)
    for c in state["components"]:
        extra = ""
        if c["kind"] == "parleyd":
            extra = f" metrics 127.0.0.1:{c['metrics_port']} node_id {c['node_id']}"
        elif c["kind"] == "nats":
            extra = f" monitor {c['monitor_port']} route {c['route_port']}"
        elif c["kind"] == "haproxy":
            extra = f" stats {c['stats_port']} config {c['config']}"
        print(f"  {c['component']:<18} pid {c.get('pid')!s:<8} 127.0.0.1:{c['port']}{extra}\n"
              f"  {'':<18} log {c['log']}", file=file)
    for key in ("store_url", "bus_url", "redis_url", "s3_url"):
        if state.get(key):
            print(f"  {key:<18} {state[key]}", file=file)


def cli_status(args):
    state = load_state(os.path.abspath(args.dir))
    if not state:
        print(f"no cluster state in {os.path.abspath(args.dir)} (not up)")
        return 1
    rows = status_of(state)
    print(f"{'component':<18} {'pid':<8} {'port':<6} {'alive':<6} {'healthy':<8} detail")
    for r in rows:
        print(f"{r['component']:<18} {r['pid']!s:<8} {r['port']!s:<6} {'yes' if r['alive'] else 'NO':<6} "
              f"{'yes' if r['healthy'] else 'NO':<8} {r['detail']}")
    print(f"front: {state['url']}")
    return 0 if all(r["healthy"] for r in rows) else 2


def cli_down(args):
    directory = os.path.abspath(args.dir)
    state = load_state(directory)
    ok = True
    if state:
        ok = down_state(state, timeout=args.timeout)
        if ok:
            os.remove(os.path.join(directory, STATE_FILE))
    else:
        print(f"no cluster state in {directory}: nothing to stop")
    if args.wipe and os.path.exists(directory):
        if not ok:
            sys.exit("not wiping: something did not stop (see above); the state file is kept")
        wipe_dir(directory)
        print(f"removed {directory}")
    elif ok and state:
        print(f"stopped; data and logs kept in {directory} (`down --wipe` removes them)")
    return 0 if ok else 1


def node_entry(state, node_id):
    for c in state["components"]:
        if c["kind"] == "parleyd" and c.get("node_id") == node_id:
            return c
    sys.exit(f"cluster: no node {node_id} in this cluster "
             f"(nodes: {', '.join(str(c['node_id']) for c in state['components'] if c['kind'] == 'parleyd')})")


def save_state(directory, state):
    path = os.path.join(directory, STATE_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(state, f, indent=2)
    os.replace(path + ".tmp", path)


def cli_stop_node(args):
    """SIGTERM (the node drains: /readyz 503, HAProxy moves new connections away, sessions are
    closed with 4010 after server.drain_ms) or, with --kill, SIGKILL."""
    directory = os.path.abspath(args.dir)
    state = load_state(directory)
    if not state:
        sys.exit(f"no cluster state in {directory} (not up)")
    c = node_entry(state, args.node_id)
    if not pid_alive(c.get("pid"), c.get("starttime")):
        print(f"{c['component']} is not running")
        return 0
    how = stop_pid(c["pid"], c["starttime"], args.timeout, signal.SIGKILL if args.kill else signal.SIGTERM)
    print(f"{c['component']} (pid {c['pid']}): {how}")
    return 0


def cli_start_node(args):
    """Starts a stopped or killed node again: same command, ports and data dir as `up` gave it."""
    directory = os.path.abspath(args.dir)
    state = load_state(directory)
    if not state:
        sys.exit(f"no cluster state in {directory} (not up)")
    c = node_entry(state, args.node_id)
    if pid_alive(c.get("pid"), c.get("starttime")):
        print(f"{c['component']} is already running (pid {c['pid']})")
        return 0
    if not c.get("command"):
        sys.exit(f"cluster: the state file has no command for {c['component']} (made by an older cluster.py): "
                 "`down`, then `up` again")
    env = dict(os.environ, **node_env(directory))
    with open(c["log"], "ab") as log:
        mark_launch(log, f"{c['component']} (node_id {c['node_id']})")
        proc = subprocess.Popen(c["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    c["pid"], c["starttime"] = proc.pid, proc_starttime(proc.pid)
    save_state(directory, state)
    url = f"http://127.0.0.1:{c['port']}/readyz"
    try:
        wait_for(f"{c['component']} to answer /readyz 200", lambda: proc.poll() is None and http_get(url)[0] == 200,
                 args.timeout, detail=lambda: tail(c["log"], 20))
    except Exception as e:
        sys.exit(f"cluster: {e}")
    print(f"{c['component']} started (pid {proc.pid}, 127.0.0.1:{c['port']})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="A local Parley cluster: NATS x3, Redis, PostgreSQL primary + "
                                                 "sync standby, N parleyd, HAProxy")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--dir", default="var/cluster")
    up.add_argument("--port", type=int, default=None, help="HAProxy's front port (default 8080)")
    up.add_argument("--parleyd", default=None, help="the parleyd binary (default build/src/app/parleyd)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds allowed for each component to be ready")
    up.add_argument("--media", choices=("s3", "local"), default=None,
                    help="s3: s3rver as the object store (the default when node and tests/s3presign's "
                         "s3rver are installed); local: one media.dir and media.secret shared by the nodes")
    up.add_argument("--node-arg", action="append", default=[], metavar="ARG",
                    help="extra parleyd arguments for every node (repeatable; split like a shell line, so "
                         "--node-arg '--auth.admin_token T' or --node-arg=--auth.admin_token --node-arg=T)")
    status = sub.add_parser("status")
    status.add_argument("--dir", default="var/cluster")
    down = sub.add_parser("down")
    down.add_argument("--dir", default="var/cluster")
    down.add_argument("--wipe", action="store_true", help="also delete data and logs")
    down.add_argument("--timeout", type=float, default=30.0, help="seconds after SIGTERM before SIGKILL")
    stop_node = sub.add_parser("stop-node", help="stop one parleyd node (drains) or kill it (--kill)")
    stop_node.add_argument("node_id", type=int)
    stop_node.add_argument("--dir", default="var/cluster")
    stop_node.add_argument("--kill", action="store_true", help="SIGKILL instead of SIGTERM")
    stop_node.add_argument("--timeout", type=float, default=30.0, help="seconds after SIGTERM before SIGKILL")
    start_node = sub.add_parser("start-node", help="start a stopped or killed node again")
    start_node.add_argument("node_id", type=int)
    start_node.add_argument("--dir", default="var/cluster")
    start_node.add_argument("--timeout", type=float, default=60.0, help="seconds allowed to answer /readyz 200")
    args = parser.parse_args(argv)
    if args.command == "stop-node":
        return cli_stop_node(args)
    if args.command == "start-node":
        return cli_start_node(args)
    if args.command == "up":
        if not 1 <= args.nodes <= 1023:
            parser.error("--nodes must be 1..1023")
        return cli_up(args) or 0
    if args.command == "status":
        return cli_status(args)
    return cli_down(args)


if __name__ == "__main__":
    sys.exit(main())
