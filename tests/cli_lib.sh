# Helpers for the CLI tests in tests/cli/: expect exact output or an error.
# Sourced by the scripts; $RAVINE is the CLI under test.
set -u
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect_out NAME WANT CMD...: stdout of CMD equals WANT and it exits 0
expect_out() {
  local name=$1 want=$2; shift 2
  local got rc
  got=$("$@" 2>"$tmp/err"); rc=$?
  if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); printf 'FAIL %s (rc %d)\n--- want\n%s\n--- got\n%s\n%s\n' "$name" $rc "$want" "$got" "$(cat "$tmp/err")"; fi
}

# expect_err NAME WANT_STDERR CMD...: CMD exits 2 with exactly WANT_STDERR and no stdout
expect_err() {
  local name=$1 want=$2; shift 2
  local got rc
  "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  got=$(cat "$tmp/err")
  if [ $rc -eq 2 ] && [ "$got" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); printf 'FAIL %s (rc %d, want 2)\n--- want stderr\n%s\n--- got\n%s\n' "$name" $rc "$want" "$got"; fi
}

# wellformed FILE: FILE is well-formed XML (xmllint from libxml2-utils,
# installed by scripts/setup.sh, or python3's parser)
if command -v xmllint >/dev/null 2>&1; then
  wellformed() { xmllint --noout "$1"; }
elif command -v python3 >/dev/null 2>&1; then
  wellformed() { python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$1"; }
else
  wellformed() { echo "FAIL: neither xmllint (apt: libxml2-utils) nor python3 is installed to check $1"; return 1; }
fi

# check NAME CONDITION-COMMAND...
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name"; fi
}

finish() {
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
}
