#!/bin/bash
# The installed package from outside (docs/deploy.md): `cmake --install` of this build into a
# temporary prefix, then tests/outside_project configured with find_package(ddpg) against it, built,
# and run on a policy that the installed `ddpg` trains. The runtime-only program must link none of
# the project's dependencies.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
for f in bin/ddpg include/ddpg/runtime/policy.h include/ddpg/agent.h lib/libddpg_runtime.a \
  lib/cmake/ddpg/ddpgConfig.cmake lib/cmake/ddpg/ddpgConfigVersion.cmake; do
  [ -e "$tmp/prefix/$f" ] || { echo "FAIL: the install has no $f" >&2; exit 1; }
done

"$tmp/prefix/bin/ddpg" train --env Pendulum-v1 --steps 400 --set trainer.eval_every=0 \
  --set trainer.eval_episodes=1 --out "$tmp/run" -q
policy="$tmp/run/policy_final.bin"

cmake -S "$here/outside_project" -B "$tmp/out" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/out" -j2 > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }

out="$("$tmp/out/runtime_demo" "$policy")"
echo "$out"
echo "$out" | grep -q "^env=Pendulum-v1 obs_dim=3 act_dim=1 action=" ||
  { echo "FAIL: runtime_demo printed something else" >&2; exit 1; }
# the batch repeats the single action
single="$(echo "$out" | sed -n 's/.*action=\([^ ]*\) .*/\1/p')"
batch="$(echo "$out" | sed -n 's/^batch=//p')"
[ "$batch" = "$single $single " ] || { echo "FAIL: batch '$batch' vs single '$single'" >&2; exit 1; }
if ldd "$tmp/out/runtime_demo" | grep -E 'mujoco|Bullet|box2d|mpi|yaml|openblas|gomp'; then
  echo "FAIL: runtime_demo links a dependency of the whole library" >&2
  exit 1
fi
"$tmp/out/library_demo" "$policy"
echo "install test: OK"
