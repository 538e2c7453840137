# A rank that dies in the middle of a sharded save leaves the old checkpoint
# intact (tests/dist/save_crash.c): the rank that gathers and writes (rank 0)
# killed half-way through writing, or another rank killed as the save
# begins. Each run is time-limited; mpirun must stop the job (no hang).
. "$(dirname "$0")/../cli_lib.sh"

for how in rank1 writer; do
  for np in 2 3; do
    rm -f "$tmp/ck.safetensors" "$tmp/ck.safetensors.good" "$tmp"/ck.safetensors.tmp-*
    timeout 60 $RAVINE_MPIRUN -np $np "$RAVINE_SAVE_CRASH" "$tmp/ck.safetensors" $how >"$tmp/out" 2>&1
    rc=$?
    check "$how np$np: the job was stopped, not hung (exit $rc)" test $rc -ne 0 -a $rc -ne 124 -a $rc -ne 3
    check "$how np$np: a good checkpoint was written first" test -s "$tmp/ck.safetensors.good"
    check "$how np$np: the old checkpoint is intact" cmp -s "$tmp/ck.safetensors" "$tmp/ck.safetensors.good"
  done
done
finish
