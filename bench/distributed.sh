#!/usr/bin/env bash
# Distributed training's throughput figures (docs/distributed.md): env steps per second with 1 and
# 2 actor ranks, side by side, on a collection-bound setting, and the learner's ingest cost.
#
# Usage: bench/distributed.sh [DDPG_BINARY] [STEPS] [ROUNDS]   (defaults: build/ddpg, 40000, 3)
#
# Setting: Humanoid-v4 (376-float observations), TD3 networks, one update every 50 env steps
# (trainer.update_every=50, gradient_steps=1), random actions for the first 1000 steps, no
# evaluation or checkpoint until the end; and the same with no updates at all (learning_starts =
# STEPS), where the learner only takes batches in and its ingest_us_per_env_step sets its ceiling,
# 1e6 / ingest_us transitions per second. 1 and 2 actors alternate, ROUNDS times. The figures are
# distributed.json's (the learner's clock, from its start to the last batch it took in):
# env_steps_per_s, per-actor rates, bytes per env step, parameter lag, and the learner's seconds
# spent waiting, ingesting and updating. Run it on an otherwise idle machine.
set -euo pipefail
ddpg="${1:-build/ddpg}"
steps="${2:-40000}"
reps="${3:-3}"
work="$(mktemp -d /tmp/ddpg_bench_dist_XXXXXX)"
trap 'rm -rf "$work"' EXIT
# (--bind-to none: Open MPI binds ranks to cores when they fit, and not when oversubscribed; the
# same placement policy for 1 and 2 actors)
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,tcp,vader)
common=(--env Humanoid-v4 --preset td3 --steps "$steps" --set trainer.distributed=actors
  --set trainer.eval_every=0 --set trainer.eval_episodes=1 --set trainer.update_every=50
  --set trainer.gradient_steps=1 --set trainer.checkpoint_every=100000000 -q)

report() {
  python3 - "$1" "$2" << 'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/distributed.json"))
ls = d["learner_seconds"]
print(f"{sys.argv[2]:<34} {d['env_steps_per_s']:9.0f} env steps/s  per actor "
      + " ".join(f"{r:.0f}" for r in d["actor_env_steps_per_s"])
      + "  (waiting " + " ".join(f"{t['waiting'] / max(t['acting'] + t['waiting'], 1e-9):.0%}"
                            for t in d["actor_seconds"]) + ")"
      + f"  | {d['bytes_in_per_env_step']:.0f} B/step in, {d['parameter_sets_sent']} refreshes of"
      f" {d['parameter_bytes'] / 1e3:.0f} kB, lag mean {d['lag_updates_mean']:.1f} max"
      f" {d['lag_updates_max']} updates | learner s: wait {ls['waiting']:.2f} ingest"
      f" {ls['ingest']:.2f} ({d['ingest_us_per_env_step']:.2f} us/step) updates {ls['updates']:.2f}"
      f" other {ls['eval_checkpoint_reply']:.2f}")
PY
}

echo "ddpg bench distributed: Humanoid-v4, $steps env steps, $reps rounds, $(nproc) cores"
grep -m1 "model name" /proc/cpuinfo || true
# 1 and 2 actors alternate, round after round, so that a slow minute of the host hits both
for round in $(seq "$reps"); do
  for setting in updates ingest; do
    for actors in 1 2; do
      if [ $setting = updates ]; then start=1000; else start="$steps"; fi
      "${mpirun[@]}" -np $((actors + 1)) "$ddpg" train "${common[@]}" \
        --set trainer.learning_starts="$start" --out "$work/$setting-$actors-$round" > /dev/null
      report "$work/$setting-$actors-$round" "$actors actor(s), $setting, round $round"
    done
  done
done
python3 - "$work" "$reps" << 'PY'
import json, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
rate = lambda s, a, r: json.load(open(f"{w}/{s}-{a}-{r}/distributed.json"))["env_steps_per_s"]
for s, what in (("updates", "one update per 50 env steps"), ("ingest", "no updates")):
    ratios = [rate(s, 2, r) / rate(s, 1, r) for r in range(1, reps + 1)]
    print(f"2 actors over 1, {what}: " + " ".join(f"{x:.2f}" for x in ratios)
          + f" (median {statistics.median(ratios):.2f}x)")
PY
