#!/usr/bin/env python3
"""Main effects and interactions of a factorial ablation grid, from a sweep folder's runs.

Usage:
    scripts/factorial.py SWEEP_DIR --env ENV --factor NAME=VARIANT,... [--factor ...]
        [--compare VARIANT=BASELINE ...] [--scores final,auc] [--seed 0]

A grid whose variants switch components on and off (configs/ablations/td3_components.yaml: the
eight combinations of TD3's delay, target smoothing and clipped double-Q) answers more than each
variant against one baseline. Name each factor by the variants that have it (`--factor
CDQ=ahe_cdq,td3,td3_minus_dp,td3_minus_tps`); every other variant of the sweep on ENV lacks it.
Printed, as Markdown, for each score:
  - each factor's main effect: the IQM of the runs with it minus the IQM of the runs without;
  - for each pair of factors, the 2 x 2 table pooled over the other factors, each factor's effect
    with and without the other, and the interaction (both - first only - second only + neither);
  - each --compare: a difference of IQMs between two variants, for comparisons against a baseline
    other than the grid's (`--compare td3_minus_cdq=td3`).
Scores and statistics are report.py's (final: the mean of a run's evaluations in the last 10% of
its training; auc: the mean of all its evaluations): IQM over runs, 95% percentile bootstrap CIs
from 2000 resamples, each group resampled independently, a pooled group stratified by variant
(each variant's seeds resampled among themselves). A difference whose CI excludes 0 is marked
"resolved". Only finished runs count. Seeded (--seed): the same data print the same numbers.
"""
import argparse
import importlib.util
import itertools
import os
import sys

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "report", os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.py"))
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def parse_pairs(items, what, example):
    """NAME=a,b,... arguments as (name, [a, b, ...]), with an error naming the bad one."""
    out = []
    for item in items:
        name, sep, rest = item.partition("=")
        values = [v for v in rest.split(",") if v]
        if not sep or not name or not values:
            sys.exit(f"factorial: {what} '{item}' is not NAME=VARIANT,...; for example {example}")
        out.append((name, values))
    return out


class Groups:
    """Scores of the finished runs of one env by variant, and bootstrap draws of pooled groups."""

    def __init__(self, runs, protocol, rng):
        self.by_variant = {}
        for r in runs:
            self.by_variant.setdefault(r["variant"], []).append(report.score(r, protocol))
        self.rng = rng

    def values(self, variants):
        return [x for v in variants for x in self.by_variant[v]]

    def draws(self, variants):
        groups = [self.by_variant[v] for v in variants]
        return report.iqm_rows(report.stratified(groups, self.rng))


def fmt(x):
    return f"{x:+.1f}"


def interval(draws):
    lo, hi = report.ci(draws)
    return lo, hi, f"[{lo:+.1f}, {hi:+.1f}]"


def effect_row(label, value, draws):
    """A table row: a difference, its CI from its bootstrap draws, and whether it is resolved."""
    lo, hi, text = interval(draws)
    verdict = "resolved" if lo > 0 or hi < 0 else "not resolved"
    return f"| {label} | {fmt(value)} | {text} | {verdict} |"


