# Every --json output is valid JSON whatever the text it echoes holds:
# control bytes escaped, bytes that are not UTF-8 as U+FFFD, long texts
# whole (a file name with a newline and a stray byte, a 300-character
# column name, specs with tabs, a 900-character formula, a 1,500-character
# schedule through a checkpoint).
. "$(dirname "$0")/../cli_lib.sh"

# json_ok NAME PYTHON-CHECK CMD...: stdout parses (strictly) and the check holds
json_ok() {
  local name=$1 py=$2; shift 2
  "$@" > "$tmp/out.json" 2> "$tmp/err"
  if [ $? -eq 0 ] && python3 -c "
import json, sys
raw = open(sys.argv[1], 'rb').read()
d = json.loads(raw.decode('utf-8'))   # strict: invalid UTF-8 or a raw control byte fails here
$py" "$tmp/out.json"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name"; head -c 600 "$tmp/out.json"; cat "$tmp/err"; fi
}

# a file name with a newline, a tab and a byte that is not UTF-8
odd="$tmp/$(printf 'curve\n\t\377.csv')"
printf 'step,"col ""quoted""\tx loss"\n' > "$odd"
for i in $(seq 0 29); do echo "$i,$(awk "BEGIN{print 2*0.9^$i}")" >> "$odd"; done
json_ok diagnose_odd_name "
assert d['file'].endswith('curve\n\t\ufffd.csv'), repr(d['file'])
assert d['column'] == 'col \"quoted\"\tx loss', repr(d['column'])
assert d['verdict'] == 'healthy' and d['findings'] == []" "$RAVINE" diagnose "$odd" --json
# a 300-character column name comes back whole
long=$(printf 'x%.0s' $(seq 1 296))loss
{ echo "step,$long"; for i in $(seq 0 29); do echo "$i,$((30 - i))"; done; } > "$tmp/long.csv"
json_ok diagnose_long_column "assert d['column'] == 'x' * 296 + 'loss'" "$RAVINE" diagnose "$tmp/long.csv" --json
# findings, each with its evidence and advice
{ echo step,loss; for i in $(seq 0 299); do awk -v i=$i 'BEGIN{v = 0.7; if (i % 50 == 25) v = 2.1; printf "%d,%.6g\n", i, v * (1 + 0.001 * (i % 3))}'; done; } > "$tmp/floor.csv"
json_ok diagnose_findings "
kinds = [f['kind'] for f in d['findings']]
assert d['verdict'] == 'spiky' and kinds == ['spiky', 'plateau'], kinds
assert all(f['evidence'] and f['advice'] for f in d['findings'])
assert d['reason'] == d['findings'][0]['evidence']" "$RAVINE" diagnose "$tmp/floor.csv" --json

tab=$(printf '\t')
json_ok race_tab "assert d['results'][0]['optim'] == 'sgd(lr=0.1,${tab}momentum=0.9)'" \
  "$RAVINE" race --optims "sgd(lr=0.1,${tab}momentum=0.9)" --steps 5 --json
json_ok bench_tab "assert d['results'][0]['optim'] == 'sgd(${tab}lr=0.1)'" \
  "$RAVINE" bench --params 1000 --reps 1 --warmup 0 --optim "sgd(${tab}lr=0.1)" --json
json_ok sweep_tab "assert d['optim'] == 'sgd(${tab}momentum=0.5)'" \
  "$RAVINE" sweep --surface bowl --optim "sgd(${tab}momentum=0.5)" --lr 0.01:0.1:2 --steps 5 --json
# memory: what to expect comes from the registry, as `ravine optimizers` lists it
# (element-wise optimizers carry a state=fp32|bf16|int8 line)
"$RAVINE" optimizers > "$tmp/optimizers.txt"
json_ok memory "
names, elementwise = [], set()
for line in open('$tmp/optimizers.txt').read().splitlines():
    if line and not line.startswith(' '):
        names.append(line.split('(')[0])
    elif line.startswith('    state=fp32|bf16|int8'):
        elementwise.add(names[-1])
