#!/usr/bin/env python3
"""Report of DDPG runs: learning curves, final-performance tables with bootstrap CIs, the published
numbers beside ours, comparisons between the variants of a study, and the provenance of every run.

Called by `ddpg report DIR...` (the binary carries this script and the anchors file); it can also be
run directly:
    python3 scripts/report.py --out REPORT_DIR [--anchors configs/benchmarks/anchors.yaml] DIRS...

Inputs are the CSV/JSON contract of a run folder: eval.csv (step,mean_return,...), progress.csv or
progress.csv.gz (one row per training episode), meta.json (env, seed, provenance), summary.json
(present once the run finished), config.yaml; and for sweeps manifest.json (variant, env, seed,
dir, total_steps; the study's question, axis and baseline). A sweep folder may hold answer.md, the
written answer to its question, which the report quotes.

Pictures: for each env, the run with the highest final evaluation that still has a policy file is
drawn by `ddpg render` (the binary given by --ddpg-binary, which `ddpg report` passes) into
OUT/media/ENV.png (a strip of six states of one evaluation episode) and OUT/media/ENV.gif (that
episode, 240 × 180, at most 150 frames). Where no run has a policy (committed data keep none), a
picture already in OUT/media stays linked, with the caption kept beside it in OUT/media/ENV.txt
(a picture drawn by hand, from a run outside the report, says so there). --no-media skips the drawing; a drawing that fails (no
OpenGL, say) is a warning, not a failed report.

Scores of a run (all from deterministic evaluations unless said):
  final        mean of the evaluations in the last 10% of training (the study score);
  auc          mean of all evaluations (area under the learning curve, per step);
  final_eval   the last evaluation;
  last10_eval  mean of the last 10 evaluations (the TD3 paper's Table 2);
  final_train  mean return of the training episodes (with exploration noise) that ended in the last
               10,000 steps (CleanRL's tables report training returns);
and of a group of seeds: max_mean_curve, the maximum over steps of the mean-over-seeds evaluation
curve (the TD3 paper's Table 1).

Statistics (Agarwal et al. 2021, "rliable"): the interquartile mean (IQM, scipy's
trim_mean(., 0.25)) over seeds with 95% percentile bootstrap CIs (seeds resampled; stratified by env
for aggregates); differences between variants resample each group independently. A difference is
"supported at 95%" when its CI excludes 0.
"""
import argparse
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "ddpg"  # fixed SVG ids (see save)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

BOOTSTRAP = 2000
TRAIN_WINDOW = 10000  # steps at the end of training whose episodes make final_train
PROTOCOLS = {
    "final_eval": "last evaluation, mean over seeds",
    "last10_eval": "mean of the last 10 evaluations, mean over seeds",
    "final_train": "training-episode return over the last 10k steps, mean over seeds",
    "max_mean_curve": "maximum of the mean-over-seeds evaluation curve",
}


# ---------------------------------------------------------------------------------------------
# reading runs

def read_text(path):
    """A file's text; path.gz is read when path itself is missing."""
    if os.path.exists(path):
        with open(path) as f:
            return f.read()
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rt") as f:
            return f.read()
    return None


def read_json(path):
    text = read_text(path)
    if text is None:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def config_value(text, key):
    m = re.search(r"^\s*" + key + r":\s*([-0-9.e+]+)", text or "", re.M)
    return float(m.group(1)) if m else None


def load_run(r):
    """Fills a run dict (variant, env, seed, dir, total_steps) with its data."""
    d = r["dir"]
    r["steps"], r["returns"] = [], []
    text = read_text(os.path.join(d, "eval.csv"))
    if text:
        for row in csv.DictReader(io.StringIO(text)):
            r["steps"].append(int(row["step"]))
            r["returns"].append(float(row["mean_return"]))
    r["episodes"] = []  # (end step, return) of training episodes
    text = read_text(os.path.join(d, "progress.csv"))
    if text:
        for row in csv.DictReader(io.StringIO(text)):
            r["episodes"].append((int(row["step"]), float(row["return"])))
    cfg = read_text(os.path.join(d, "config.yaml"))
    if r.get("total_steps") is None:
        r["total_steps"] = int(config_value(cfg, "total_steps") or 0)
    r["learning_starts"] = int(config_value(cfg, "learning_starts") or 0)
    r["meta"] = read_json(os.path.join(d, "meta.json"))
    summary = read_json(os.path.join(d, "summary.json"))
    r["finished"] = bool(summary) and summary.get("steps", -1) >= r["total_steps"] > 0
    r["wall_seconds"] = r["meta"].get("wall_seconds", summary.get("seconds"))
    return r


