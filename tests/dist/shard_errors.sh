# Bad input under mpirun is a clear error on every rank, never a hang: ranks
# given different optimizers, parameter counts or schedules (mpirun's
# colon syntax starts ranks with different arguments), a spec that fails
# on one rank only, a rank that cannot read its gradient file. Each case
# runs under a 60-second limit and must exit 2 (not 124, the limit) with
# every rank's line on stderr. $RAVINE_MPIRUN is mpirun with its flags.
. "$(dirname "$0")/../cli_lib.sh"

init() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%.9g", (i ? "," : ""), sin(i + 1); print "" }'; }
grads() { awk -v n="$1" 'BEGIN { for (r = 0; r < 4; r++) for (i = 0; i < n; i++) printf "%.9g%s", cos(r * n + i), (i + 1 < n ? "," : "\n") }'; }
grads 37 > "$tmp/g37.csv"
grads 38 > "$tmp/g38.csv"
P37=$(init 37)
P38=$(init 38)
R="$RAVINE replay --shard"

# expect_ranks NAME "LINE0" "LINE1" ... -- ARGS...: mpirun ARGS exits 2 within the
# limit, and stderr holds each expected line (one per rank, in any order)
expect_ranks() {
  local name=$1; shift
  local want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  local start=$SECONDS rc
  timeout 60 $RAVINE_MPIRUN "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  local ok=1
  [ $rc -eq 2 ] || { ok=0; echo "FAIL $name: exit $rc (want 2; 124 = hung past the limit)"; }
  for line in "${want[@]}"; do
    grep -qxF -- "$line" "$tmp/err" || { ok=0; echo "FAIL $name: missing on stderr: $line"; }
  done
  local lines
  lines=$(grep -c '^ravine: ' "$tmp/err")
  [ "$lines" -eq "${#want[@]}" ] || { ok=0; echo "FAIL $name: $lines 'ravine:' lines, want ${#want[@]}"; }
  [ $ok -eq 1 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); cat "$tmp/err"; }
  echo "$name: $((SECONDS - start)) s"
}

expect_ranks different_optimizers \
  "ravine: --optim: ranks disagree on the optimizer: rank 0 runs adam, rank 1 sgd" \
  "ravine: --optim: ranks disagree on the optimizer: rank 0 runs adam, rank 1 sgd" -- \
  -np 1 $R --optim adam --init "$P37" --grads "$tmp/g37.csv" : \
  -np 1 $R --optim sgd --init "$P37" --grads "$tmp/g37.csv"

line="ravine: replay: ranks disagree on the parameters: rank 0 has 37 element(s) in 1 tensor(s), rank 2 has 38 in 1"
expect_ranks different_parameter_counts "$line" "$line" "$line" -- \
  -np 2 $R --optim adam --init "$P37" --grads "$tmp/g37.csv" : \
  -np 1 $R --optim adam --init "$P38" --grads "$tmp/g38.csv"

expect_ranks bad_spec_on_one_rank \
  "ravine: --optim: rank 1: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" -- \
  -np 1 $R --optim adam --init "$P37" --grads "$tmp/g37.csv" : \
  -np 1 $R --optim 'adam(lr=-1)' --init "$P37" --grads "$tmp/g37.csv"

expect_ranks bad_spec_everywhere \
  "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "ravine: --optim: spec 'adam(lr=-1)': lr must be >= 0, got -1" -- \
  -np 3 $R --optim 'adam(lr=-1)' --init "$P37" --grads "$tmp/g37.csv"

expect_ranks missing_file_on_one_rank \
  "ravine: replay: rank 1: stopped on its own input (its message is above)" \
  "ravine: $tmp/nope.csv: cannot open: No such file or directory" -- \
  -np 1 $R --optim adam --init "$P37" --grads "$tmp/g37.csv" : \
  -np 1 $R --optim adam --init "$P37" --grads "$tmp/nope.csv"

expect_ranks different_schedules \
  "ravine: replay: ranks disagree on this step's learning rate: rank 0 has 0.001, rank 1 0.002" \
  "ravine: replay: ranks disagree on this step's learning rate: rank 0 has 0.001, rank 1 0.002" -- \
  -np 1 $R --optim adam --schedule 'constant(lr=0.001)' --init "$P37" --grads "$tmp/g37.csv" : \
  -np 1 $R --optim adam --schedule 'constant(lr=0.002)' --init "$P37" --grads "$tmp/g37.csv"

expect_ranks missing_checkpoint \
  "ravine: --resume: checkpoint '$tmp/none.safetensors': cannot open: No such file or directory" \
  "ravine: --resume: rank 0: checkpoint '$tmp/none.safetensors': cannot open: No such file or directory" -- \
  -np 2 $R --resume "$tmp/none.safetensors" --grads "$tmp/g37.csv"

finish
