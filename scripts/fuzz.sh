#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into build-fuzz/ and runs
# each one for a given time, starting from a copy of its committed seed corpus, with its dictionary.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   fuzz each target SECONDS (default 300)
#   scripts/fuzz.sh --smoke                  a short run of every target (for scripts/test.sh)
#   scripts/fuzz.sh --merge [SECONDS]        afterwards, add the inputs that reach new code to the
#                                            committed corpus (minimized; review with git status)
#
# Exit status: 0 if no target crashed; 1 if one crashed, aborted (a contract check), leaked or
# hung: its reproducer is printed and kept. PARLEY_FUZZ_SKIP turns off the checks of known
# findings (tests/fuzz/findings/README.md). FUZZ_BUILD_DIR (default build-fuzz) and
# FUZZ_WORK_DIR (default: a fresh folder under /tmp) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=300
smoke=0
merge=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --merge) merge=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) seconds=$arg ;;
    parse_fuzz|rest_fuzz|websocket_fuzz|proxy_fuzz|cluster_wire_fuzz|metadata_strip_fuzz) targets+=("$arg") ;;
    *) echo "fuzz.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
if ((smoke)); then seconds=10; fi
if ((${#targets[@]} == 0)); then targets=(parse_fuzz rest_fuzz websocket_fuzz proxy_fuzz cluster_wire_fuzz metadata_strip_fuzz); fi

# --- tools: the project's build dependencies, then clang, libFuzzer's runtime and llvm-symbolizer
./scripts/install-deps.sh
missing=()
for p in clang libclang-rt-dev llvm; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz.sh: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- build (the configure line of tests/fuzz/README.md)
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DPARLEY_TESTS=OFF >/dev/null
fi
ninja -C "$build" --quiet "${targets[@]}"
for t in "${targets[@]}"; do [ -x "$build/tests/fuzz/$t" ] || { echo "fuzz.sh: $build/tests/fuzz/$t was not built" >&2; exit 1; }; done

# --- run
work=${FUZZ_WORK_DIR:-$(mktemp -d /tmp/parley-fuzz.XXXXXX)}
mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

corpus_of() { case "$1" in parse_fuzz) echo parse ;; rest_fuzz) echo rest ;; websocket_fuzz) echo websocket ;; proxy_fuzz) echo proxy ;; cluster_wire_fuzz) echo cluster_wire ;; metadata_strip_fuzz) echo metadata_strip ;; esac; }
dict_of() { case "$1" in parse_fuzz) echo tests/fuzz/parse.dict ;; rest_fuzz) echo tests/fuzz/rest.dict ;; esac; }
max_len_of() { case "$1" in websocket_fuzz) echo 70000 ;; proxy_fuzz|cluster_wire_fuzz) echo 4096 ;; metadata_strip_fuzz) echo 16384 ;; *) echo 140000 ;; esac; }  # parse/rest: over the 64 KiB frame limit

failed=0
summary=()
for t in "${targets[@]}"; do
  name=$(corpus_of "$t")
  dir="$work/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$name"/* "$dir/corpus/"
  seeds=$(find "$dir/corpus" -type f | wc -l)
  args=(-max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=25 -rss_limit_mb=4096
        -print_final_stats=1 -artifact_prefix="$dir/")
  dict=$(dict_of "$t")
  if [ -n "$dict" ]; then args+=(-dict="$dict"); fi
  echo "== $t: ${seconds}s from $seeds seeds (log: $dir/log)"
  status=0
  "$build/tests/fuzz/$t" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1 || status=$?

  inited=$(grep -m1 'INITED' "$dir/log" | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  last=$(grep -E '^#[0-9]+' "$dir/log" | grep 'cov:' | tail -1 || true)
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$dir/log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
  corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' <<<"$last" | cut -d' ' -f2 || true)
  line="$t: cov ${cov:-?} ft ${ft:-?} corpus ${corp:-?} (seeds alone: ${inited:-?}), ${runs:-?} runs in ${seconds}s"
  if ((status != 0)); then
    failed=1
    line="$t: FAILED (exit $status) after ${runs:-?} runs; last seen: ${last:-nothing (failed while loading the seeds)}"
    echo "$line"
    grep -E 'contract broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY|ALARM' "$dir/log" | head -8 | sed 's/^/   /'
    grep -o "Test unit written to .*" "$dir/log" | sed "s|Test unit written to|   reproducer:|"
    echo "   replay: $build/tests/fuzz/$t <reproducer>    full log: $dir/log"
  else
    echo "$line"
  fi
  summary+=("$line")

  if ((merge && status == 0)); then
    before=$(find "tests/fuzz/corpus/$name" -type f | wc -l)
    "$build/tests/fuzz/$t" -merge=1 -max_len="$(max_len_of "$t")" ${dict:+-dict="$dict"} \
      "tests/fuzz/corpus/$name" "$dir/corpus" >"$dir/merge.log" 2>&1
    echo "   merged: tests/fuzz/corpus/$name $before -> $(find "tests/fuzz/corpus/$name" -type f | wc -l) files"
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "fuzz.sh: a target failed; reproducers and logs are in $work" >&2
  exit 1
fi
[ -n "${FUZZ_WORK_DIR:-}" ] || rm -rf "$work"