def discover(paths):
    """Runs as dicts, and the study's question, axis, baseline and answers."""
    runs, study = [], {"question": "", "axis": "variant", "baseline": None, "answers": []}
    for p in paths:
        manifest = os.path.join(p, "manifest.json")
        if os.path.exists(manifest):
            with open(manifest) as f:
                m = json.load(f)
            study["question"] = study["question"] or m.get("question", "")
            study["axis"] = m.get("axis") or study["axis"]
            study["baseline"] = study["baseline"] or m.get("baseline")
            answer = read_text(os.path.join(p, "answer.md"))
            if answer:
                study["answers"].append(answer.strip())
            for r in m["runs"]:
                runs.append({"variant": r["variant"], "env": r["env"], "seed": r["seed"],
                             "dir": os.path.join(p, r["dir"]),
                             "total_steps": r.get("total_steps")})
        elif os.path.exists(os.path.join(p, "meta.json")):
            meta = read_json(os.path.join(p, "meta.json"))
            runs.append({"variant": os.path.basename(os.path.normpath(p)), "env": meta["env"],
                         "seed": meta["seed"], "dir": p, "total_steps": None})
        else:
            sys.exit(f"report: '{p}' is neither a sweep folder (manifest.json) nor a run folder "
                     "(meta.json)")
    for r in runs:
        load_run(r)
    return runs, study


# ---------------------------------------------------------------------------------------------
# scores and statistics

def score(r, protocol):
    steps, returns = r["steps"], r["returns"]
    if protocol == "final_eval":
        return returns[-1]
    if protocol == "last10_eval":
        return float(np.mean(returns[-10:]))
    if protocol == "final":
        end = r["total_steps"] or steps[-1]
        window = [x for s, x in zip(steps, returns) if s >= 0.9 * end]
        return float(np.mean(window or returns[-1:]))
    if protocol == "auc":
        return float(np.mean(returns))
    if protocol == "final_train":
        end = r["total_steps"] or (r["episodes"][-1][0] if r["episodes"] else 0)
        window = [x for s, x in r["episodes"] if s > end - TRAIN_WINDOW]
        if not window and r["episodes"]:
            window = [r["episodes"][-1][1]]
        return float(np.mean(window)) if window else float("nan")
    raise ValueError(protocol)


def iqm_rows(a):
    """IQM of each row of a 2-D array (scipy.stats.trim_mean(row, 0.25))."""
    a = np.sort(np.asarray(a, dtype=float), axis=-1)
    n = a.shape[-1]
    cut = int(0.25 * n)
    return a[..., cut:n - cut].mean(axis=-1) if n - 2 * cut > 0 else a.mean(axis=-1)


def iqm(values):
    return float(iqm_rows(np.asarray(values, dtype=float)[None, :])[0])


def resample(values, rng):
    """BOOTSTRAP resamples (rows) of values, with replacement."""
    v = np.asarray(values, dtype=float)
    return v[rng.integers(0, len(v), size=(BOOTSTRAP, len(v)))]


def ci(draws):
    draws = np.sort(np.asarray(draws))
    return float(draws[int(0.025 * BOOTSTRAP)]), float(draws[int(0.975 * BOOTSTRAP) - 1])


def stratified(groups, rng):
    """Resamples of several groups (one per env), concatenated along each row."""
    return np.concatenate([resample(g, rng) for g in groups], axis=1)


def common_curve(group):
    """Evaluation steps shared by every run of the group, and the (runs × steps) returns there."""
    steps = sorted(set.intersection(*(set(r["steps"]) for r in group)))
    table = np.array([[dict(zip(r["steps"], r["returns"]))[s] for s in steps] for r in group])
    return steps, table


def steps_label(step):
    """5000 -> "5k", 1000000 -> "1M", 855000 -> "855k"."""
    if step >= 1000000 and step % 100000 == 0:
        return f"{step / 1e6:g}M"
    if step >= 1000 and step % 1000 == 0:
        return f"{step // 1000}k"
    return str(step)


