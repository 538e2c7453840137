# ravine bench: a quick run on a small flat buffer has the documented JSON
# shape and sane figures (never timings as a pass condition); bad options fail cleanly.
. "$(dirname "$0")/../cli_lib.sh"

"$RAVINE" bench --params 100000 --reps 3 --warmup 1 --json >"$tmp/bench.json" 2>"$tmp/err"
check bench_runs test $? -eq 0
check bench_json python3 - "$tmp/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
default = ["adamw", "sgd", "sgd(momentum=0.9)", "polyak", "adam(amsgrad=true)",
           "rmsprop(centered=true, momentum=0.9)", "adagrad"]
bytes_ = {"adamw": 28, "sgd": 12, "sgd(momentum=0.9)": 20, "polyak": 20,
          "adam(amsgrad=true)": 36, "rmsprop(centered=true, momentum=0.9)": 36, "adagrad": 20}
assert d["threads"] >= 1 and d["reps"] == 3 and d["warmup"] == 1, d
assert d["shapes"] == [{"shape": "flat", "params": 100000, "tensors": 1}], d["shapes"]
b = d["baseline"]
assert b["kernel"] == "traffic28" and b["bytes_per_param"] == 28 and b["params"] == 100000, b
assert b["ms_per_step"] > 0 and b["gbs"] > 0, b
rs = d["results"]
assert [r["optim"] for r in rs] == default, [r["optim"] for r in rs]
for r in rs:
    for key in ("optim", "params", "ms_per_step", "bytes_per_param", "gbs", "ratio_to_baseline"):
        assert key in r, (key, r)
    assert r["params"] == 100000 and r["shape"] == "flat" and r["tensors"] == 1, r
    assert r["bytes_per_param"] == bytes_[r["optim"]], r
    assert r["baseline_kernel"] == "traffic%d" % r["bytes_per_param"], r
    assert r["ms_per_step"] > 0 and r["min_ms_per_step"] <= r["ms_per_step"], r
    gbs = r["bytes_per_param"] * r["params"] / (r["ms_per_step"] * 1e6)
    assert abs(r["gbs"] - gbs) <= 1e-6 * gbs, (r["gbs"], gbs)
    ratio = r["baseline_ms_per_step"] / r["ms_per_step"]
    assert abs(r["ratio_to_baseline"] - ratio) <= 1e-6 * ratio, r
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

expect_err bad_params "ravine: --params: 0 is out of range [1, 4294967296]" "$RAVINE" bench --params 0
expect_err bad_threads "ravine: --threads: -1 is out of range [0, 4096]" "$RAVINE" bench --threads -1
expect_err bad_shape "ravine: --shapes: unknown shape 'gpt3' (flat, gpt2, gpt2sep)" "$RAVINE" bench --shapes gpt3
expect_err bad_optim "ravine: bench: spec 'adamw(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" bench --params 100 --optim 'adamw(lr=-1)'
expect_err bad_option "ravine: bench: unknown option '--param' (did you mean '--params'?)" \
  "$RAVINE" bench --param 10
finish
