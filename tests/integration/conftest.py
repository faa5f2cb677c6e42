import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import HIGH_RATE, ParleyServer  # noqa: E402


@pytest.fixture(scope="module")
def server():
    """One parleyd per test module (tests in a module share it; they use fresh users)."""
    s = ParleyServer(*HIGH_RATE).start()
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
        s = ParleyServer(*args, **kwargs)
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
        s = ParleyServer(*args).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        code = s.stop()
        log = s.read_log()
        s.cleanup()
        assert code == 0, "parleyd exited uncleanly:\n" + log[-20000:]