def group_stat(group, protocol, rng):
    """(value, ci_low, ci_high) of a group of seeds under a protocol (the mean over seeds, as the
    literature reports, except max_mean_curve)."""
    if protocol == "max_mean_curve":
        steps, table = common_curve(group)
        if not steps:
            return float("nan"), float("nan"), float("nan")
        value = float(table.mean(axis=0).max())
        idx = rng.integers(0, len(group), size=(BOOTSTRAP, len(group)))
        draws = table[idx].mean(axis=1).max(axis=1)
        return (value, *ci(draws))
    scores = [score(r, protocol) for r in group]
    return (float(np.mean(scores)), *ci(resample(scores, rng).mean(axis=1)))


# ---------------------------------------------------------------------------------------------
# figures

def save(fig, out, name):
    files = []
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{name}.{ext}")
        # No date and fixed element ids in the SVG: the same data give the same file.
        meta = {"Date": None} if ext == "svg" else None
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata=meta)
        files.append(os.path.basename(path))
    plt.close(fig)
    return files


def draw_curves(ax, runs, env, variants, anchors, rng):
    for i, v in enumerate(variants):
        color = f"C{i}"
        group = [r for r in runs if r["env"] == env and r["variant"] == v]
        if group:
            steps, table = common_curve(group)
            if steps:
                mean = table.mean(axis=0)
                idx = rng.integers(0, len(group), size=(BOOTSTRAP, len(group)))
                draws = np.sort(table[idx].mean(axis=1), axis=0)
                lo = draws[int(0.025 * BOOTSTRAP)]
                hi = draws[int(0.975 * BOOTSTRAP) - 1]
                ax.plot(steps, mean, color=color, lw=1.4, label=f"{v} (n={len(group)})")
                ax.fill_between(steps, lo, hi, alpha=0.2, color=color, lw=0)
        for a in anchors:
            if a["env"] == env and a["variant"] == v:
                ax.axhline(a["value"], color=color, lw=1.0,
                           ls="--" if a.get("target") else ":",
                           label=f"{v}: {a['short']} ({a['protocol']})")
    ax.set_title(env, fontsize=10)
    ax.set_xlabel("environment steps", fontsize=8)
    ax.set_ylabel("evaluation return (mean, 95% CI)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)


def figures_curves(runs, envs, variants, anchors, out, rng):
    files = []
    for env in envs:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        draw_curves(ax, runs, env, variants, anchors, rng)
        files += save(fig, out, f"curves_{env}")
    if len(envs) > 1:
        cols = min(4, len(envs))
        rows = math.ceil(len(envs) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
        for ax, env in zip(axes.flat, envs):
            draw_curves(ax, runs, env, variants, anchors, rng)
        for ax in list(axes.flat)[len(envs):]:
            ax.axis("off")
        fig.tight_layout()
        files += save(fig, out, "curves_all")
    return files


def figure_bars(table, envs, axis, out):
    fig, axes = plt.subplots(1, len(envs), figsize=(max(4.0, 3.8 * len(envs)), 3.8),
                             squeeze=False)
    for ax, env in zip(axes[0], envs):
        rows = [t for t in table if t["env"] == env]
        xs = range(len(rows))
        ax.bar(xs, [t["iqm"] for t in rows],
               yerr=[[max(0.0, t["iqm"] - t["lo"]) for t in rows],
                     [max(0.0, t["hi"] - t["iqm"]) for t in rows]],
               capsize=3, color=[f"C{i}" for i in xs])
        ax.set_xticks(list(xs))
        ax.set_xticklabels([t["variant"] for t in rows], rotation=30, ha="right", fontsize=8)
        ax.set_title(env, fontsize=9)
        ax.set_ylabel("final score (IQM, 95% CI)", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"ablation: {axis}")
    fig.tight_layout()
    return save(fig, out, f"bars_{axis}")


# ---------------------------------------------------------------------------------------------
# the report

def fmt(x, digits=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}".replace(",", " ") if abs(x) >= 1e4 else f"{x:.{digits}f}"


def load_anchors(path):
    if not path:
        return []
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        data = json.loads(text)
    else:
        import yaml  # python3-yaml, installed by scripts/build
        data = yaml.safe_load(text)
    anchors = data.get("anchors", []) if isinstance(data, dict) else []
    for a in anchors:
        a["short"] = a["source"].split(" (")[0]
    return anchors


def random_scores(runs):
    """Per env: the mean return of training episodes played wholly with uniform-random actions
    (those that ended before learning_starts), pooled over the env's runs."""
    out = {}
    for env in {r["env"] for r in runs}:
        vals = [x for r in runs if r["env"] == env for s, x in r["episodes"]
                if s <= r["learning_starts"]]
        out[env] = (float(np.mean(vals)), len(vals)) if vals else (None, 0)
    return out


def provenance(runs):
    lines = ["## Provenance", "",
             "Every run records what produced it in its meta.json: the commit of the binary (`*`: "
             "built from a tree with uncommitted changes), the build type, the CPU, the threads "
             "and the wall time summed over the run's processes.", ""]
    core_s, commits, cpus = 0.0, {}, {}
    rows = []
    for r in sorted(runs, key=lambda r: (r["variant"], r["env"], r["seed"])):
        m = r["meta"]
        segs = m.get("segments") or []
        cs = []
        for s in ([m] if m.get("commit") else []) + segs:
            c = s.get("commit", "")[:8] + ("*" if s.get("commit_dirty") else "")
            if c and c not in cs:
                cs.append(c)
        for c in cs:
            commits[c] = commits.get(c, 0) + 1
        cpu = m.get("cpu", "–")
        cpus[cpu] = cpus.get(cpu, 0) + 1
        threads = m.get("threads", m.get("torch_threads", 1)) or 1
        wall = r["wall_seconds"]
        if wall:
            core_s += wall * threads
        rows.append(f"| {r['variant']} | {r['env']} | {r['seed']} | "
                    f"{r['steps'][-1] if r['steps'] else 0} | {', '.join(cs) or '–'} | "
                    f"{m.get('build_type', '–')} | {cpu} | {threads} | "
                    f"{fmt(wall / 3600 if wall else None, 2)} |")
    lines += [f"Compute: {fmt(core_s / 3600, 1)} core-hours over {len(runs)} runs. "
              f"Commits: {', '.join(f'`{c}` ({n} runs)' for c, n in commits.items()) or '–'}. "
              f"CPUs: {', '.join(f'{c} ({n})' for c, n in cpus.items())}.", ""]
    lines += ["<details><summary>Every run</summary>", "",
              "| variant | env | seed | steps | commit | build | CPU | threads | wall h |",
              "|---|---|---|---|---|---|---|---|---|"] + rows + ["", "</details>", ""]
    return lines


def anchor_section(runs, envs, variants, anchors, rng):
    """Our figure under each anchor's protocol, beside it; the headline rows."""
    lines, headline = [], []
    rows = []
    for v in variants:
        for env in envs:
            group = [r for r in runs if r["variant"] == v and r["env"] == env]
            mine = [a for a in anchors if a["variant"] == v and a["env"] == env]
            if not group or not mine:
                continue
            for a in sorted(mine, key=lambda a: not a.get("target")):
                used = group
                if a["protocol"] == "final_train":  # needs the training log (progress.csv)
                    used = [r for r in group if r["episodes"]]
                val, lo, hi = (group_stat(used, a["protocol"], rng) if used
                               else (float("nan"),) * 3)
                n = f"{len(used)}" if len(used) == len(group) else (
                    f"{len(used)} of {len(group)} (the others kept no progress.csv)")
                ratio = val / a["value"] if a["value"] else float("nan")
                if a["value"] < 0:  # negative returns: the ratio of costs, inverted
                    ratio = a["value"] / val if val else float("nan")
                verdict = ""
                if a.get("target"):
                    verdict = ("yes" if ratio >= 0.85 else "**no**") if used else "n/a"
                spread = f" ± {fmt(a['spread'])}" if a.get("spread") is not None else ""
                proto = PROTOCOLS[a["protocol"]]
                if a["protocol"] == "max_mean_curve" and used:
                    # Where the maximum lies: a maximum at the first evaluations is the untrained
                    # policy's, not learning (OurDDPG on Ant-v4).
                    steps, table = common_curve(used)
                    if steps:
                        proto += f" (at {steps_label(steps[int(table.mean(axis=0).argmax())])})"
                rows.append(f"| {v} | {env} | {n} | {proto} | "
                            f"{fmt(val)} [{fmt(lo)}, {fmt(hi)}] | {fmt(a['value'])}{spread} | "
                            f"{a['short']} | {fmt(100 * ratio, 0)}% | {verdict} | "
                            f"{a.get('differences', '')} |")
                headline.append({"variant": v, "env": env, "n": len(used), "ours": val,
                                 "lo": lo, "hi": hi, "anchor": a["value"],
                                 "source": a["short"], "protocol": a["protocol"],
                                 "ratio": ratio, "target": bool(a.get("target"))})
    if rows:
        lines += ["## Against the published numbers", "",
                  "Our figure is computed under each anchor's own protocol (mean over seeds, "
                  "95% bootstrap CI over seeds); the criterion is ours ≥ 85% of a target anchor "
                  "(for negative returns: anchor / ours ≥ 85%). Anchors: "
                  "`configs/benchmarks/anchors.yaml`; `BASELINES.md` has their sources.", "",
                  "| variant | env | runs | protocol | ours [95% CI] | published | source | "
                  "ours/published | ≥ 85% | differences |",
                  "|---|---|---|---|---|---|---|---|---|---|"] + rows + [""]
    return lines, headline


def normalised_aggregate(runs, envs, variants, anchors, rng):
    """Per variant: IQM over (env, seed) of (score − random) / (target anchor − random)."""
    rand = random_scores(runs)
    lines = []
    rows = []
    for v in variants:
        groups = []
        for env in envs:
            target = [a for a in anchors if a["variant"] == v and a["env"] == env
                      and a.get("target")]
            base = rand.get(env, (None, 0))[0]
            group = [r for r in runs if r["variant"] == v and r["env"] == env]
            if not target or base is None or not group or target[0]["value"] == base:
                continue
            groups.append([(score(r, "final") - base) / (target[0]["value"] - base)
                           for r in group])
        if not groups:
            continue
        flat = [x for g in groups for x in g]
        lo, hi = ci(iqm_rows(stratified(groups, rng)))
        rows.append(f"| {v} | {len(groups)} | {len(flat)} | {fmt(iqm(flat), 3)} | "
                    f"[{fmt(lo, 3)}, {fmt(hi, 3)}] |")
    if rows:
        lines += ["## Aggregate: fraction of the published figure", "",
                  "rliable's normalised-score IQM: each run's final score (mean of its "
                  "evaluations in the last 10% of training) as (score − random) / (target anchor − random), where random is "
                  "the mean return of the uniform-random warm-up episodes of that env in these "
                  "runs; IQM over all (env, seed) runs, CI by a bootstrap stratified over envs. "
                  "1.0 = the published figure.", "",
                  "| variant | envs | runs | IQM | 95% CI |", "|---|---|---|---|---|"] + rows
        lines += ["", "Random-policy returns used: " + ", ".join(
            f"{env} {fmt(rand[env][0])} ({rand[env][1]} episodes)" for env in envs
            if rand.get(env, (None, 0))[0] is not None) + ".", ""]
    return lines


def comparisons(runs, envs, variants, baseline, rng):
    """Each variant against the baseline, per env and aggregated, on the final score."""
    lines = [f"## Each variant against `{baseline}`", "",
             "Difference of IQMs of the final score (variant − baseline), 95% CI from resampling "
             "both groups' seeds; aggregate: IQM of min-max normalised final scores (per env, over "
             "all runs of the study), stratified bootstrap. **+** / **−**: the CI excludes 0 "
             "(supported at 95%); ~: the data do not resolve the difference.", "",
             "| variant | " + " | ".join(envs) + " | aggregate (normalised) |",
             "|---|" + "---|" * (len(envs) + 1)]
    bounds = {}
    for env in envs:
        s = [score(r, "final") for r in runs if r["env"] == env]
        bounds[env] = (min(s), max(s)) if s else (0, 1)

    def norm(x, env):
        lo, hi = bounds[env]
        return (x - lo) / (hi - lo) if hi > lo else 0.5

    verdicts = []
    for v in variants:
        if v == baseline:
            continue
        cells, ga, gb = [], [], []
        for env in envs:
            a = [score(r, "final") for r in runs if r["variant"] == v and r["env"] == env]
            b = [score(r, "final") for r in runs if r["variant"] == baseline and r["env"] == env]
            if not a or not b:
                cells.append("–")
                continue
            d = iqm(a) - iqm(b)
            lo, hi = ci(iqm_rows(resample(a, rng)) - iqm_rows(resample(b, rng)))
            mark = "**+**" if lo > 0 else "**−**" if hi < 0 else "~"
            verdicts.append((v, env, mark, d, lo, hi))
            cells.append(f"{mark} {fmt(d)} [{fmt(lo)}, {fmt(hi)}]")
            ga.append([norm(x, env) for x in a])
            gb.append([norm(x, env) for x in b])
        if ga:
            d = iqm([x for g in ga for x in g]) - iqm([x for g in gb for x in g])
            lo, hi = ci(iqm_rows(stratified(ga, rng)) - iqm_rows(stratified(gb, rng)))
            mark = "**+**" if lo > 0 else "**−**" if hi < 0 else "~"
            cells.append(f"{mark} {fmt(d, 3)} [{fmt(lo, 3)}, {fmt(hi, 3)}]")
        else:
            cells.append("–")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines, verdicts


MEDIA_STRIP = ["--frames", "6"]
MEDIA_GIF = ["--width", "240", "--height", "180", "--max-frames", "150"]


def policy_to_draw(r):
    """'best' or 'final': the run's policy file to draw (its best evaluation first); None."""
    for which in ("best", "final"):
        if os.path.exists(os.path.join(r["dir"], f"policy_{which}.bin")):
            return which
    return None


def pictures(runs, envs, out, binary):
    """Per env, the strip (and GIF) of its best drawable run's policy, drawn into OUT/media by
    `ddpg render` (binary None: draw nothing), or left there by an earlier report."""
    media = os.path.join(out, "media")
    sections = []
    for env in envs:
        drawable = [r for r in runs if r["env"] == env and r["returns"] and policy_to_draw(r)]
        best = max(drawable, key=lambda r: r["returns"][-1], default=None)
        png, gif = os.path.join(media, f"{env}.png"), os.path.join(media, f"{env}.gif")
        # the caption of a picture drawn earlier (by a report or by hand) is kept beside it
        note = os.path.join(media, f"{env}.txt")
        caption = "Drawn by an earlier report (none of these runs kept a policy file)."
        if os.path.exists(note):
            with open(note) as f:
                caption = f.read().strip()
        if best and binary:
            which = policy_to_draw(best)
            os.makedirs(media, exist_ok=True)
            drawn = True
            for target, extra in ((png, MEDIA_STRIP), (gif, MEDIA_GIF)):
                cmd = [binary, "render", best["dir"], "--which", which, "--out", target,
                       "-q"] + extra
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    why = (p.stderr or p.stdout).strip() if p.returncode != 0 else ""
                except OSError as e:
                    why = str(e)
                if why:
                    print(f"report: warning: no picture of {env} ({os.path.basename(target)}): "
                          f"{why}", file=sys.stderr)
                    drawn = False
                    break
            if drawn:
                caption = (f"`{best['variant']}`, seed {best['seed']}: policy_{which}.bin of the "
                           f"run with the highest final evaluation "
                           f"({fmt(best['returns'][-1])}), on its evaluation seed.")
                with open(note + ".tmp", "w") as f:
                    f.write(caption + "\n")
                os.replace(note + ".tmp", note)
        if not os.path.exists(png):
            continue
        sections += [f"### {env}", "", f"![{env}](media/{env}.png)", ""]
        if os.path.exists(gif):
            sections += [f"[The episode as a GIF](media/{env}.gif). {caption}", ""]
        else:
            sections += [caption, ""]
    if not sections:
        return []
    return ["## The best policies, in pictures", "",
            "Six states evenly spaced over one evaluation episode (`ddpg render`, "
            "docs/render.md).", ""] + sections


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--anchors", default="", help="anchors file (YAML or JSON)")
    ap.add_argument("--title", default="")
    ap.add_argument("--include-unfinished", action="store_true",
                    help="also report runs that have not reached their total steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-media", action="store_true",
                    help="draw no pictures of the best policies (OUT/media)")
    ap.add_argument("--ddpg-binary", default=None,
                    help="the ddpg binary that draws the pictures (default: ddpg on PATH)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    runs, study = discover(args.paths)
    anchors = load_anchors(args.anchors)

    unfinished = [r for r in runs if not r["finished"] and r["returns"]]
    empty = [r for r in runs if not r["returns"]]
    runs = [r for r in runs if r["returns"] and (r["finished"] or args.include_unfinished)]
    if not runs:
        sys.exit("report: no run has finished yet (use --include-unfinished to see runs in "
                 "progress)" if unfinished else
                 "report: no run has evaluations yet (eval.csv is empty or missing)")
    envs = list(dict.fromkeys(r["env"] for r in runs))
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    baseline = study["baseline"] if study["baseline"] in variants else variants[0]

    figures = figures_curves(runs, envs, variants, anchors, args.out, rng)

    # final performance per (variant, env)
    table = []
    for v in variants:
        for env in envs:
            group = [r for r in runs if r["variant"] == v and r["env"] == env]
            if not group:
                continue
            final = [score(r, "final") for r in group]
            auc = [score(r, "auc") for r in group]
            lo, hi = ci(iqm_rows(resample(final, rng)))
            alo, ahi = ci(iqm_rows(resample(auc, rng)))
            table.append({"variant": v, "env": env, "n": len(group), "iqm": iqm(final),
                          "lo": lo, "hi": hi, "mean": float(np.mean(final)),
                          "std": float(np.std(final)), "auc": iqm(auc), "alo": alo, "ahi": ahi,
                          "step": max(r["steps"][-1] for r in group)})
    if len(variants) > 1:
        figures += figure_bars(table, envs, study["axis"], args.out)

    with open(os.path.join(args.out, "final.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["variant", "env", "runs", "iqm", "ci_low", "ci_high", "mean", "std",
                    "auc_iqm", "auc_ci_low", "auc_ci_high", "step"])
        for t in table:
            w.writerow([t["variant"], t["env"], t["n"], t["iqm"], t["lo"], t["hi"], t["mean"],
                        t["std"], t["auc"], t["alo"], t["ahi"], t["step"]])

    title = args.title or ("DDPG report: " + study["axis"] if study["question"] else "DDPG report")
    lines = [f"# {title}", ""]
    if study["question"]:
        lines += [f"**Question.** {study['question']}", ""]
    if study["answers"]:
        lines += ["## Answer", ""] + study["answers"] + [""]
    lines += [f"Runs: {len(runs)} ({len(variants)} variants × {len(envs)} envs). Final score: the "
              "mean of a run's evaluations (deterministic policy) in the last 10% of its "
              "training; AUC: the mean of all its evaluations. IQM = interquartile mean over "
              f"seeds; 95% percentile bootstrap CIs ({BOOTSTRAP} resamples), as rliable.", ""]
    if unfinished and not args.include_unfinished:
        lines += [f"Runs still in progress, not reported: {len(unfinished)}.", ""]
    if empty:
        lines += [f"Runs without evaluations yet: {len(empty)}.", ""]

    anchor_lines, headline = anchor_section(runs, envs, variants, anchors, rng)
    lines += anchor_lines
    lines += normalised_aggregate(runs, envs, variants, anchors, rng)

    lines += ["## Final performance", "",
              "| variant | env | runs | final IQM | 95% CI | mean ± std | AUC IQM | AUC 95% CI | "
              "steps |", "|---|---|---|---|---|---|---|---|---|"]
    for t in table:
        lines.append(f"| {t['variant']} | {t['env']} | {t['n']} | {fmt(t['iqm'])} | "
                     f"[{fmt(t['lo'])}, {fmt(t['hi'])}] | {fmt(t['mean'])} ± {fmt(t['std'])} | "
                     f"{fmt(t['auc'])} | [{fmt(t['alo'])}, {fmt(t['ahi'])}] | {t['step']} |")
    lines.append("")
    if len(variants) > 1:
        comp, verdicts = comparisons(runs, envs, variants, baseline, rng)
        lines += comp
    binary = None if args.no_media else (args.ddpg_binary or shutil.which("ddpg"))
    if not args.no_media and not binary:
        print("report: warning: no ddpg binary to draw the pictures with (pass --ddpg-binary)",
              file=sys.stderr)
    lines += pictures(runs, envs, args.out, binary)
    lines += ["## Figures", ""]
    for fname in figures:
        if fname.endswith(".png"):
            lines.append(f"![{fname}]({fname})")
    lines.append("")
    lines += provenance(runs)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines))
    if headline:
        with open(os.path.join(args.out, "headline.json"), "w") as f:
            # NaN (a figure that could not be computed) as null: strict JSON readers refuse NaN
            json.dump([{k: (None if isinstance(x, float) and math.isnan(x) else x)
                        for k, x in row.items()} for row in headline], f, indent=1)
    print(os.path.join(args.out, "report.md"))
    for fname in figures:
        print(os.path.join(args.out, fname))


if __name__ == "__main__":
    main()
