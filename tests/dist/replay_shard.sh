# ravine replay --shard under mpirun: rank 0's output is byte-identical to the
# one-process replay for every optimizer and schedule, with parameter counts
# that do not divide by the rank count; checkpoints saved by P ranks resume
# under another number of ranks, or none, continuing bit for bit.
# $RAVINE_MPIRUN is mpirun with its flags (--oversubscribe).
. "$(dirname "$0")/../cli_lib.sh"

mpi() { local np=$1; shift; timeout 120 $RAVINE_MPIRUN -np "$np" "$@"; }

# gradients: ROWS lines of N values with every bit of the mantissa in use
grads() {
  awk -v n="$1" -v rows="$2" -v seed="$3" 'BEGIN {
    s = seed
    for (r = 0; r < rows; r++) {
      line = ""
      for (i = 0; i < n; i++) {
        s = (s * 1103515245 + 12345) % 2147483648
        v = (s / 2147483648 - 0.5) * 2 ^ (int(s / 7) % 7 - 3)
        line = line (i ? "," : "") sprintf("%.9g", v)
      }
      print line
    }
  }'
}
init() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%.9g", (i ? "," : ""), sin(i + 1); print "" }'; }

N=37   # 3 lines of 16: with 4 ranks one holds nothing, one holds 5 elements
grads $N 6 7 > "$tmp/g.csv"
P0=$(init $N)

# same rows as one process: every optimizer (one of 2, 3, 4 ranks each)
k=0
for spec in 'sgd(lr=0.1, momentum=0.9, nesterov=true)' 'polyak(lr=0.1)' 'adam(lr=0.01, amsgrad=true)' \
            'adamw(lr=0.01, weight_decay=0.1)' 'rmsprop(lr=0.01, centered=true, momentum=0.5)' \
            'adagrad(lr=0.1)' 'nadam(lr=0.01)' 'radam(lr=0.01)' 'adamax(lr=0.01)' 'lion(lr=0.001)' \
            'sfadamw(lr=0.01, warmup_steps=2)'; do
  np=$((2 + k % 3)); k=$((k + 1))
  want=$("$RAVINE" replay --optim "$spec" --init "$P0" --grads "$tmp/g.csv")
  expect_out "np$np $spec" "$want" mpi $np "$RAVINE" replay --shard --optim "$spec" --init "$P0" --grads "$tmp/g.csv"
done

# every schedule
k=0
for sched in 'step(lr=0.1, step_size=2)' 'multistep(lr=0.1, milestones=(1,4))' 'exponential(lr=0.1, gamma=0.8)' \
             'cosine(lr=0.1, t_max=5)' 'linear(lr=0.1, total_iters=4)' 'poly(lr=0.1, total_iters=5, power=2)' \
             'warmup_cosine(peak=0.1, warmup_steps=2, decay_steps=6)' 'onecycle(max_lr=0.1, total_steps=6)' \
             'cosine_restarts(lr=0.1, t_0=2, t_mult=2)'; do
  np=$((2 + k % 3)); k=$((k + 1))
  want=$("$RAVINE" replay --optim 'adamw(weight_decay=0.1)' --schedule "$sched" --init "$P0" --grads "$tmp/g.csv")
  expect_out "np$np $sched" "$want" \
    mpi $np "$RAVINE" replay --shard --optim 'adamw(weight_decay=0.1)' --schedule "$sched" --init "$P0" --grads "$tmp/g.csv"
done

# adafactor and muon take whole tensors: a 5x7 matrix on 2 and 3 ranks (the
# other ranks hold nothing), with replay's --shape
if "$RAVINE" replay --help | grep -q -- '--shape'; then
  grads 35 6 13 > "$tmp/m.csv"
  PM=$(init 35)
  for spec in 'adafactor(lr=0.01)' 'muon(lr=0.02)' 'muon(lr=0.02, adjust_lr_fn=match_rms_adamw)'; do
    for np in 2 3; do
      want=$("$RAVINE" replay --optim "$spec" --shape 5,7 --init "$PM" --grads "$tmp/m.csv")
      expect_out "np$np $spec --shape 5,7" "$want" \
        mpi $np "$RAVINE" replay --shard --optim "$spec" --shape 5,7 --init "$PM" --grads "$tmp/m.csv"
    done
  done
  want=$("$RAVINE" replay --optim 'adafactor(lr=0.01)' --init "$PM" --grads "$tmp/m.csv")
  expect_out "adafactor on a vector" "$want" \
    mpi 2 "$RAVINE" replay --shard --optim 'adafactor(lr=0.01)' --init "$PM" --grads "$tmp/m.csv"
else
  echo "replay has no --shape here: adafactor and muon are checked by test_dist only"
fi

# without mpirun (one rank of its own) it is the plain replay too
want=$("$RAVINE" replay --optim 'nadam(lr=0.01)' --init "$P0" --grads "$tmp/g.csv")
expect_out singleton "$want" "$RAVINE" replay --shard --optim 'nadam(lr=0.01)' --init "$P0" --grads "$tmp/g.csv"

# re-sharded resume: 6 updates uninterrupted = 3 saved by P ranks + 3 resumed by Q
N=1001
grads $N 6 11 > "$tmp/big.csv"
head -3 "$tmp/big.csv" > "$tmp/first.csv"
tail -3 "$tmp/big.csv" > "$tmp/last.csv"
PB=$(init $N)
for spec in 'adamw(lr=0.01, weight_decay=0.1)' 'rmsprop(lr=0.01, momentum=0.9)'; do
  S='cosine(lr=0.01, t_max=6)'
  full=$("$RAVINE" replay --optim "$spec" --schedule "$S" --init "$PB" --grads "$tmp/big.csv")
  want=$(printf '%s\n' "$full" | sed -n '1p;5,7p')
  for pq in 4:2 4:3 4:1 2:4 3:0; do
    p=${pq%:*}; q=${pq#*:}
    rm -f "$tmp/ck.safetensors"
    mpi $p "$RAVINE" replay --shard --optim "$spec" --schedule "$S" --init "$PB" --grads "$tmp/first.csv" \
      --save "$tmp/ck.safetensors" > /dev/null
    if [ "$q" = 0 ]; then   # none: the one-process replay reads the sharded file
      expect_out "$spec resume $p->none" "$want" "$RAVINE" replay --resume "$tmp/ck.safetensors" --grads "$tmp/last.csv"
    else
      expect_out "$spec resume $p->$q" "$want" \
        mpi $q "$RAVINE" replay --shard --resume "$tmp/ck.safetensors" --grads "$tmp/last.csv"
    fi
  done
  # the sharded file is the one-process file, byte for byte
  "$RAVINE" replay --optim "$spec" --schedule "$S" --init "$PB" --grads "$tmp/first.csv" --save "$tmp/one.safetensors" > /dev/null
  mpi 3 "$RAVINE" replay --shard --optim "$spec" --schedule "$S" --init "$PB" --grads "$tmp/first.csv" \
    --save "$tmp/three.safetensors" > /dev/null
  check "$spec: same checkpoint bytes" cmp -s "$tmp/one.safetensors" "$tmp/three.safetensors"
done

finish