assert len(names) >= 13 and {'adamw', 'muon', 'adafactor'} <= set(names), names
assert 'muon' not in elementwise and 'adamw' in elementwise, elementwise
whole = [n for n in names if n not in elementwise]
res = d['results']
specs = [r['optim'] for r in res]
# one row per spec, every element-wise optimizer among them, and only those
assert len(set(specs)) == len(specs), specs
assert {s.split('(')[0] for s in specs} == elementwise, (specs, elementwise)
for r in res:
    k = len(r['state_buffers'])
    assert r['multiple'] == 1 + k and r['state_bytes'] == d['params'] * 4 * k, r
    assert r['with_grads_bytes'] == r['params_and_state_bytes'] + d['params'] * 4, r
# storage: fp32 or bf16 parameters; state fp32, bf16 and int8 for the element-wise
# ones, fp32 only for the others (counted on a matrix)
st = d['storage']
keys = [(r['optim'], r['params'], r['state']) for r in st]
assert len(set(keys)) == len(keys), keys
assert {r['optim'] for r in st} == set(specs) | set(whole), {r['optim'] for r in st}
want = sum(6 if o.split('(')[0] in elementwise else 2 for o in set(specs) | set(whole))
assert len(st) == want, (len(st), want)
buffers = {r['optim']: len(r['state_buffers']) for r in res}
for r in st:
    grad = 4 if r['params'] == 'fp32' else 2
    assert r['with_grads_bytes_per_param'] == r['bytes_per_param'] + grad, r
    if r['state'] == 'fp32' and r['optim'] in buffers:
        master = 4 if r['params'] == 'fp32' else 6
        assert r['bytes_per_param'] == master + 4 * buffers[r['optim']], r
print(len(specs), 'specs,', len(st), 'storage rows')" "$RAVINE" memory --json
# a formula of 780 characters: the surface comes back whole
f=$(for i in $(seq 1 35); do printf '+0.12345678901234%d*x^2' $((i % 10)); done); f="${f#+}+y^2"
json_ok curvature_long "assert d['surface'] == 'expr(f=\"${f}\")' and len(d['surface']) > 700" \
  "$RAVINE" curvature --surface "expr(f=\"$f\")" --json
json_ok gradcheck_long "assert len(d['surface']) > 700 and d['pass']" \
  "$RAVINE" gradcheck --surface "expr(f=\"$f\")" --json
json_ok sweep_long "assert len(d['surface']) > 700" \
  "$RAVINE" sweep --surface "expr(f=\"$f\")" --optim sgd --lr 0.001:0.01:2 --steps 3 --threshold 0 --json

# a schedule of 1,500 characters saved by replay comes back whole on --resume
ms=$(seq -s, 1000 1000 64000)
sched="then(first=multistep(lr=0.1, milestones=($ms), gamma=0.12345678901234567), second=product(of=($(for i in $(seq 1 12); do printf 'cosine_restarts(lr=0.%d, t_0=%d, m_mul=0.95),' $i $((10 + i)); done | sed 's/,$//'))), at=50)"
printf '0.5\n0.25\n' > "$tmp/g.csv"
"$RAVINE" replay --optim sgd --init 1 --grads "$tmp/g.csv" --schedule "$sched" --save "$tmp/long.ckpt" > /dev/null
check long_schedule_saved test $? -eq 0
"$RAVINE" schedule "$sched" --steps 4 > "$tmp/want.csv"
"$RAVINE" replay --resume "$tmp/long.ckpt" --grads "$tmp/g.csv" --save "$tmp/long2.ckpt" > /dev/null
check long_schedule_resumed test $? -eq 0
check long_schedule_whole python3 -c "
import json, struct, sys
for p in sys.argv[1:]:
    b = open(p, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    s = json.loads(b[8:8 + n])['__metadata__']['schedule']
    assert len(s) > 1024 and s.endswith(',at=50)'), len(s)
" "$tmp/long.ckpt" "$tmp/long2.ckpt"
finish
