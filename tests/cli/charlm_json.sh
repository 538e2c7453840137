#!/usr/bin/env bash
# The charlm example end to end, on the system word list with a tiny model:
# the --json object (last line), the n-gram baselines of the split, a resumed
# run equal to an uninterrupted one, --compare's and --states' charts and
# CSVs, and the exact error messages.
set -euo pipefail
CHARLM="$RAVINE_BUILD/examples/charlm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
small=(--context 4 --embed 8 --hidden 32 --batch 64 --samples 5 --quiet --threads 1 --eval-tokens 3000)

# --json: stdout holds one object, last; losses fall from log 27
"$CHARLM" "${small[@]}" --steps 30 --eval-every 10 --json > "$tmp/out.json"
python3 - "$tmp/out.json" <<'PY'
import json, math, re, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[-1])
b = r["baselines"]
# measured on this split of Debian's wamerican (add-0.1 smoothing, on val)
want = {"bigram": 2.4693, "trigram": 2.1546, "4gram": 1.9061, "5gram": 1.7567}
for k, v in want.items():
    assert abs(b[k] - v) < 0.03, (k, b[k], v)
assert b["bigram"] > b["trigram"] > b["4gram"] > b["5gram"], b
assert 1.0 < r["val_loss"] < math.log(27) - 0.1, r["val_loss"]
assert len(r["samples"]) == 5 and all(re.fullmatch("[a-z]*", s) for s in r["samples"]), r["samples"]
assert [p["step"] for p in r["curve"]] == [0, 10, 20, 30], r["curve"]
assert abs(r["curve"][0]["val_loss"] - math.log(27)) < 0.05, r["curve"][0]
assert r["curve"][-1]["val_loss"] < r["curve"][0]["val_loss"] - 0.1, r["curve"]
assert r["tokens_per_s"] > 0 and 0 <= r["optimizer_time_share"] < 1, r
assert r["steps"] == 30 and r["batch"] == 64 and r["model"] == {"context": 4, "embed": 8, "hidden": 32}
assert r["optim"].startswith("adamw(lr=0.003,") and "weight_decay=0.1" in r["optim"], r["optim"]
assert r["schedule"] == "warmup_cosine(peak=0.003,warmup_steps=1,decay_steps=30,init=0,end=0)", r["schedule"]
assert r["data"]["train_words"] + r["data"]["val_words"] + r["data"]["test_words"] == r["data"]["words"]
PY

# 20 updates, a checkpoint, 20 more == 40 in one go (same bits); the resumed
# run takes its optimizer and schedule from the checkpoint
sched='warmup_cosine(peak=0.01, warmup_steps=4, decay_steps=40)'
"$CHARLM" "${small[@]}" --steps 40 --schedule "$sched" --json > "$tmp/whole.json"
"$CHARLM" "${small[@]}" --steps 20 --schedule "$sched" --checkpoint "$tmp/a.ckpt" --json > /dev/null
"$CHARLM" "${small[@]}" --steps 40 --resume "$tmp/a.ckpt" --json > "$tmp/rest.json"
python3 - "$tmp/whole.json" "$tmp/rest.json" <<'PY'
import json, sys
whole, rest = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:])
assert whole["val_loss"] == rest["val_loss"], (whole["val_loss"], rest["val_loss"])
assert whole["samples"] == rest["samples"]
assert rest["steps_run"] == 20 and [p["step"] for p in rest["curve"]][-1] == 40
assert rest["schedule"] == whole["schedule"] and rest["optim"].startswith("adamw("), rest
PY

# the resumed run keeps the file's seed (batches depend on it): saved with
# --seed 5, resumed without --seed, it equals the run of 40 with --seed 5
"$CHARLM" "${small[@]}" --steps 40 --seed 5 --schedule "$sched" --json > "$tmp/whole5.json"
"$CHARLM" "${small[@]}" --steps 20 --seed 5 --schedule "$sched" --checkpoint "$tmp/s5.ckpt" --json > /dev/null
"$CHARLM" "${small[@]}" --steps 40 --resume "$tmp/s5.ckpt" --json > "$tmp/rest5.json"
python3 - "$tmp/whole5.json" "$tmp/rest5.json" <<'PY'
import json, sys
whole, rest = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:])
assert rest["seed"] == 5 and whole["val_loss"] == rest["val_loss"], (whole, rest)
PY

# --compare with tiny runs: chart and CSV
"$CHARLM" "${small[@]}" --compare --steps 20 --sweep-steps 10 --eval-every 5 --out "$tmp/cmp" > /dev/null
svg="$tmp/cmp/charlm_compare.svg"
[ -s "$svg" ] || fail "no $svg"
if command -v xmllint > /dev/null; then xmllint --noout "$svg"; fi
for label in "SGD lr=" "momentum lr=" "Adam lr=" "AdamW lr=" "+warmup" "5-gram" "validation loss"; do
    grep -q "$label" "$svg" || fail "$svg lacks \"$label\""
done
csv="$tmp/cmp/charlm_compare.csv"
[ "$(head -1 "$csv")" = "run,optim,schedule,step,train_loss,val_loss,lr" ] || fail "CSV header"
[ "$(wc -l < "$csv")" -eq $((1 + 8 * 5)) ] || fail "CSV rows: $(wc -l < "$csv")"

