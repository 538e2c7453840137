# ravine bench --shard under mpirun: --json is one valid JSON object whatever
# the spec holds (a tab, which the spec grammar reads as a space), with the
# figures its keys promise; the table prints every number with %.9g.
# replay --shard refuses a --save target before the replay, and names a
# --shape whose product overflows. $RAVINE_MPIRUN is mpirun with its flags.
. "$(dirname "$0")/../cli_lib.sh"

mpi() { local np=$1; shift; timeout 120 $RAVINE_MPIRUN -np "$np" "$@"; }

tab=$(printf '\t')
spec="sgd(${tab}lr=0.1, momentum=0.9)"
mpi 2 "$RAVINE" bench --shard --params 1000 --reps 3 --warmup 0 --optim "$spec" --json \
  > "$tmp/b.json" 2> "$tmp/err"
check json_exit test $? -eq 0
# one momentum buffer of 1,000 float32 values in all, split over the ranks;
# reduce-scatter plus all-gather of 1,000 values: 2 (P-1)/P * 1000 * 4 bytes
check json_valid python3 - "$tmp/b.json" "$spec" <<'PY'
import json, sys
raw = open(sys.argv[1], 'rb').read()
d = json.loads(raw.decode('utf-8'))   # strict: a raw tab inside a string fails here
assert d["optim"] == sys.argv[2], repr(d["optim"])
assert d["ranks"] == 2 and d["params"] == 1000 and d["reps"] == 3 and d["threads_per_rank"] == 1, d
for k in ("ms_per_step", "ms_reduce_scatter", "ms_update", "ms_all_gather", "one_process_ms_per_step"):
    assert isinstance(d[k], (int, float)) and d[k] >= 0, (k, d[k])
assert d["ms_per_step"] > 0 and d["one_process_ms_per_step"] > 0, d
assert d["bytes_theory_per_rank"] == 4000, d["bytes_theory_per_rank"]
assert len(d["bytes_sent_per_rank"]) == 2 and all(b > 0 for b in d["bytes_sent_per_rank"]), d
# each rank's shard is whole lines of 16 values: the state splits near the half
st = d["state_bytes_per_rank"]
assert len(st) == 2 and sum(st) == 4000 and min(st) > 1000, st
assert d["one_process_state_bytes"] == 4000, d["one_process_state_bytes"]
PY
[ -s "$tmp/err" ] && cat "$tmp/err"

# the table: labels, then figures printed with %.9g (no fixed decimals)
mpi 2 "$RAVINE" bench --shard --params 1000 --reps 3 --warmup 0 --optim 'sgd(momentum=0.9)' \
  > "$tmp/b.txt" 2> "$tmp/err"
check table_exit test $? -eq 0
check table_state grep -qx 'state bytes (one process)            4000' "$tmp/b.txt"
check table_ranks python3 - "$tmp/b.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
ranks = [l.split() for l in lines if re.match(r'^[01] ', l)]
assert [r[0] for r in ranks] == ['0', '1'], lines
for r in ranks:   # bytes sent, theory, state bytes: whole numbers, no '.0'
    assert r[2] == '4000' and re.fullmatch(r'[1-9][0-9]*', r[1]) and re.fullmatch(r'[1-9][0-9]*', r[3]), r
assert sum(int(r[3]) for r in ranks) == 4000, ranks
times = [l for l in lines if l.startswith(('ms per step', '  reduce', '  update', '  all-gather'))]
assert len(times) == 5, lines
for l in times:
    v = l.split()[-1]
    assert float(v) >= 0 and not re.search(r'\.\d*0$', v), l      # %.9g: no trailing zeros
PY

# replay --shard: a --save target the save would refuse stops every rank
# before the first step (no rows printed)
printf '0.5\n0.25\n' > "$tmp/g.csv"
mpi 2 "$RAVINE" replay --shard --optim sgd --init 1 --grads "$tmp/g.csv" --save "$tmp" \
  > "$tmp/out" 2> "$tmp/err"
check save_folder_exit test $? -eq 2
check save_folder_reason grep -q "^ravine: --save: checkpoint '$tmp': .* is a folder, not a regular file; refusing to replace it$" "$tmp/err"
check save_folder_no_rows test ! -s "$tmp/out"
mpi 2 "$RAVINE" replay --shard --optim sgd --init 1 --grads "$tmp/g.csv" --shape 4294967296,4294967296 \
  > "$tmp/out" 2> "$tmp/err"
check shape_overflow_exit test $? -eq 2
check shape_overflow_reason grep -qx "ravine: --shape: '4294967296,4294967296': the product of the dimensions overflows (the parameters are 1)" "$tmp/err"
finish