def difference_row(label, groups, a, b):
    """A table row: IQM(a) - IQM(b) with its CI; a and b are lists of variants."""
    return effect_row(label, report.iqm(groups.values(a)) - report.iqm(groups.values(b)),
                      groups.draws(a) - groups.draws(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep", help="a sweep folder (manifest.json)")
    ap.add_argument("--env", required=True)
    ap.add_argument("--factor", action="append", default=[], metavar="NAME=VARIANT,...",
                    help="a factor and the variants that have it (repeat for each factor)")
    ap.add_argument("--compare", action="append", default=[], metavar="VARIANT=BASELINE",
                    help="also print VARIANT's difference from BASELINE (repeatable)")
    ap.add_argument("--scores", default="final,auc",
                    help="comma-separated: final, auc, final_eval, last10_eval (default final,auc)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.sweep, "manifest.json")):
        sys.exit(f"factorial: '{args.sweep}' has no manifest.json; give a sweep folder "
                 "(the --out of ddpg sweep)")
    factors = parse_pairs(args.factor, "--factor", "--factor CDQ=ahe_cdq,td3")
    compares = parse_pairs(args.compare, "--compare", "--compare td3_minus_cdq=td3")
    if not factors and not compares:
        sys.exit("factorial: nothing to compute; give at least one --factor or --compare")
    for name, values in compares:
        if len(values) != 1:
            sys.exit(f"factorial: --compare {name}={','.join(values)} names more than one "
                     "baseline; write one --compare per pair")
    scores = [s for s in args.scores.split(",") if s]
    known = ("final", "auc", "final_eval", "last10_eval")
    for s in scores:
        if s not in known:
            sys.exit(f"factorial: unknown score '{s}'; choose among {', '.join(known)}")

    runs, _ = report.discover([args.sweep])
    envs = sorted({r["env"] for r in runs})
    runs = [r for r in runs if r["env"] == args.env]
    if not runs:
        sys.exit(f"factorial: the sweep has no runs of '{args.env}'; its envs: {', '.join(envs)}")
    unfinished = [r for r in runs if not r["finished"]]
    runs = [r for r in runs if r["finished"] and r["returns"]]
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    named = [v for _, vs in factors for v in vs] + [v for n, vs in compares for v in [n] + vs]
    missing = sorted({v for v in named if v not in variants})
    if missing:
        sys.exit(f"factorial: no finished run of {', '.join(missing)} on {args.env}; the "
                 f"sweep's finished variants there: {', '.join(variants) or 'none'}")
    names = [n for n, _ in factors]
    if len(set(names)) != len(names):
        sys.exit("factorial: a factor is named twice; give each --factor its own name")

    rng = np.random.default_rng(args.seed)
    level = {n: set(vs) for n, vs in factors}
    lines = [f"# Factorial reading of {os.path.normpath(args.sweep)} on {args.env}", "",
             f"{len(runs)} finished runs of {len(variants)} variants"
             + (f" ({len(unfinished)} unfinished, left out)" if unfinished else "") + ".", ""]
    for n, vs in factors:
        lines.append(f"- {n}: with {', '.join(vs)}; without "
                     f"{', '.join(v for v in variants if v not in level[n]) or 'no variant'}")
    lines.append("")
    for protocol in scores:
        groups = Groups(runs, protocol, rng)
        lines += [f"## Score: {protocol}", ""]
        if factors:
            lines += ["| main effect | difference of IQMs | 95% CI | |", "|---|---|---|---|"]
            for n in names:
                with_ = [v for v in variants if v in level[n]]
                without = [v for v in variants if v not in level[n]]
                if not with_ or not without:
                    which = "has" if with_ else "lacks"
                    lines.append(f"| {n} | – | every variant {which} it | |")
                    continue
                lines.append(difference_row(f"{n} (runs with {len(groups.values(with_))}, "
                                            f"without {len(groups.values(without))})",
                                            groups, with_, without))
            lines.append("")
        for a, b in itertools.combinations(names, 2):
            cell = {(ia, ib): [v for v in variants
                               if (v in level[a]) == ia and (v in level[b]) == ib]
                    for ia in (False, True) for ib in (False, True)}
            lines += [f"### {a} × {b}, pooled over the other factors", "",
                      f"| | without {b} | with {b} |", "|---|---|---|"]
            for ia in (False, True):
                row = [f"{'with' if ia else 'without'} {a}"]
                for ib in (False, True):
                    vs = cell[(ia, ib)]
                    if not vs:
                        row.append("no runs")
                        continue
                    lo, hi, _ = interval(groups.draws(vs))
                    row.append(f"{report.iqm(groups.values(vs)):.1f} [{lo:.1f}, {hi:.1f}] "
                               f"({', '.join(vs)})")
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
            if any(not vs for vs in cell.values()):
                lines += ["Some cells have no runs: no effects for this pair.", ""]
                continue
            both, a_only = cell[(True, True)], cell[(True, False)]
            b_only, neither = cell[(False, True)], cell[(False, False)]
            lines += ["| effect | difference of IQMs | 95% CI | |", "|---|---|---|---|",
                      difference_row(f"{a} with {b}", groups, both, b_only),
                      difference_row(f"{a} without {b}", groups, a_only, neither),
                      difference_row(f"{b} with {a}", groups, both, a_only),
                      difference_row(f"{b} without {a}", groups, b_only, neither),
                      difference_row("both against neither", groups, both, neither)]
            value = sum(s * report.iqm(groups.values(vs))
                        for s, vs in ((1, both), (-1, a_only), (-1, b_only), (1, neither)))
            draws = (groups.draws(both) - groups.draws(a_only) - groups.draws(b_only)
                     + groups.draws(neither))
            lines += [effect_row(f"interaction (both − {a} only − {b} only + neither)", value,
                                 draws), ""]
        if compares:
            lines += ["| comparison | difference of IQMs | 95% CI | |", "|---|---|---|---|"]
            for v, (base,) in compares:
                lines.append(difference_row(f"{v} − {base}", groups, [v], [base]))
            lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
