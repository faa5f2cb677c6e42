"""The operator documentation lists every setting the binary has."""
import os
import subprocess

from harness import PARLEYD

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_every_setting_is_documented():
    table = subprocess.run([PARLEYD, "--settings-markdown"], capture_output=True, text=True, check=True).stdout
    names = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert len(names) > 40
    with open(os.path.join(ROOT, "docs", "operations.md")) as f:
        operations = f.read()
    missing = [n for n in names if f"`{n}`" not in operations]
    assert not missing, f"docs/operations.md lacks {missing}; regenerate its table with parleyd --settings-markdown"
    # Defaults and allowed ranges too: the table is exactly what the binary prints.
    assert table in operations, "docs/operations.md's settings table is stale: run scripts/update-settings-doc.sh"


def test_help_lists_every_setting_with_its_default():
    text = subprocess.run([PARLEYD, "--help"], capture_output=True, text=True, check=True).stdout
    line = [l for l in text.splitlines() if "--limits.max_frame_bytes" in l][0]
    assert "=131072" in line
    assert "PARLEY_STORE_SQLITE_SYNCHRONOUS" in text


def test_bad_config_is_refused(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[limits]\nno_such_setting = 1\n')
    r = subprocess.run([PARLEYD, "--config", str(config)], capture_output=True, text=True)
    assert r.returncode == 2 and "no_such_setting" in r.stderr
    r = subprocess.run([PARLEYD, "--limits.max_frame_bytes", "lots"], capture_output=True, text=True)
    assert r.returncode == 2 and "not an integer" in r.stderr
