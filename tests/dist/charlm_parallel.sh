# examples/charlm data parallel under mpirun: the same global batch split
# over the ranks (evenly over 2, unevenly over 3), the optimizer state
# sharded. The validation loss stays within 0.01 of the one-process run,
# the JSON says how many ranks ran and how much state each held (about 1/P
# of the one-process figure), and a run checkpointed by 2 ranks resumes in
# one process to the end of the uninterrupted 2-rank run's schedule.
. "$(dirname "$0")/../cli_lib.sh"
CHARLM="$RAVINE_BUILD/examples/charlm"
small=(--context 4 --embed 12 --hidden 64 --batch 64 --samples 2 --quiet --threads 1
       --eval-tokens 3000 --eval-every 150 --steps 300 --json)

"$CHARLM" "${small[@]}" > "$tmp/one.json"
timeout 300 $RAVINE_MPIRUN -np 2 "$CHARLM" "${small[@]}" > "$tmp/two.json"
timeout 300 $RAVINE_MPIRUN -np 3 "$CHARLM" "${small[@]}" > "$tmp/three.json"

check "data parallel within 0.01 of one process" python3 - "$tmp/one.json" "$tmp/two.json" "$tmp/three.json" <<'PY'
import json, sys
runs = [json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:]]
one = runs[0]
assert one["ranks"] == 1, one["ranks"]
# adamw: two float32 moments per parameter
assert one["optimizer_state_bytes_per_rank"] == 8 * one["params"], one
for r, ranks in zip(runs[1:], (2, 3)):
    assert r["ranks"] == ranks, r["ranks"]
    assert abs(r["val_loss"] - one["val_loss"]) < 0.01, (ranks, r["val_loss"], one["val_loss"])
    assert r["val_loss"] < one["curve"][0]["val_loss"] - 0.2, r["curve"]
    share = one["optimizer_state_bytes_per_rank"] / ranks
    # shards are whole lines of 16 floats: within a line of each state buffer of 1/P
    assert abs(r["optimizer_state_bytes_per_rank"] - share) <= 2 * 16 * 4 * 5, (r["optimizer_state_bytes_per_rank"], share)
    assert r["params"] == one["params"] and r["steps"] == one["steps"]
print("val loss: one process %.6f, 2 ranks %.6f, 3 ranks %.6f" % tuple(r["val_loss"] for r in runs))
PY

# checkpointed by 2 ranks at step 150, resumed by one process: the same
# parameters as the 2-rank run that went on (the checkpoint holds them all)
timeout 300 $RAVINE_MPIRUN -np 2 "$CHARLM" "${small[@]}" --steps 150 --checkpoint "$tmp/half.safetensors" \
  --schedule 'cosine(lr=0.003, t_max=300)' > "$tmp/half.json"
"$CHARLM" "${small[@]}" --resume "$tmp/half.safetensors" --checkpoint "$tmp/resumed.safetensors" > "$tmp/resumed.json"
timeout 300 $RAVINE_MPIRUN -np 3 "$CHARLM" "${small[@]}" --resume "$tmp/half.safetensors" \
  --checkpoint "$tmp/resumed3.safetensors" > "$tmp/resumed3.json"
check "resumed after a 2-rank checkpoint, in one process and on 3 ranks" python3 - "$tmp/resumed.json" "$tmp/resumed3.json" "$tmp/two.json" <<'PY'
import json, sys
one, three, two = [json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:]]
assert one["ranks"] == 1 and three["ranks"] == 3
assert one["curve"][-1]["step"] == 300 and three["curve"][-1]["step"] == 300
assert abs(one["val_loss"] - three["val_loss"]) < 0.01, (one["val_loss"], three["val_loss"])
assert one["schedule"] == "cosine(lr=0.003,t_max=300,eta_min=0,exponent=1)", one["schedule"]
PY
finish
