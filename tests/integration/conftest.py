import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import HIGH_RATE  # noqa: E402
import clustered  # noqa: E402

# The server the fixtures start: one parleyd, or three nodes behind HAProxy in the cluster pass.
Server = clustered.server_class()


def pytest_configure(config):
    config.addinivalue_line("markers", "single_node(why): checks one process's own listener, files or signals; "
                                       "skipped in the cluster pass (clustered.py)")


def pytest_collection_modifyitems(config, items):
    if clustered.enabled():
        for item in items:
            marker = item.get_closest_marker("single_node")
            if marker:
                why = marker.args[0] if marker.args else "one process's own listener, files or signals"
                item.add_marker(pytest.mark.skip(reason="single node: " + why))


@pytest.fixture(scope="module")
def server():
    """One parleyd (or clustered.py's three) per test module (tests in a module share it; they use fresh users)."""
    s = Server(*HIGH_RATE).start()
    yield s
    code = s.stop()
    log = s.read_log()
    s.cleanup()
    assert code == 0, "parleyd exited uncleanly:\n" + log[-20000:]


@pytest.fixture
def make_server():
    """Factory for servers with their own settings; all are stopped at the end of the test."""
    servers = []

    def make(*args, **kwargs):
        s = Server(*args, **kwargs)
        servers.append(s)
        return s

    yield make
    for s in servers:
        try:
            s.cleanup()
        except Exception:
            pass


@pytest.fixture(scope="module")
def make_module_server():
    """Factory for one module-wide server with its own settings."""
    servers = []

    def make(*args):
        s = Server(*args).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        code = s.stop()
        log = s.read_log()
        s.cleanup()
        assert code == 0, "parleyd exited uncleanly:\n" + log[-20000:]
