#!/usr/bin/env bash
# The GPT example end to end with a tiny model: the --json object (last
# line) on the real fortunes corpus with its n-gram baselines, a resumed run
# equal to an uninterrupted one, --race's JSON, chart and CSV, and the exact
# error messages. Runs other than the first read a three-file copy of the
# corpus to stay fast.
source "$RAVINE_SOURCE/tests/cli_lib.sh"
set -eo pipefail
GPT="$RAVINE_BUILD/examples/gpt"
FORTUNES=/usr/share/games/fortunes
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -d "$FORTUNES" ] || fail "$FORTUNES is missing (scripts/setup.sh installs fortunes)"
mkdir "$tmp/small"
cp "$FORTUNES/goedel" "$FORTUNES/magic" "$FORTUNES/medicine" "$tmp/small/"
cp "$FORTUNES/magic.dat" "$tmp/small/"   # files with an extension are not read
tiny=(--layers 1 --heads 2 --channels 16 --context 16 --batch 4 --samples 2 --sample-length 40
      --quiet --threads 1 --eval-tokens 512)

# --json on the real corpus: stdout holds one object, last
"$GPT" "${tiny[@]}" --steps 20 --eval-every 10 --json > "$tmp/out.json"
python3 - "$tmp/out.json" <<'PY'
import json, math, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[-1])
b = r["baselines"]
# measured on this split of Debian's fortunes (add-alpha, best alpha per order)
want = {"bigram": 2.5922, "trigram": 2.1197, "4gram": 1.8172, "5gram": 1.7467, "6gram": 1.9020}
for k, v in want.items():
    assert abs(b[k] - v) < 0.01, (k, b[k], v)
assert r["best_baseline"] == "5gram", r["best_baseline"]
assert r["data"]["files"] == 43 and r["data"]["fortunes"] > 15000, r["data"]
d = r["data"]
assert d["train_fortunes"] + d["val_fortunes"] + d["test_fortunes"] == d["fortunes"], d
assert d["val_fortunes"] == d["fortunes"] // 20, d
assert 2.0 < r["val_loss"] < math.log(98), r["val_loss"]
assert [p["step"] for p in r["curve"]] == [0, 10, 20], r["curve"]
assert abs(r["curve"][0]["val_loss"] - math.log(98)) < 0.1, r["curve"][0]
assert r["curve"][-1]["val_loss"] < r["curve"][0]["val_loss"] - 0.3, r["curve"]
assert len(r["samples"]) == 2 and all(isinstance(s, str) and len(s) <= 40 for s in r["samples"])
assert r["params"] == 98 * 16 + 16 * 16 + 12 * 16 * 16 + 13 * 16 + 2 * 16, r["params"]
assert r["tokens_per_s"] > 0 and 0 <= r["optimizer_time_share"] < 1, r
assert r["model"] == {"layers": 1, "heads": 2, "channels": 16, "context": 16, "vocab": 98}
assert r["optim"].startswith("adamw(lr=0.004,betas=(0.9,0.95),") and "weight_decay=0.1" in r["optim"]
assert r["schedule"] == "warmup_cosine(peak=0.004,warmup_steps=1,decay_steps=20,init=0,end=0)", r["schedule"]
assert r["steps"] == 20 and r["steps_run"] == 20 and r["batch"] == 4 and r["threads"] == 1
PY

# 20 updates, a checkpoint, 20 more == 40 in one go (same bits); the resumed
# run takes its optimizer and schedule from the checkpoint
small=("${tiny[@]}" --data "$tmp/small")
sched='warmup_cosine(peak=0.01, warmup_steps=4, decay_steps=40)'
"$GPT" "${small[@]}" --steps 40 --schedule "$sched" --json > "$tmp/whole.json"
"$GPT" "${small[@]}" --steps 20 --schedule "$sched" --checkpoint "$tmp/a.safetensors" --json > /dev/null
"$GPT" "${small[@]}" --steps 40 --resume "$tmp/a.safetensors" --json > "$tmp/rest.json"
python3 - "$tmp/whole.json" "$tmp/rest.json" <<'PY'
import json, sys
whole, rest = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:])
assert whole["data"]["files"] == 3, whole["data"]
assert whole["val_loss"] == rest["val_loss"], (whole["val_loss"], rest["val_loss"])
assert whole["samples"] == rest["samples"]
assert rest["steps_run"] == 20 and [p["step"] for p in rest["curve"]][-1] == 40
assert rest["schedule"] == whole["schedule"], rest["schedule"]
# the file's group spec, whose lr is the schedule's value when it was saved
strip_lr = lambda spec: spec[spec.index(","):]
assert rest["optim"].startswith("adamw(") and strip_lr(rest["optim"]) == strip_lr(whole["optim"]), rest
PY

# --race with tiny runs: three optimizers, two lrs each; muon takes the
# hidden matrices and the baseline's best AdamW the rest
"$GPT" "${small[@]}" --race 'adamw(lr=0.01); adam(lr=0.01); muon(lr=0.02)' --race-steps 20 \
    --eval-every 5 --grid 0.5,1 --out "$tmp/race" --json > "$tmp/race.json"
