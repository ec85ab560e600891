#!/usr/bin/env python3
"""Report of DDPG runs: learning curves, final-performance table (IQM with bootstrap CIs) and one
bar chart per ablation axis, as PNG and SVG figures and a Markdown summary.

Called by `ddpg report DIR...` (the binary carries this script); it can also be run directly:
    python3 scripts/report.py --out REPORT_DIR SWEEP_DIR_OR_RUN_DIRS...

Inputs are the CSV/JSON contract of a run folder: eval.csv (step,mean_return,...), meta.json (env,
seed) and, for sweeps, manifest.json (variant, env, seed, dir; question and axis of the study).

Statistics (Agarwal et al. 2021, "rliable"):
  - a run's score is the mean evaluation return of its last evaluation;
  - per (variant, env): the interquartile mean (IQM, scipy's trim_mean(., 0.25)) over seeds, with a
    95% percentile bootstrap confidence interval over seeds;
  - aggregate per variant: IQM over all (env, seed) runs of min-max normalised scores (per env, over
    every run of that env in the report), with a stratified bootstrap CI (seeds resampled within
    each env);
  - learning curves: mean over seeds at each evaluation step, with a 95% bootstrap band.
"""
import argparse
import csv
import json
import math
import os
import random
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BOOTSTRAP = 2000


def read_eval(run_dir):
    path = os.path.join(run_dir, "eval.csv")
    steps, returns = [], []
    if not os.path.exists(path):
        return steps, returns
    with open(path) as f:
        for row in csv.DictReader(f):
            steps.append(int(row["step"]))
            returns.append(float(row["mean_return"]))
    return steps, returns


def iqm(values):
    """Interquartile mean: the mean after trimming 25% at each end (scipy.stats.trim_mean)."""
    v = sorted(values)
    n = len(v)
    cut = int(0.25 * n)
    kept = v[cut:n - cut] if n - 2 * cut > 0 else v
    return sum(kept) / len(kept)


def bootstrap_ci(groups, stat, rng):
    """Percentile 95% CI of stat(flattened resample), resampling within each group (stratified)."""
    draws = []
    for _ in range(BOOTSTRAP):
        sample = []
        for g in groups:
            sample.extend(rng.choice(g) for _ in g)
        draws.append(stat(sample))
    draws.sort()
    return draws[int(0.025 * BOOTSTRAP)], draws[int(0.975 * BOOTSTRAP) - 1]


def discover(paths):
    """Runs as dicts (variant, env, seed, dir), and the study's question and axis."""
    runs, question, axis = [], "", "variant"
    for p in paths:
        manifest = os.path.join(p, "manifest.json")
        if os.path.exists(manifest):
            with open(manifest) as f:
                m = json.load(f)
            question = question or m.get("question", "")
            axis = m.get("axis", axis) or axis
            for r in m["runs"]:
                runs.append({"variant": r["variant"], "env": r["env"], "seed": r["seed"],
                             "dir": os.path.join(p, r["dir"])})
        elif os.path.exists(os.path.join(p, "meta.json")):
            with open(os.path.join(p, "meta.json")) as f:
                meta = json.load(f)
            runs.append({"variant": os.path.basename(os.path.normpath(p)), "env": meta["env"],
                         "seed": meta["seed"], "dir": p})
        else:
            sys.exit(f"report: '{p}' is neither a sweep folder (manifest.json) nor a run folder "
                     "(meta.json)")
    for r in runs:
        r["steps"], r["returns"] = read_eval(r["dir"])
    missing = [r["dir"] for r in runs if not r["returns"]]
    runs = [r for r in runs if r["returns"]]
    if not runs:
        sys.exit("report: no run has evaluations yet (eval.csv is empty or missing)")
    return runs, question, axis, missing


def save(fig, out, name):
    files = []
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=120, bbox_inches="tight")
        files.append(os.path.basename(path))
    plt.close(fig)
    return files


