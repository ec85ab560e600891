#!/usr/bin/python3
"""Ours against the PyTorch peer at its best, side by side, on Pendulum-v1.

    /usr/bin/python3 bench/compare_peer.py [--rounds 5] [--ddpg build/ddpg]

The comparison of issue 13: rl-baselines3-zoo's DDPG sizes for Pendulum-v1 (400-300 networks,
batch 256), 1,000 random steps then 5,000 steps with one update each, whole loop in env steps per
second: `ddpg bench train Pendulum-v1 --preset zoo` against `bench/peer_pytorch.py`.

"At its best" means the peer gets every setting that makes it faster on this machine:
  1. Calibration: the peer runs once (a shorter window) for each thread count (1, 2) and each
     OpenBLAS kernel choice: OpenBLAS's own detection, and each OPENBLAS_CORETYPE that this CPU
     can run (Haswell needs AVX2; SkylakeX and Cooperlake need AVX-512; Zen is offered on AMD).
     Debian's OpenBLAS 0.3.21 does not recognise every CPU and may fall back to a generic kernel
     (on a 2-core Intel Xeon, family 6 model 207, that made PyTorch ~2x slower); forcing the
     matching kernel restores it.
  2. Rounds: ours, then the peer under the two fastest calibrated settings, interleaved, --rounds
     times. Each round's ratio is ours over the better of the peer's two runs in that round; the
     figure is the median ratio.

Prints name=value lines: the machine, each calibration run, each round, and the median.
"""

import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cpu_flags():
    vendor, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id") and not vendor:
                    vendor = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return vendor, flags


def coretypes():
    """OpenBLAS kernel choices this CPU can run ('' = OpenBLAS's own detection)."""
    vendor, flags = cpu_flags()
    out = [""]
    if "avx2" in flags and "fma" in flags:
        out.append("Haswell")
        if vendor == "AuthenticAMD":
            out.append("Zen")
    if "avx512f" in flags and "avx512vl" in flags:
        out.append("SkylakeX")
        if "avx512_bf16" in flags:
            out.append("Cooperlake")
    return out


def figures(cmd, env=None):
    """Runs cmd, returns its name=value lines as a dict (exits on failure)."""
    run = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if run.returncode != 0:
        sys.exit("compare_peer: %s failed (exit %d):\n%s" % (" ".join(cmd), run.returncode,
                                                            run.stderr[-2000:]))
    out = {}
    for line in run.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def peer(threads, coretype, steps, learning_starts):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    # One OpenBLAS thread per torch thread: torch sets its own intra-op threads, and OpenBLAS's
    # pool must not oversubscribe the cores.
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    f = figures([sys.executable, os.path.join(HERE, "peer_pytorch.py"), "--threads", str(threads),
                 "--steps", str(steps), "--learning-starts", str(learning_starts)], env)
    return float(f["steps_per_s"])


def ours(ddpg, threads, steps, learning_starts):
    f = figures([ddpg, "bench", "train", "--env", "Pendulum-v1", "--preset", "zoo", "--hidden",
                 "400,300", "--batch", "256", "--threads", str(threads), "--steps", str(steps),
                 "--learning-starts", str(learning_starts), "--set", "trainer.update_unit=step",
                 "--update-every", "1", "--gradient-steps", "1"])
    return float(f["steps_per_s"]), f


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--ddpg", default=os.path.join(ROOT, "build", "ddpg"))
    p.add_argument("--threads", type=int, default=2, help="our threads (default 2)")
    p.add_argument("--calibration-steps", type=int, default=2500,
                   help="peer steps per calibration run (1,000 of them random)")
    a = p.parse_args()
    if a.rounds < 1 or a.threads < 1 or a.calibration_steps <= 1000:
        p.error("--rounds and --threads must be >= 1, --calibration-steps > 1000")
    if not os.access(a.ddpg, os.X_OK):
        p.error("%s is not an executable: build first (scripts/build) or pass --ddpg" % a.ddpg)
    try:
        import torch  # noqa: F401  (only to fail early with the fix)
    except ImportError:
        sys.exit("compare_peer: PyTorch is missing: `scripts/build --peer` installs Debian's "
                 "python3-torch; run this with /usr/bin/python3")

    steps, starts = 6000, 1000
    _, machine = ours(a.ddpg, a.threads, 1500, 1000)  # warm-up, and the machine lines
    for k in ("cpu", "gemm_path", "simd_isa"):
        print("%s=%s" % (k, machine.get(k, "?")))

    calibrated = []
    for ct in coretypes():
        for t in (1, 2):
            rate = peer(t, ct, a.calibration_steps, starts)
            calibrated.append((rate, t, ct))
            print("calibration peer_threads=%d coretype=%s steps_per_s=%.2f"
                  % (t, ct or "auto", rate))
    calibrated.sort(reverse=True)
    best = calibrated[:2]
    print("peer_settings=" + ";".join("threads %d coretype %s" % (t, ct or "auto")
                                      for _, t, ct in best))

    ratios = []
    for r in range(1, a.rounds + 1):
        our_rate, _ = ours(a.ddpg, a.threads, steps, starts)
        peer_rates = [peer(t, ct, steps, starts) for _, t, ct in best]
        ratio = our_rate / max(peer_rates)
        ratios.append(ratio)
        print("round=%d ours_steps_per_s=%.2f peer_steps_per_s=%s ratio=%.3f"
              % (r, our_rate, ",".join("%.2f" % x for x in peer_rates), ratio))
    print("median_ratio=%.3f" % statistics.median(ratios))
    print("min_ratio=%.3f" % min(ratios))
    print("max_ratio=%.3f" % max(ratios))


if __name__ == "__main__":
    main()