# --states with tiny runs: the table (fp32, bf16, int8 state), chart and CSV
# (the quality check is cli_charlm_states)
"$CHARLM" "${small[@]}" --states --steps 20 --eval-every 5 --out "$tmp/st" > "$tmp/states.txt"
grep -q '^state  *val loss  *|val - fp32 val|  *state bytes/param$' "$tmp/states.txt" || fail "--states header"
grep -Eq '^fp32  *[0-9.]+  *0  *8$' "$tmp/states.txt" || fail "--states fp32 row: $(cat "$tmp/states.txt")"
grep -Eq '^bf16  *[0-9.]+  *[0-9.e-]+  *4$' "$tmp/states.txt" || fail "--states bf16 row"
grep -Eq '^int8  *[0-9.]+  *[0-9.e-]+  *2\.[0-9]+$' "$tmp/states.txt" || fail "--states int8 row"
svg="$tmp/st/charlm_states.svg"
[ -s "$svg" ] || fail "no $svg"
if command -v xmllint > /dev/null; then xmllint --noout "$svg"; fi
for label in "state=fp32" "state=bf16" "state=int8" "B/param" "validation loss"; do
    grep -q "$label" "$svg" || fail "$svg lacks \"$label\""
done
csv="$tmp/st/charlm_states.csv"
[ "$(head -1 "$csv")" = "state,optim,schedule,step,train_loss,val_loss,lr" ] || fail "states CSV header"
[ "$(wc -l < "$csv")" -eq $((1 + 3 * 5)) ] || fail "states CSV rows: $(wc -l < "$csv")"

# errors: `charlm: <what>: <why>` on stderr, exit status 2
expect_error() {
    local want="$1"; shift
    local got rc=0
    got=$("$CHARLM" "$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq 2 ] || fail "exit $rc for $*"
    [ "$got" = "$want" ] || fail "for $*: got '$got', want '$want'"
}
# the same, with a message that is checked up to the first '*' and from the last
expect_error_like() {
    local want="$1"; shift
    local got rc=0
    got=$("$CHARLM" "$@" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -eq 2 ] || fail "exit $rc for $*"
    [ "${got%%"${want#*"*"}"}" != "$got" ] && [ "${got#"${want%%"*"*}"}" != "$got" ] ||
        fail "for $*: got '$got', want '$want'"
}
: > "$tmp/empty"
python3 - "$tmp/a.ckpt" "$tmp/damaged.ckpt" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-4] ^= 0x55   # inside the last tensor's data
open(sys.argv[2], "wb").write(b)
PY
expect_error 'charlm: --steps: expected an integer, got "abc"' --steps abc
expect_error 'charlm: --batch: must be in [1, 65536], got 0' --batch 0
expect_error 'charlm: --temperature: must be > 0, got 0' --temperature 0
expect_error 'charlm: options: unknown option "--frobnicate" (see --help)' --frobnicate
expect_error "charlm: --optim: spec 'adamw(lr=-1)': lr must be >= 0, got -1" --optim 'adamw(lr=-1)' "${small[@]}" --steps 1
expect_error "charlm: $tmp/empty: no lowercase a-z words" --words "$tmp/empty"
expect_error "charlm: --resume: checkpoint '$tmp/nope': cannot open: No such file or directory" --resume "$tmp/nope"
expect_error "charlm: --resume: $tmp/a.ckpt is at step 20, past --steps 10" --resume "$tmp/a.ckpt" --steps 10
expect_error_like "charlm: --resume: checkpoint '$tmp/damaged.ckpt': tensor 'state/b2/exp_avg_sq' checksum mismatch (stored *): its data was changed or damaged" \
    --resume "$tmp/damaged.ckpt" --steps 40 "${small[@]}"
expect_error "charlm: --resume: checkpoint '$tmp/a.ckpt': saved by optimizer 'adamw', this optimizer is 'sgd'" \
    --resume "$tmp/a.ckpt" --optim 'sgd(lr=0.1, momentum=0.9)' --steps 40 "${small[@]}"
expect_error "charlm: --resume: checkpoint '$tmp/a.ckpt': tensor 'w1' has 1024 elements, the optimizer's has 512" \
    --resume "$tmp/a.ckpt" --steps 40 "${small[@]}" --hidden 16
expect_error 'charlm: --compare: cannot be combined with --checkpoint or --resume' --compare --resume x
expect_error 'charlm: --states: cannot be combined with --checkpoint or --resume' --states --resume x
expect_error 'charlm: --states: cannot be combined with --compare' --states --compare
expect_error "charlm: --states: spec 'muon(state=fp32)': unknown key 'state' for muon (valid keys: lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn)" \
    --states --optim 'muon(lr=0.02)' "${small[@]}" --steps 1
# a resumed run cannot train past its schedule's end at lr 0, nor draw other batches
expect_error "charlm: --steps: the schedule warmup_cosine(peak=0.01,warmup_steps=4,decay_steps=40,init=0,end=0) gives lr 0 from step 40 on, so steps 40 to 59 would change nothing; use --steps 40, or a --schedule that goes on" \
    --resume "$tmp/a.ckpt" --steps 60 "${small[@]}"
expect_error "charlm: --seed: 2 differs from the seed 1 of $tmp/a.ckpt: the resumed run would draw other batches than the run it continues (leave --seed out)" \
    --resume "$tmp/a.ckpt" --steps 40 "${small[@]}" --seed 2
expect_error "charlm: --batch: 32 differs from the batch size 64 of $tmp/a.ckpt: the resumed run would draw other batches than the run it continues (leave --batch out)" \
    --resume "$tmp/a.ckpt" --steps 40 "${small[@]}" --batch 32
# a fresh run with a schedule that ends early is refused the same way
expect_error "charlm: --steps: the schedule cosine(lr=0.01,t_max=10,eta_min=0,exponent=1) gives lr 0 from step 10 on, so steps 10 to 19 would change nothing; use --steps 10, or a --schedule that goes on" \
    --schedule 'cosine(lr=0.01, t_max=10)' --steps 20 "${small[@]}"
echo "charlm_json: ok"
