"""scripts/factorial.py (docs/results/README.md): the factorial reading of an ablation grid, on a
made-up 2 x 2 sweep whose numbers are known by hand: factor X helps only where factor Y is on.
Bad input is refused with a message that names the problem.

Run by ctest (PythonModule.Pytest); needs only numpy and the scripts folder.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "factorial.py")

# final score of each run (its evaluations are constant): X adds 100 only together with Y
LEVEL = {"none": 10, "x": 10, "y": 10, "xy": 110}


def make_sweep(root, unfinished=False):
    runs = []
    for variant, base in LEVEL.items():
        for seed in range(4):
            d = f"{variant}/Toy-v0/seed_{seed}"
            os.makedirs(os.path.join(root, d))
            with open(os.path.join(root, d, "eval.csv"), "w") as f:
                f.write("step,mean_return,std_return,episodes,mean_length\n")
                for step in range(100, 1001, 100):
                    f.write(f"{step},{base + seed},0,1,10\n")
            with open(os.path.join(root, d, "summary.json"), "w") as f:
                json.dump({"steps": 1000}, f)
            runs.append({"variant": variant, "env": "Toy-v0", "seed": seed, "dir": d,
                         "total_steps": 1000, "status": "done"})
    if unfinished:  # a fifth seed of xy stopped halfway: left out, and said so
        d = "xy/Toy-v0/seed_4"
        os.makedirs(os.path.join(root, d))
        with open(os.path.join(root, d, "eval.csv"), "w") as f:
            f.write("step,mean_return,std_return,episodes,mean_length\n500,-999,0,1,10\n")
        with open(os.path.join(root, d, "summary.json"), "w") as f:
            json.dump({"steps": 500}, f)
        runs.append({"variant": "xy", "env": "Toy-v0", "seed": 4, "dir": d,
                     "total_steps": 1000, "status": "running"})
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"question": "toy", "axis": "toy", "baseline": "none", "runs": runs}, f)


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def row(out, label):
    """The cells of the Markdown row whose first cell is label (in the first table with it)."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row '{label}' in:\n{out}")


def test_main_effects_simple_effects_and_interaction(tmp_path):
    make_sweep(str(tmp_path), unfinished=True)
    r = run(str(tmp_path), "--env", "Toy-v0", "--factor", "X=x,xy", "--factor", "Y=y,xy",
            "--compare", "xy=none", "--scores", "final")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "16 finished runs of 4 variants (1 unfinished, left out)" in out
    # IQM of the 8 runs with X (10..13 and 110..113) is 61.5, without X 11.5
    assert row(out, "X (runs with 8, without 8)")[1:2] == ["+50.0"]
    with_y = row(out, "X with Y")
    assert with_y[1] == "+100.0" and with_y[3] == "resolved", with_y
    without_y = row(out, "X without Y")
    assert without_y[1] == "+0.0" and without_y[3] == "not resolved", without_y
    inter = row(out, "interaction (both − X only − Y only + neither)")
    assert inter[1] == "+100.0" and inter[3] == "resolved", inter
    assert row(out, "xy − none")[1] == "+100.0"
    # the 2 x 2 table names its cells' variants
    assert "111.5 [" in row(out, "with X")[2] and "(xy)" in row(out, "with X")[2]


def test_same_data_same_numbers(tmp_path):
    make_sweep(str(tmp_path))
    args = (str(tmp_path), "--env", "Toy-v0", "--factor", "X=x,xy", "--factor", "Y=y,xy")
    a, b = run(*args), run(*args)
    assert a.returncode == 0 and a.stdout == b.stdout
    assert "## Score: auc" in a.stdout  # final and auc by default


@pytest.mark.parametrize("args, message", [
    (["--factor", "X=x,nope"], "no finished run of nope on Toy-v0"),
    (["--factor", "X"], "is not NAME=VARIANT,..."),
    (["--factor", "X=x", "--factor", "X=y"], "a factor is named twice"),
    (["--compare", "x=none,y"], "names more than one baseline"),
    (["--factor", "X=x", "--scores", "median"], "unknown score 'median'"),
    ([], "nothing to compute"),
])
def test_bad_input_is_refused_by_name(tmp_path, args, message):
    make_sweep(str(tmp_path))
    r = run(str(tmp_path), "--env", "Toy-v0", *args)
    assert r.returncode != 0 and message in r.stderr, r.stderr


def test_unknown_env_and_missing_sweep(tmp_path):
    make_sweep(str(tmp_path))
    r = run(str(tmp_path), "--env", "Hopper-v4", "--factor", "X=x")
    assert r.returncode != 0 and "no runs of 'Hopper-v4'; its envs: Toy-v0" in r.stderr
    r = run(str(tmp_path / "none"), "--env", "Toy-v0", "--factor", "X=x")
    assert r.returncode != 0 and "has no manifest.json" in r.stderr
