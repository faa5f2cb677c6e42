"""Free loopback ports for the servers the tests and scripts/cluster.sh start (no dependencies:
cluster.py's CLI imports it under a bare python3)."""
import socket
import threading

_handed_out = set()  # ports free_port() returned in this process
_lock = threading.Lock()


def free_port():
    """A port nothing listens on now, never one this process was given before: the kernel may
    hand out a port again as soon as the probing socket closes, and two servers started later
    (a NATS server's client port and another's route port, once) must not get the same one."""
    with _lock:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
