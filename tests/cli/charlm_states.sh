#!/usr/bin/env bash
# charlm --states on the system word list with a small model: AdamW with
# bfloat16 and with 8-bit optimizer state ends within 0.02 nats of float32
# state after the same 2,000 updates on the same batches; the state's bytes
# per parameter are those of each precision; the chart and CSV hold the three
# curves. (Three short training runs: left out of the sanitizer build.)
set -euo pipefail
CHARLM="$RAVINE_BUILD/examples/charlm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_WAIT_POLICY=passive   # idle threads sleep: the machine may be shared

"$CHARLM" --states --context 8 --embed 16 --hidden 128 --batch 128 --steps 2000 \
    --eval-every 100 --eval-tokens 5000 --threads 1 --quiet \
    --optim 'adamw(lr=1e-2, weight_decay=0.1)' --out "$tmp/st" --json > "$tmp/out.json"

python3 - "$tmp/out.json" "$tmp/st" <<'PY'
import csv, json, math, sys
import xml.etree.ElementTree as ET

r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
out = sys.argv[2]
runs = r["states"]
assert [x["state"] for x in runs] == ["fp32", "bf16", "int8"], runs
fp32, bf16, int8 = runs
assert "state=" not in fp32["optim"], fp32["optim"]
for x in runs:
    assert x["optim"].startswith("adamw(lr=0.01,") and "weight_decay=0.1" in x["optim"], x["optim"]
assert bf16["optim"].endswith(",state=bf16)") and int8["optim"].endswith(",state=int8)"), runs
assert r["steps"] == 2000 and r["params"] == 20427, r

# the model learned something: below the trigram of the same split (2.1546)
for x in runs:
    assert not x["diverged"] and 1.9 < x["val_loss"] < 2.15, (x["state"], x["val_loss"])
# the quality requirement: within 0.02 nats of float32 state
for x in (bf16, int8):
    d = abs(x["val_loss"] - fp32["val_loss"])
    assert d <= 0.02, f'{x["state"]}: |{x["val_loss"]} - {fp32["val_loss"]}| = {d} > 0.02'
    assert abs(x["abs_delta_vs_fp32"] - d) < 1e-8, (x["abs_delta_vs_fp32"], d)
assert fp32["abs_delta_vs_fp32"] == 0
assert r["max_abs_delta"] == max(x["abs_delta_vs_fp32"] for x in runs), r["max_abs_delta"]

# AdamW's two moments: 8 bytes per parameter in float32, 4 in bfloat16, and
# in int8 one byte per value plus a float32 scale per 256-value block of each tensor
C, E, H, V = 8, 16, 128, 27
tensors = [V * E, C * E * H, H, H * V, V]
assert sum(tensors) == r["params"]
int8_bytes = sum(2 * (n + 4 * math.ceil(n / 256)) for n in tensors)
assert fp32["state_bytes"] == 8 * r["params"] and fp32["bytes_per_param"] == 8, fp32
assert bf16["state_bytes"] == 4 * r["params"] and bf16["bytes_per_param"] == 4, bf16
assert int8["state_bytes"] == int8_bytes, (int8["state_bytes"], int8_bytes)
assert abs(int8["bytes_per_param"] - int8_bytes / r["params"]) < 1e-8, int8

# the same start, the same evaluation points
steps = list(range(0, 2001, 100))
for x in runs:
    assert [p["step"] for p in x["curve"]] == steps, x["curve"]
    assert x["curve"][0]["val_loss"] == fp32["curve"][0]["val_loss"]
# the precisions do change the run (the states really were bf16 and int8)
assert len({x["val_loss"] for x in runs}) == 3, [x["val_loss"] for x in runs]

# CSV: every point of the three curves, as in the JSON
rows = list(csv.DictReader(open(f"{out}/charlm_states.csv")))
assert list(rows[0].keys()) == ["state", "optim", "schedule", "step", "train_loss", "val_loss", "lr"]
assert len(rows) == 3 * len(steps), len(rows)
for x in runs:
    mine = [row for row in rows if row["state"] == x["state"]]
    assert [int(row["step"]) for row in mine] == steps
    assert all(row["optim"] == x["optim"] and row["schedule"] == r["schedule"] for row in mine)
    assert [float(row["val_loss"]) for row in mine] == [p["val_loss"] for p in x["curve"]]

# SVG: well-formed; two panels of three curves; the legend names each state
svg = open(f"{out}/charlm_states.svg").read()
root = ET.fromstring(svg)
lines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
assert len(lines) == 6, len(lines)
for label in ("state=fp32 (8 B/param)", "state=bf16 (4 B/param)", "state=int8 (2.03 B/param)",
              "validation loss", "minus state=fp32", "tolerance", "5-gram"):
    assert label in svg, label
print("charlm_states: fp32 %.9g, bf16 %.9g, int8 %.9g" % tuple(x["val_loss"] for x in runs))
PY
echo "charlm_states: ok"
