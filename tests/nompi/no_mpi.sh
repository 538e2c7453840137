# A ravine built without MPI: every command but the sharded ones works, and
# those exit 2 saying why, before reading any input.
. "$(dirname "$0")/../cli_lib.sh"

printf '0.5,-1\n0.25,2\n' > "$tmp/g.csv"
expect_out replay "step,p0,p1
1,0.75,-0.5
2,0.625,-1.5" "$RAVINE" replay --optim 'sgd(lr=0.5)' --init 1,-1 --grads "$tmp/g.csv"
why="this ravine was built without MPI (install libopenmpi-dev and rebuild)"
expect_err replay_shard "ravine: --shard: $why" \
  "$RAVINE" replay --shard --optim 'sgd(lr=0.1)' --init 1,-1 --grads "$tmp/g.csv"
expect_err replay_shard_missing_file "ravine: --shard: $why" \
  "$RAVINE" replay --shard --optim sgd --init 1 --grads "$tmp/none.csv"
expect_err bench_shard "ravine: --shard: $why" "$RAVINE" bench --shard --params 1000 --reps 1
check bench_shard_no_output test ! -s "$tmp/out"
finish
