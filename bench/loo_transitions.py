#!/usr/bin/env python3
"""How much of a leave-one-out test set a first-order transition table can answer.

Reads "user item" lines in time order (the SASRec/BERT4Rec text format) on stdin, builds the
item -> next-item counts from each user's training part (all but the last two events, as
shopseq's leave-one-out split), and reports for the test event (the last one):
  - the share whose target follows the user's last history item somewhere in training,
  - the share whose target is among that item's 10 most frequent successors once the user's
    history is masked, which bounds what the Markov baseline's HR@10 can reach.
Usage: zstd -dc ../shared/data/sasrec_format/Beauty_bert4rec.txt.zst | python3 bench/loo_transitions.py
"""
import collections
import sys


def main():
    seqs = collections.defaultdict(list)
    for line in sys.stdin:
        parts = line.split()
        if len(parts) >= 2:
            seqs[parts[0]].append(parts[1])
    succ = collections.defaultdict(collections.Counter)
    for s in seqs.values():
        train = s[:-2]
        for a, b in zip(train, train[1:]):
            succ[a][b] += 1
    n = seen = top10 = 0
    for s in seqs.values():
        if len(s) < 3:
            continue
        hist, target = s[:-1], s[-1]
        n += 1
        c = succ.get(hist[-1])
        if c and target in c:
            seen += 1
            had = set(hist)
            ranked = [x for x, _ in c.most_common() if x not in had]
            top10 += target in ranked[:10]
    lens = sorted(len(s) for s in seqs.values())
    print(f"users {len(seqs)}, test events {n}, sequence length median {lens[len(lens) // 2]}, "
          f"mean {sum(lens) / len(lens):.2f}")
    print(f"target follows the last history item in training: {seen / n:.4f}")
    print(f"target among that item's top-10 successors (history masked): {top10 / n:.4f}")


if __name__ == "__main__":
    main()