python3 - "$tmp/race.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
base, other, muon = r["results"]
assert r["target"] == base["final_val_loss"] == min(run["final_val_loss"] for run in base["runs"]), r
assert base["steps_to_target"] is not None and base["steps_to_target"] <= 20, base
assert base["optim"].startswith("adamw(lr=") and other["optim"].startswith("adam(lr="), r
assert muon["optim"].startswith("muon(lr=") and muon["rest_optim"] == base["optim"], muon
assert r["target_from"] == base["optim"], r
assert [run["lr"] for run in base["runs"]] == [0.005, 0.01], base["runs"]
assert base["best_lr"] in (0.005, 0.01) and other["best_lr"] in (0.005, 0.01)
if other["steps_to_target"] is not None:
    assert other["steps_to_target"] % 5 == 0 and other["seconds_to_target"] > 0, other
assert r["horizon_steps"] == 20 and r["grid"] == [0.5, 1] and r["eval_every"] == 5, r
assert r["default_training_steps"] > r["horizon_steps"], r
assert set(r["baselines"]) == {"bigram", "trigram", "4gram", "5gram", "6gram"}, r["baselines"]
PY
svg="$tmp/race/gpt_race.svg"
[ -s "$svg" ] || fail "no $svg"
wellformed "$svg" || fail "$svg is not well-formed XML"
for label in "adamw lr=" "adam lr=" "muon lr=" "target" "update step" "training seconds" "validation loss"; do
    grep -q "$label" "$svg" || fail "$svg lacks \"$label\""
done
csv="$tmp/race/gpt_race.csv"
[ "$(head -1 "$csv")" = "optim,lr,best,step,seconds,train_loss,val_loss" ] || fail "CSV header"
[ "$(wc -l < "$csv")" -eq $((1 + 6 * 5)) ] || fail "CSV rows: $(wc -l < "$csv")"

# errors: `gpt: <what>: <why>` on stderr, exit status 2 (counted by cli_lib.sh)
set +e
mkdir "$tmp/empty"
expect_err steps_not_integer 'gpt: --steps: expected an integer, got "abc"' "$GPT" --steps abc
expect_err channels_heads 'gpt: --channels: 30 is not a multiple of --heads 4' "$GPT" --channels 30
expect_err temperature_zero 'gpt: --temperature: must be > 0, got 0' "$GPT" --temperature 0
expect_err unknown_option 'gpt: options: unknown option "--frobnicate" (see --help)' "$GPT" --frobnicate
expect_err bad_optim "gpt: --optim: spec 'adamw(lr=-1)': lr must be >= 0, got -1" "$GPT" --optim 'adamw(lr=-1)' "${small[@]}" --steps 1
expect_err empty_data "gpt: $tmp/empty: no fortunes in files without an extension" "$GPT" --data "$tmp/empty"
expect_err missing_data "gpt: $tmp/nope: cannot open the folder" "$GPT" --data "$tmp/nope"
expect_err resume_missing "gpt: --resume: checkpoint '$tmp/nope': cannot open: No such file or directory" "$GPT" --resume "$tmp/nope"
expect_err resume_past_steps "gpt: --resume: $tmp/a.safetensors is at step 20, past --steps 10" "$GPT" --resume "$tmp/a.safetensors" --steps 10
expect_err resume_other_model "gpt: --resume: checkpoint '$tmp/a.safetensors': tensor 'wte.weight' has 1568 elements, the optimizer's has 3136" "$GPT" \
    --resume "$tmp/a.safetensors" --steps 40 "${small[@]}" --channels 32
expect_err resume_other_seed "gpt: --seed: 2 differs from the 1 of $tmp/a.safetensors: the resumed run would not continue the run it saved (leave --seed out)" "$GPT" \
    --resume "$tmp/a.safetensors" --steps 40 "${small[@]}" --seed 2
expect_err resume_other_heads "gpt: --heads: 4 differs from the 2 of $tmp/a.safetensors: the resumed run would not continue the run it saved (leave --heads out)" "$GPT" \
    --resume "$tmp/a.safetensors" --steps 40 "${small[@]}" --heads 4
expect_err race_with_optim 'gpt: --race: cannot be combined with --checkpoint, --resume, --optim or --schedule' "$GPT" --race --optim adam
expect_err target_without_race 'gpt: --target: only applies to --race' "$GPT" --target 1.5
expect_err bad_grid 'gpt: --grid: expected positive numbers separated by commas, got "1,x"' "$GPT" --race --grid 1,x
expect_err muon_baseline 'gpt: --race: the baseline (first spec) must be an optimizer for every tensor, not muon' "$GPT" \
    --race 'muon; adamw' "${small[@]}"
expect_err muon_rest_vector "gpt: --rest-optim: tensor 'h.0.ln_1.weight': muon updates 2-D matrices only; this tensor has another number of dimensions" "$GPT" \
    --optim muon --rest-optim muon "${small[@]}" --steps 1
expect_err bad_schedule "gpt: --schedule: spec 'cosine(lr=1)': cosine needs the key 't_max'" "$GPT" --schedule 'cosine(lr=1)' "${small[@]}" --steps 1
finish
