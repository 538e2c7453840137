# ravine bench: a quick run on a small flat buffer has the documented JSON
# shape and sane figures (never timings as a pass condition); bad options fail cleanly.
. "$(dirname "$0")/../cli_lib.sh"

"$RAVINE" bench --params 100000 --reps 3 --warmup 1 --json >"$tmp/bench.json" 2>"$tmp/err"
check bench_runs test $? -eq 0
check bench_json python3 - "$tmp/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
default = ["adamw", "adamw(state=bf16)", "adamw(state=int8)", "sgd", "sgd(momentum=0.9)",
           "polyak", "adam(amsgrad=true)", "rmsprop(centered=true, momentum=0.9)", "adagrad",
           "nadam", "radam", "adamax", "lion", "sfadamw"]
# bytes per parameter: g r, p r/w, and each state buffer r/w (int8 adds a float32 scale
# read and written per 256 values)
bytes_ = {"adamw": 28, "adamw(state=bf16)": 20, "adamw(state=int8)": 16 + 16 / 256, "sgd": 12,
          "sgd(momentum=0.9)": 20, "polyak": 20, "adam(amsgrad=true)": 36,
          "rmsprop(centered=true, momentum=0.9)": 36, "adagrad": 20, "nadam": 28, "radam": 28,
          "adamax": 28, "lion": 20, "sfadamw": 28}
assert d["threads"] >= 1 and d["reps"] == 3 and d["warmup"] == 1, d
assert d["shapes"] == [{"shape": "flat", "params": 100000, "tensors": 1}], d["shapes"]
b = d["baseline"]
assert b["kernel"] == "traffic28" and b["bytes_per_param"] == 28 and b["params"] == 100000, b
assert b["ms_per_step"] > 0 and b["gbs"] > 0, b
assert d["muon"] == [], d["muon"]     # --params given: the flat buffer only
rs = d["results"]
assert [r["optim"] for r in rs] == default, [r["optim"] for r in rs]
for r in rs:
    for key in ("optim", "params", "ms_per_step", "bytes_per_param", "gbs", "ratio_to_baseline",
                "ratio_to_independent"):
        assert key in r, (key, r)
    assert r["params"] == 100000 and r["shape"] == "flat" and r["tensors"] == 1, r
    assert r["bytes_per_param"] == bytes_[r["optim"]], r
    # float32 state: the library's own same-traffic kernel; below float32: the independent loop
    want = "loop" if "state=" in r["optim"] else "traffic%d" % r["bytes_per_param"]
    assert r["baseline_kernel"] == want, r
    if want == "loop":   # the independent loop is the baseline: timed once, the same figure
        assert r["baseline_ms_per_step"] == r["independent_ms_per_step"], r
        assert r["ratio_to_baseline"] == r["ratio_to_independent"], r
    assert r["ms_per_step"] > 0 and r["min_ms_per_step"] <= r["ms_per_step"], r
    gbs = r["bytes_per_param"] * r["params"] / (r["ms_per_step"] * 1e6)
    assert abs(r["gbs"] - gbs) <= 1e-6 * gbs, (r["gbs"], gbs)
    ratio = r["baseline_ms_per_step"] / r["ms_per_step"]
    assert abs(r["ratio_to_baseline"] - ratio) <= 1e-6 * ratio, r
    ratio = r["independent_ms_per_step"] / r["ms_per_step"]
    assert abs(r["ratio_to_independent"] - ratio) <= 1e-6 * ratio, r
PY

# several --optim options and ';' lists add up; the table names shape, size, optimizer
"$RAVINE" bench --params 5000 --reps 1 --warmup 0 --optim adamw --optim 'sgd; polyak' --json >"$tmp/two.json"
check bench_optim_list_runs test $? -eq 0
check bench_optim_list python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["optim"] for r in d["results"]] == ["adamw", "sgd", "polyak"], d["results"]
' "$tmp/two.json"
"$RAVINE" bench --params 5000 --reps 1 --optim sgd --threads 1 >"$tmp/table.txt"
check bench_table_runs test $? -eq 0
check bench_table grep -q '^flat  *5000  *1  sgd ' "$tmp/table.txt"

# muon's table: GPT-2's matrices, its Newton-Schulz FLOPs (5 x (4 m^2 k + 2 m^3)), sgemm's rate
"$RAVINE" bench --muon --reps 1 --warmup 0 --json >"$tmp/muon.json"
check bench_muon_runs test $? -eq 0
check bench_muon python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["results"] == [], d["results"]
m = {(r["rows"], r["cols"]): r for r in d["muon"]}
assert sorted(m) == [(768, 768), (768, 3072)], sorted(m)
close = lambda a, b: abs(a - b) <= 1e-8 * b      # printed with %.9g
assert close(m[(768, 768)]["newton_schulz_gflop"], 5 * 6 * 768 ** 3 / 1e9)
assert close(m[(768, 3072)]["newton_schulz_gflop"], 5 * (4 * 768 ** 2 * 3072 + 2 * 768 ** 3) / 1e9)
for r in m.values():
    assert r["ms_per_step"] > 0 and r["gflops"] > 0 and r["sgemm_gflops"] > 0, r
    assert abs(r["gflops"] - r["newton_schulz_gflop"] / (r["ms_per_step"] / 1e3)) <= 1e-6 * r["gflops"]
' "$tmp/muon.json"

expect_err bad_params "ravine: --params: 0 is out of range [1, 4294967296]" "$RAVINE" bench --params 0
expect_err bad_threads "ravine: --threads: -1 is out of range [0, 4096]" "$RAVINE" bench --threads -1
expect_err bad_shape "ravine: --shapes: unknown shape 'gpt3' (flat, gpt2, gpt2sep)" "$RAVINE" bench --shapes gpt3
expect_err bad_optim "ravine: bench: spec 'adamw(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" bench --params 100 --optim 'adamw(lr=-1)'
expect_err bad_option "ravine: bench: unknown option '--param' (did you mean '--params'?)" \
  "$RAVINE" bench --param 10
expect_err bad_muon_optim "ravine: --optim: 'muon': muon is measured on GPT-2's matrices against sgemm in its own table (--muon)" \
  "$RAVINE" bench --params 100 --optim muon
# --shard times one optimizer on one flat buffer: what it would ignore is refused
# (before MPI starts, so these hold with or without MPI)
expect_err shard_two_optims "ravine: --optim: bench --shard times one optimizer, got 2" \
  "$RAVINE" bench --shard --params 100 --optim adamw --optim sgd
expect_err shard_optim_list "ravine: --optim: bench --shard times one optimizer, got 2" \
  "$RAVINE" bench --shard --params 100 --optim 'adamw; sgd'
expect_err shard_shapes "ravine: --shapes: bench --shard times one flat buffer of --params values; leave --shapes out" \
  "$RAVINE" bench --shard --shapes gpt2
expect_err shard_muon "ravine: --muon: bench --shard times one optimizer on a flat buffer; run --muon without --shard" \
  "$RAVINE" bench --shard --muon
finish