def curves(runs, envs, variants, out, rng):
    figures = []
    for env in envs:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for v in variants:
            group = [r for r in runs if r["env"] == env and r["variant"] == v]
            if not group:
                continue
            steps = sorted(set.intersection(*(set(r["steps"]) for r in group)))
            if not steps:
                continue
            per_seed = [[dict(zip(r["steps"], r["returns"]))[s] for s in steps] for r in group]
            mean, lo, hi = [], [], []
            for i in range(len(steps)):
                vals = [p[i] for p in per_seed]
                mean.append(sum(vals) / len(vals))
                a, b = bootstrap_ci([vals], lambda x: sum(x) / len(x), rng)
                lo.append(a)
                hi.append(b)
            line, = ax.plot(steps, mean, label=f"{v} (n={len(group)})")
            ax.fill_between(steps, lo, hi, alpha=0.2, color=line.get_color())
        ax.set_title(env)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("mean evaluation return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        figures += save(fig, out, f"curves_{env}")
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    runs, question, axis, missing = discover(args.paths)
    envs = list(dict.fromkeys(r["env"] for r in runs))
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    for r in runs:
        r["score"] = r["returns"][-1]
        r["final_step"] = r["steps"][-1]

    figures = curves(runs, envs, variants, args.out, rng)

    # final performance per (variant, env)
    table = []
    for v in variants:
        for env in envs:
            scores = [r["score"] for r in runs if r["variant"] == v and r["env"] == env]
            if not scores:
                continue
            lo, hi = bootstrap_ci([scores], iqm, rng)
            steps = max(r["final_step"] for r in runs if r["variant"] == v and r["env"] == env)
            table.append({"variant": v, "env": env, "n": len(scores), "iqm": iqm(scores),
                          "ci_low": lo, "ci_high": hi, "mean": sum(scores) / len(scores),
                          "step": steps})

    # aggregate: min-max normalised per env, stratified bootstrap over envs
    bounds = {}
    for env in envs:
        s = [r["score"] for r in runs if r["env"] == env]
        bounds[env] = (min(s), max(s))

    def norm(r):
        lo, hi = bounds[r["env"]]
        return (r["score"] - lo) / (hi - lo) if hi > lo else 0.5

    aggregate = []
    for v in variants:
        groups = [[norm(r) for r in runs if r["variant"] == v and r["env"] == env] for env in envs]
        groups = [g for g in groups if g]
        flat = [x for g in groups for x in g]
        lo, hi = bootstrap_ci(groups, iqm, rng)
        aggregate.append({"variant": v, "iqm": iqm(flat), "ci_low": lo, "ci_high": hi,
                          "n": len(flat)})

    # one bar chart for the axis: IQM per variant and env, with CIs
    fig, axes = plt.subplots(1, len(envs), figsize=(max(4.0, 3.8 * len(envs)), 3.8), squeeze=False)
    for ax, env in zip(axes[0], envs):
        rows = [t for t in table if t["env"] == env]
        xs = range(len(rows))
        ax.bar(xs, [t["iqm"] for t in rows],
               yerr=[[max(0.0, t["iqm"] - t["ci_low"]) for t in rows],
                     [max(0.0, t["ci_high"] - t["iqm"]) for t in rows]],
               capsize=3, color=[f"C{i}" for i in xs])
        ax.set_xticks(list(xs))
        ax.set_xticklabels([t["variant"] for t in rows], rotation=30, ha="right", fontsize=8)
        ax.set_title(env, fontsize=9)
        ax.set_ylabel("final return (IQM, 95% CI)", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"ablation: {axis}")
    fig.tight_layout()
    figures += save(fig, args.out, f"bars_{axis}")

    with open(os.path.join(args.out, "final.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["variant", "env", "runs", "iqm", "ci_low", "ci_high", "mean", "step"])
        for t in table:
            w.writerow([t["variant"], t["env"], t["n"], t["iqm"], t["ci_low"], t["ci_high"],
                        t["mean"], t["step"]])

    lines = ["# DDPG report", ""]
    if question:
        lines += [f"**Question.** {question}", ""]
    lines += [f"Runs: {len(runs)} ({len(variants)} variants × {len(envs)} envs). Score: the mean "
              "return of a run's last evaluation. IQM = interquartile mean over seeds; 95% "
              f"percentile bootstrap CIs ({BOOTSTRAP} resamples), as rliable.", ""]
    if missing:
        lines += [f"Runs without evaluations (left out): {len(missing)}.", ""]
    lines += ["## Final performance", "", "| variant | env | runs | IQM | 95% CI | mean | step |",
              "|---|---|---|---|---|---|---|"]
    for t in table:
        lines.append(f"| {t['variant']} | {t['env']} | {t['n']} | {t['iqm']:.1f} | "
                     f"[{t['ci_low']:.1f}, {t['ci_high']:.1f}] | {t['mean']:.1f} | {t['step']} |")
    lines += ["", "## Aggregate over envs (min-max normalised scores)", "",
              "| variant | runs | IQM | 95% CI |", "|---|---|---|---|"]
    for a in aggregate:
        lines.append(f"| {a['variant']} | {a['n']} | {a['iqm']:.3f} | "
                     f"[{a['ci_low']:.3f}, {a['ci_high']:.3f}] |")
    lines += ["", "## Figures", ""]
    for fname in figures:
        if fname.endswith(".png"):
            lines.append(f"![{fname}]({fname})")
    lines.append("")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines))
    print(os.path.join(args.out, "report.md"))
    for fname in figures:
        print(os.path.join(args.out, fname))


if __name__ == "__main__":
    main()
