#!/usr/bin/env python3
"""The GPT example's split in Python, its add-alpha n-gram baselines, and a
stronger reference: interpolated Kneser-Ney.

Rebuilds examples/gpt's corpus exactly (files without an extension in name
order, fortunes cut at lines "%", blank ones dropped, duplicates kept once,
bytewise sort, splitmix64 Fisher-Yates shuffle with seed 20251201, 90/5/5,
each fortune followed by "%\\n", the 98-token mapping) and scores the
positions the example scores (1 .. W*T of the validation stream, W = (n-1)//T
windows of T = 64), each from the tokens before it in the stream ('\\n'
before the start).

- add-alpha n-grams, orders 2..6, best alpha of the example's grid: an
  independent check of the example's baselines (they agree to ~1e-9);
- interpolated Kneser-Ney (absolute discount D = 0.75, continuation counts
  for the lower orders), orders 3..7: what a count model does with proper
  smoothing.

    /usr/bin/python3 bench/gpt_ngrams.py            # a few minutes, pure Python
"""
import argparse
import collections
import json
import math
import os

MASK = (1 << 64) - 1
ALPHAS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
V = 98


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def fortunes(text):
    docs, start, pos, n = [], 0, 0, len(text)
    while pos < n:
        nl = text.find(b"\n", pos)
        nxt = nl + 1 if nl >= 0 else n
        line = text[pos:nl if nl >= 0 else n]
        if line.endswith(b"\r"):
            line = line[:-1]
        delimiter = line == b"%"
        if delimiter or nxt == n:
            doc = text[start:pos if delimiter else n]
            if doc.strip(b" \t\n\r"):
                docs.append(doc)
            start = nxt
        pos = nxt
    return docs


def token(b):
    if b == 10:
        return 0
    if b == 9:
        return 1
    if 32 <= b <= 126:
        return b - 30
    return 97


def corpus(folder, seed=20251201):
    docs = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if "." not in name and os.path.isfile(path):
            docs += fortunes(open(path, "rb").read())
    docs = sorted(set(docs))
    rng = SplitMix64(seed)
    for i in range(len(docs), 1, -1):
        j = rng.below(i)
        docs[i - 1], docs[j] = docs[j], docs[i - 1]
    n = len(docs)
    n_train, n_val = n * 9 // 10, n // 20
    stream = lambda part: [token(b) for d in part for b in d + b"%\n"]
    return (stream(docs[:n_train]), stream(docs[n_train:n_train + n_val]),
            stream(docs[n_train + n_val:]), n)


def context(tokens, i, k):
    """The k tokens before position i ('\\n' = 0 before the start)."""
    if i >= k:
        return tuple(tokens[i - k:i])
    return (0,) * (k - i) + tuple(tokens[:i])


def add_alpha(train, val, positions, order):
    counts, ctx_counts = collections.Counter(), collections.Counter()
    for i in range(len(train)):
        c = context(train, i, order - 1)
        counts[c + (train[i],)] += 1
        ctx_counts[c] += 1
    nll = [0.0] * len(ALPHAS)
    for i in positions:
        c = context(val, i, order - 1)
        hit, total = counts[c + (val[i],)], ctx_counts[c]
        for k, a in enumerate(ALPHAS):
            nll[k] -= math.log((hit + a) / (total + V * a))
    best = min(range(len(ALPHAS)), key=lambda k: nll[k])
    return nll[best] / len(positions), ALPHAS[best]


def kneser_ney(train, val, positions, order, discount=0.75):
    # counts of the highest order, continuation counts below it
    grams = [collections.Counter() for _ in range(order + 1)]
    for i in range(len(train)):
        grams[order][context(train, i, order - 1) + (train[i],)] += 1
    for k in range(order, 1, -1):
        for g in grams[k]:
            grams[k - 1][g[1:]] += 1
    totals, types = [None] * (order + 1), [None] * (order + 1)
    for k in range(1, order + 1):
        totals[k], types[k] = collections.Counter(), collections.Counter()
        for g, c in grams[k].items():
            totals[k][g[:-1]] += c
            types[k][g[:-1]] += 1

    def prob(ctx, w, k):
        if k == 0:
            return 1.0 / V
        c = ctx[len(ctx) - (k - 1):] if k > 1 else ()
        lower = prob(ctx, w, k - 1)
        total = totals[k].get(c, 0)
        if total == 0:
            return lower
        return (max(grams[k].get(c + (w,), 0) - discount, 0) / total
                + discount * types[k][c] / total * lower)

    nll = 0.0
    for i in positions:
        nll -= math.log(prob(context(val, i, order - 1), val[i], order))
    return nll / len(positions)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/games/fortunes")
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--kn-orders", default="3,4,5,6,7")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    train, val, test, n = corpus(args.data)
    T = args.context
    positions = range(1, (len(val) - 1) // T * T + 1)
    result = {"fortunes": n, "train_tokens": len(train), "val_tokens": len(val),
              "test_tokens": len(test), "scored": len(positions), "add_alpha": {}, "kneser_ney": {}}
    names = {2: "bigram", 3: "trigram", 4: "4gram", 5: "5gram", 6: "6gram"}
    for order in range(2, 7):
        loss, alpha = add_alpha(train, val, positions, order)
        result["add_alpha"][names[order]] = {"loss": loss, "alpha": alpha}
        if not args.json:
            print("add-alpha %-7s %.6f (alpha %g)" % (names[order], loss, alpha), flush=True)
    for order in (int(k) for k in args.kn_orders.split(",")):
        loss = kneser_ney(train, val, positions, order)
        result["kneser_ney"]["%dgram" % order] = loss
        if not args.json:
            print("Kneser-Ney %d-gram  %.6f" % (order, loss), flush=True)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
