#!/usr/bin/env bash
# A distributed sweep and distributed training across three "hosts": network namespaces ddpg-h1..3 on a bridge (10.77.0.0/24),
# each with its own network stack and host name, reached by Open MPI through an rsh agent that
# enters the namespace (in place of ssh). mpirun runs in the root namespace and talks to its daemons
# and the ranks over TCP on the bridge, so the transport crosses distinct network stacks. The run
# folders must equal a local sweep's byte for byte, and the runs must have gone to several hosts.
# Then distributed training (trainer.distributed=actors): with one actor (learner on h1, actor on
# h2) the run must equal the same job on this host byte for byte; with two actors (h2, h3) it must
# complete, its ranks on three hosts. DDPG_HOSTS_TRAIN_ARGS replaces the two-actor run's `ddpg
# train` arguments (to try a real configuration across the hosts by hand).
#
# Usage: tests/mpi_hosts_test.sh DDPG_BINARY. Needs root (namespaces) and iproute2; exits 77
# (skipped) without them.
set -euo pipefail
ddpg="$1"
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null || ! command -v mpirun > /dev/null; then
  echo "skipped: needs root, iproute2 and Open MPI's mpirun"
  exit 77
fi
tag="ddpgt$$"
work="$(mktemp -d /tmp/ddpg_hosts_XXXXXX)"
cleanup() {
  for i in 1 2 3; do ip netns del "$tag-h$i" 2> /dev/null || true; done
  ip link del "${tag}br" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if ! ip netns add "$tag-probe" 2> /dev/null; then
  echo "skipped: this machine does not allow network namespaces"
  exit 77
fi
ip netns del "$tag-probe"

# the hosts: a bridge in the root namespace, one veth into each namespace
net=10.77.$(( $$ % 200 + 20 ))
ip link add "${tag}br" type bridge
ip addr add "$net.254/24" dev "${tag}br"
ip link set "${tag}br" up
for i in 1 2 3; do
  ip netns add "$tag-h$i"
  ip link add "${tag}v$i" type veth peer name eth0 netns "$tag-h$i"
  ip link set "${tag}v$i" master "${tag}br"
  ip link set "${tag}v$i" up
  ip netns exec "$tag-h$i" ip addr add "$net.$i/24" dev eth0
  ip netns exec "$tag-h$i" ip link set eth0 up
  ip netns exec "$tag-h$i" ip link set lo up
done
cat > "$work/agent" << AGENT
#!/bin/sh
# Open MPI's rsh agent: "host" $net.N runs the command in namespace $tag-hN, named hN.
host=\$1; shift
exec ip netns exec "$tag-h\${host##*.}" unshare --uts sh -c "hostname h\${host##*.}; \$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=1\n' "$net.1" "$net.2" "$net.3" > "$work/hosts"

cat > "$work/grid.yaml" << 'GRID'
question: Tiny grid for the multi-host test
axis: noise
envs: [Pendulum-v1, MountainCarContinuous-v0]
seeds: [0, 1, 2]
preset: none
steps: 600
base:
  agent: {hidden: [16, 16], batch_size: 16, buffer_size: 3000}
  trainer: {learning_starts: 100, eval_every: 300, eval_episodes: 1, checkpoint_every: 100}
variants:
  gaussian: {noise: {type: gaussian}}
GRID

"$ddpg" sweep "$work/grid.yaml" --out "$work/local" --jobs 2 -q
# (Under the sanitizer build the ranks run without the leak check: Open MPI's runtime keeps
# allocations in plugins it unloads at exit, which LeakSanitizer reports without a module name.)
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
# Each mpirun keeps its session directory under this test's folder: two mpiruns starting at once
# (ctest -j2 runs the other MPI tests beside this one) race to create /tmp/ompi.<host>.<uid>, and
# Open MPI 4 fails the loser (open-mpi/ompi#8510).
mkdir -p "$work/ompi"
timeout 600 mpirun --allow-run-as-root --hostfile "$work/hosts" -np 3 --map-by node \
  --mca orte_tmpdir_base "$work/ompi" \
  --mca plm_rsh_agent "$work/agent" --mca btl self,tcp \
  --mca oob_tcp_if_include "$net.0/24" --mca btl_tcp_if_include "$net.0/24" \
  "$ddpg" sweep "$work/grid.yaml" --out "$work/hosts_run" -q

status=0
for run in $(cd "$work/local" && find . -name eval.csv | sort); do
  d="$(dirname "$run")"
  for f in eval.csv policy_final.bin; do
    if ! cmp -s "$work/local/$d/$f" "$work/hosts_run/$d/$f"; then
      echo "FAIL: $d/$f differs from the local sweep's"
      status=1
    fi
  done
done
hosts="$(cat "$work"/hosts_run/*/*/*/train.log | sed -n 's/.* on host \(h[0-9]\).*/\1/p' | sort -u | tr '\n' ' ')"
echo "runs went to hosts: $hosts"
if [ "$(echo "$hosts" | wc -w)" -lt 2 ]; then
  echo "FAIL: the runs did not spread over the hosts"
  status=1
fi
[ $status -eq 0 ] && echo "PASS: 6 runs across namespace hosts equal the local sweep byte for byte"

hosts_mpirun() {
  timeout 900 mpirun --allow-run-as-root --hostfile "$work/hosts" --map-by node \
    --mca orte_tmpdir_base "$work/ompi" \
    --mca plm_rsh_agent "$work/agent" --mca btl self,tcp \
    --mca oob_tcp_if_include "$net.0/24" --mca btl_tcp_if_include "$net.0/24" "$@"
}
train_args=(--env Pendulum-v1 --preset none --steps 2000 --set trainer.distributed=actors
  --set "agent.hidden=[32,32]" --set agent.batch_size=32 --set trainer.learning_starts=300
  --set trainer.eval_every=500 --set trainer.eval_episodes=2 -q)
timeout 600 mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl self,tcp,vader \
  --mca orte_tmpdir_base "$work/ompi" \
  "$ddpg" train "${train_args[@]}" --out "$work/train_local"
hosts_mpirun -np 2 "$ddpg" train "${train_args[@]}" --out "$work/train_hosts2"
for f in eval.csv policy_final.bin; do
  if ! cmp -s "$work/train_local/$f" "$work/train_hosts2/$f"; then
    echo "FAIL: distributed training with one actor across hosts: $f differs from this host's"
    status=1
  fi
done
if [ -n "${DDPG_HOSTS_TRAIN_ARGS:-}" ]; then
  read -r -a train_args <<< "$DDPG_HOSTS_TRAIN_ARGS"
fi
hosts_mpirun -np 3 "$ddpg" train "${train_args[@]}" --out "$work/train_hosts3"
python3 - "$work/train_hosts3" << 'CHECK' || status=1
import json, sys
run = sys.argv[1]
d = json.load(open(run + "/distributed.json"))
s = json.load(open(run + "/summary.json"))
print("two actors across hosts: ranks on", d["hosts"], "-", s["steps"], "steps, final eval",
      round(s["final_eval_mean"], 1), "-", round(d["env_steps_per_s"]), "env steps/s")
if len(set(d["hosts"])) != 3 or d["actors"] != 2:
    sys.exit("FAIL: the learner and its two actors were not on three hosts")
CHECK
[ $status -eq 0 ] && echo "PASS: distributed training across namespace hosts"
exit $status
