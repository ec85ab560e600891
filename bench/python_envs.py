#!/usr/bin/env python3
"""The Python module's env speed against the C++ envs' own (issue 17's two targets).

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_envs.py [DDPG_BINARY] [ROUNDS]

1. ddpg.make_vec("HalfCheetah-v4", 8) on 2 threads, random actions drawn beforehand, against
   `ddpg bench env HalfCheetah-v4 --num-envs 8` (the same 8 envs stepped by the C++ EnvPool on the
   machine's cores). Target: >= 80% of the C++ rate.
2. A Python loop over ddpg.make("HalfCheetah-v4") (step, reset at episode ends), against the C++
   single-env rate of the same `bench env` run. Target: <= 3 us per step above the C++ env's step.
Rounds alternate the Python and C++ measurements; each figure is printed, then the medians.
"""
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

import ddpg

binary = sys.argv[1] if len(sys.argv) > 1 else "build/ddpg"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ENV, N = "HalfCheetah-v4", 8


def cpp_rates():
    out = subprocess.run([binary, "bench", "env", ENV, "--num-envs", str(N)], check=True,
                         capture_output=True, text=True).stdout
    get = lambda k: float(re.search(rf"^{k}=(\S+)", out, re.M).group(1))
    return get("env_steps_per_s"), get("single_env_steps_per_s"), out


def vec_rate(steps=4000):
    envs = ddpg.make_vec(ENV, N, threads=2)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (64, N, 6)).astype(np.float32)
    for k in range(200):  # warm-up
        envs.step(actions[k % 64])
    t = time.perf_counter()
    for k in range(steps):
        envs.step(actions[k % 64])
    return steps * N / (time.perf_counter() - t)


def single_rate(steps=40000):
    env = ddpg.make(ENV)
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (64, 6)).astype(np.float32)
    for k in range(1000):
        env.step(actions[k % 64])
    t = time.perf_counter()
    for k in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[k % 64])
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - t)


cpu = re.search(r"^cpu=(.*)$", cpp_rates()[2], re.M).group(1)
print(f"bench python_envs: {ENV}, {os.cpu_count()} cores, {cpu}")
vec_ratios, overheads = [], []
for r in range(1, rounds + 1):
    cpp_vec, cpp_single, _ = cpp_rates()
    py_vec, py_single = vec_rate(), single_rate()
    vec_ratios.append(py_vec / cpp_vec)
    overheads.append(1e6 / py_single - 1e6 / cpp_single)
    print(f"round {r}: make_vec x{N} {py_vec:9.0f} steps/s vs C++ {cpp_vec:9.0f} "
          f"({vec_ratios[-1]:.0%}); make {py_single:8.0f} steps/s vs C++ {cpp_single:8.0f}: "
          f"+{overheads[-1]:.2f} us per step")
print(f"median: make_vec at {statistics.median(vec_ratios):.0%} of the C++ pool (target >= 80%); "
      f"a Python step costs {statistics.median(overheads):.2f} us above the C++ step "
      f"(target <= 3 us)")
