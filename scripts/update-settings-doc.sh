#!/usr/bin/env bash
# Regenerates the settings table of docs/operations.md from `parleyd --settings-markdown`.
set -euo pipefail
cd "$(dirname "$0")/.."
PARLEYD=${PARLEYD:-build/src/app/parleyd}
/usr/bin/python3 - "$PARLEYD" <<'PY'
import subprocess, sys
table = subprocess.run([sys.argv[1], "--settings-markdown"], capture_output=True, text=True, check=True).stdout
path = "docs/operations.md"
text = open(path).read()
begin = text.index("<!-- settings:begin")
begin = text.index("\n", begin) + 1
end = text.index("<!-- settings:end -->")
open(path, "w").write(text[:begin] + table + text[end:])
PY
