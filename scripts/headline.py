#!/usr/bin/env python3
"""The README's headline table and figure: our benchmark figures against the published ones.

Reads the target anchors of configs/benchmarks/anchors.yaml (the cells the issue's criterion names)
and the headline.json that `ddpg report` wrote for each suite, then
  - rewrites the block between <!-- headline:begin --> and <!-- headline:end --> in README.md with
    one row per cell (cells with no finished runs yet say so), and
  - draws docs/results/headline.png|svg: ours / published for each cell, with the 95% CI.
Nothing in the table is typed by hand: rerun this after regenerating the suites' reports.

Usage (from the repository root, Debian's python3 with matplotlib and yaml):
  build/ddpg report docs/results/data/mujoco --out docs/results/mujoco --anchors configs/benchmarks/anchors.yaml
  build/ddpg report docs/results/data/bullet --out docs/results/bullet --anchors configs/benchmarks/anchors.yaml
  /usr/bin/python3 scripts/headline.py
"""
import argparse
import json
import math
import os
import re
import sys

import yaml

SUITES = [  # (suite, report folder, sweep folder, grid, seeds the grid runs)
    ("MuJoCo", "docs/results/mujoco", "docs/results/data/mujoco", "mujoco", 3),
    ("PyBullet", "docs/results/bullet", "docs/results/data/bullet", "bullet", 3),
    ("Box2D", "docs/results/box2d", "docs/results/data/box2d", "box2d", 3),
]
AGENTS = {"td3": "TD3", "ourddpg": "DDPG (OurDDPG)", "ddpg_zoo": "DDPG (rl-zoo)",
          "td3_zoo": "TD3 (rl-zoo)"}
PROTOCOLS = {
    "final_eval": "final evaluation",
    "last10_eval": "mean of the last 10 evaluations",
    "final_train": "training return, last 10k steps",
    "max_mean_curve": "max of the mean curve",
}
BEGIN, END = "<!-- headline:begin -->", "<!-- headline:end -->"


def suite_of(env):
    if "BulletEnv" in env:
        return "PyBullet"
    if env.startswith(("LunarLander", "BipedalWalker")):
        return "Box2D"
    return "MuJoCo"


def number(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--anchors", default="configs/benchmarks/anchors.yaml")
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--figure", default="docs/results/headline")
    args = ap.parse_args()

    with open(args.anchors) as f:
        # the criterion's anchors, and the TD3 paper's Table 1 (the original numbers) beside them
        anchors = [a for a in yaml.safe_load(f)["anchors"]
                   if a.get("target") or a["source"].startswith("TD3 paper Table 1")]
    cells = []
    for suite, report, data, grid, seeds in SUITES:
        path = os.path.join(report, "headline.json")
        rows = {}
        if os.path.exists(path):
            with open(path) as f:
                rows = {(r["variant"], r["env"], r["source"], r["protocol"]): r
                        for r in json.load(f)}
        for a in anchors:
            if suite_of(a["env"]) != suite or a["variant"] not in AGENTS:
                continue
            r = rows.get((a["variant"], a["env"], a["source"].split(" (")[0], a["protocol"]))
            cells.append({"suite": suite, "grid": grid, "data": data, "seeds": seeds, "anchor": a,
                          "row": r})

    env_order = list(dict.fromkeys(a["env"] for a in anchors))
    cells.sort(key=lambda c: ([s[0] for s in SUITES].index(c["suite"]),
                              list(AGENTS).index(c["anchor"]["variant"]),
                              env_order.index(c["anchor"]["env"]), not c["anchor"].get("target")))
    lines = [BEGIN, "",
             "| suite | env | agent | ours [95% CI] | published | source, protocol | "
             "ours / published | criterion (≥ 85%) |",
             "|---|---|---|---|---|---|---|---|"]
    for c in cells:
        a, r = c["anchor"], c["row"]
        source = a["source"].split(" (")[0]
        label = f"{source}, {PROTOCOLS[a['protocol']]}"
        if r is not None and not isinstance(r.get("ours"), (int, float)) or (
                r is not None and math.isnan(r["ours"])):
            r = c["row"] = dict(r, ours=None)
        if r is None or r.get("ours") is None:
            why = "not run yet" if r is None else "no training log kept; rerun pending"
            ours, ratio, verdict = f"– ({why})", "–", "pending"
        else:
            ours = f"{number(r['ours'])} [{number(r['lo'])}, {number(r['hi'])}]"
            ratio = f"{100 * r['ratio']:.0f}%"
            verdict = "met" if r["ratio"] >= 0.85 else "**not met**"
            if r["n"] < c["seeds"]:
                ratio += f" ({r['n']} of {c['seeds']} seeds)"
                verdict += " so far"
        lines.append(f"| {c['suite']} | {a['env']} | {AGENTS[a['variant']]} | {ours} | "
                     f"{a['value']:.0f} | {label} | {ratio} | "
                     f"{verdict if a.get('target') else '(reference)'} |")
    lines += ["", END]

    with open(args.readme) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"headline: {args.readme} has no {BEGIN} ... {END} block to fill")
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: "\n".join(lines), text,
                  flags=re.S)
    tmp = args.readme + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.readme)

    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "ddpg"
    import matplotlib.pyplot as plt
    done = [c for c in cells if c["row"] and c["row"].get("ours") is not None]
    if not done:
        print("headline: no finished cell yet; README table written, no figure")
        return
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(done) + 1.2))
    for i, c in enumerate(done):
        r, v = c["row"], c["anchor"]["value"]
        ratio, lo, hi = r["ours"] / v, r["lo"] / v, r["hi"] / v
        color = "tab:green" if ratio >= 0.85 else "tab:red"
        ax.barh(i, ratio, color=color, alpha=0.6)
        ax.errorbar(ratio, i, xerr=[[ratio - lo], [hi - ratio]], color="black", capsize=3)
    ax.set_yticks(range(len(done)))
    ax.set_yticklabels([f"{AGENTS[c['anchor']['variant']]} · {c['anchor']['env']}\n"
                        f"vs {c['anchor']['source'].split(' (')[0]}" for c in done], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(0.85, color="gray", ls="--", lw=1)
    ax.set_xlabel("ours / published (under the anchor's protocol; 95% CI over seeds)")
    ax.set_title("ddpg against the published numbers")
    for ext in ("png", "svg"):
        # No date and fixed element ids in the SVG: the same data give the same file.
        meta = {"Date": None} if ext == "svg" else None
        fig.savefig(f"{args.figure}.{ext}", dpi=110, bbox_inches="tight", metadata=meta)
    print(f"headline: {len(cells)} cells, {len(done)} with figures; {args.readme}, "
          f"{args.figure}.png")


if __name__ == "__main__":
    main()
