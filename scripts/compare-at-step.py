#!/usr/bin/env python3
"""Compares two sets of runs at equal env steps, from their eval.csv files.

Usage: scripts/compare-at-step.py --step N [--window W] --a NAME RUN... --b NAME RUN...

For each run: the evaluation at step N and the mean of its last W evaluations up to N. For each
set: the mean over its runs and their range. Then whether each run of set B, and B's mean, lie
within set A's range (the spread of A's seeds), on both figures. Exits 1 when B's mean on the
evaluation at step N lies outside A's range.
"""
import argparse
import csv
import os
import sys


def evals(run):
    with open(os.path.join(run, "eval.csv")) as f:
        return [(int(r["step"]), float(r["mean_return"])) for r in csv.DictReader(f)]


def figures(run, step, window):
    rows = [(s, m) for s, m in evals(run) if s <= step]
    if not rows or rows[-1][0] != step:
        sys.exit(f"{run}: no evaluation at step {step}")
    last = [m for _, m in rows[-window:]]
    return rows[-1][1], sum(last) / len(last)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--step", type=int, required=True)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--a", nargs="+", required=True, metavar="NAME_THEN_RUNS")
    p.add_argument("--b", nargs="+", required=True, metavar="NAME_THEN_RUNS")
    args = p.parse_args()
    sets = []
    for spec in (args.a, args.b):
        name, runs = spec[0], spec[1:]
        if not runs:
            sys.exit(f"set {name} has no runs")
        sets.append((name, [(r, *figures(r, args.step, args.window)) for r in runs]))
    print(f"at step {args.step}: evaluation there | mean of the last {args.window} evaluations")
    print("| set | run | eval at step | mean of last evals |")
    print("|---|---|---|---|")
    for name, rows in sets:
        for run, at, mean in rows:
            print(f"| {name} | {run} | {at:.1f} | {mean:.1f} |")
        print(f"| {name} | mean over {len(rows)} | {sum(r[1] for r in rows) / len(rows):.1f} | "
              f"{sum(r[2] for r in rows) / len(rows):.1f} |")
    (an, a), (bn, b) = sets
    ok = True
    for k, label in ((1, "eval at step"), (2, f"mean of last {args.window}")):
        lo, hi = min(r[k] for r in a), max(r[k] for r in a)
        bmean = sum(r[k] for r in b) / len(b)
        inside = sum(lo <= r[k] <= hi for r in b)
        within = lo <= bmean <= hi
        print(f"{label}: {an} spans [{lo:.1f}, {hi:.1f}]; {bn} mean {bmean:.1f} "
              f"{'within' if within else 'OUTSIDE'}; {inside} of {len(b)} {bn} runs within")
        if k == 1:
            ok = within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
