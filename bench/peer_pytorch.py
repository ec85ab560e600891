#!/usr/bin/python3
"""PyTorch peer benchmark for the C++ DDPG trainer.

This script is the side-by-side reference for

    ddpg bench train Pendulum-v1 --hidden 400,300 --batch 256

It runs a CleanRL-style DDPG training loop (the structure of CleanRL's
ddpg_continuous_action.py) in PyTorch on a numpy re-implementation of
Gymnasium's Pendulum-v1, and reports how fast the loop runs, so that both
implementations can be timed on the same machine with the same settings.

Matching settings
-----------------
  environment   Pendulum-v1 (numpy copy of Gymnasium's dynamics: max_speed 8,
                max_torque 2, dt 0.05, g 10, m 1, l 1; never terminates,
                truncated after 200 steps)
  networks      actor  obs -> H1 -> H2 -> act_dim, ReLU, tanh output in [-1, 1],
                       rescaled to the env bounds [-2, 2] when stepping
                critic cat(obs, action) -> H1 -> H2 -> 1, ReLU
                --hidden 400,300 by default (any depth)
  optimiser     Adam, lr 1e-3 for both actor and critic
  DDPG          gamma 0.99, tau 0.005 (Polyak averaging), batch 256,
                Gaussian exploration noise std 0.1 in [-1, 1] action units,
                then clipped to [-1, 1]; bootstrap masked by `terminated` only
  schedule      uniform random actions for --learning-starts steps, then one
                gradient update (critic, actor, both target nets) per env step
  buffer        numpy replay buffer, capacity min(1e6, total steps)

What is measured
----------------
After --learning-starts steps and a further --warmup untimed updates, the
remaining steps form the timed window.  For that window it reports:

  steps_per_s   env steps per second of the whole loop
                (act + env step + buffer add + update)
  update_ms     mean wall time of one update (sample batch, critic step,
                actor step, both target updates)
  act_us        mean wall time of one actor call for one observation,
                including the numpy -> tensor -> numpy conversions

Output is only `name=value` lines on stdout.

Running side by side
--------------------
    /usr/bin/python3 bench/peer_pytorch.py --threads 1
    /usr/bin/python3 bench/peer_pytorch.py --threads 2
    ddpg bench train Pendulum-v1 --hidden 400,300 --batch 256

Use --report-return (with e.g. --steps 10000) as a sanity check that the
agent learns: it prints mean_return_last10, the mean return of the last 10
finished episodes (better than about -400 is expected after 10000 steps).
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------
# Environment: Pendulum-v1 in numpy
# --------------------------------------------------------------------------

def angle_normalize(x):
    return ((x + math.pi) % (2.0 * math.pi)) - math.pi


class Pendulum:
    """Numpy re-implementation of Gymnasium's Pendulum-v1."""

    max_speed = 8.0
    max_torque = 2.0
    dt = 0.05
    g = 10.0
    m = 1.0
    l = 1.0
    max_episode_steps = 200
    obs_dim = 3
    act_dim = 1

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.th = 0.0
        self.thdot = 0.0
        self.t = 0

    def _obs(self):
        return np.array([math.cos(self.th), math.sin(self.th), self.thdot],
                        dtype=np.float32)

    def reset(self):
        self.th = float(self.rng.uniform(-math.pi, math.pi))
        self.thdot = float(self.rng.uniform(-1.0, 1.0))
        self.t = 0
        return self._obs()

    def step(self, action):
        """Returns (obs, reward, terminated, truncated)."""
        u = min(max(float(action[0]), -self.max_torque), self.max_torque)
        th, thdot = self.th, self.thdot
        g, m, l, dt = self.g, self.m, self.l, self.dt
        cost = angle_normalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2
        newthdot = thdot + (3.0 * g / (2.0 * l) * math.sin(th)
                            + 3.0 / (m * l ** 2) * u) * dt
        newthdot = min(max(newthdot, -self.max_speed), self.max_speed)
        newth = th + newthdot * dt
        self.th, self.thdot = newth, newthdot
        self.t += 1
        truncated = self.t >= self.max_episode_steps
        return self._obs(), -cost, False, truncated


# --------------------------------------------------------------------------
# Replay buffer
# --------------------------------------------------------------------------

class ReplayBuffer:
    def __init__(self, capacity, obs_dim, act_dim, seed):
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, act_dim), dtype=np.float32)
        self.rewards = np.zeros((capacity, 1), dtype=np.float32)
        self.dones = np.zeros((capacity, 1), dtype=np.float32)
        self.pos = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs, next_obs, action, reward, terminated):
        i = self.pos
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.actions[i] = action
        self.rewards[i, 0] = reward
        self.dones[i, 0] = float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch):
        idx = self.rng.integers(0, self.size, size=batch)
        return (torch.from_numpy(self.obs[idx]),
                torch.from_numpy(self.actions[idx]),
                torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.rewards[idx]),
                torch.from_numpy(self.dones[idx]))


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------

def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Actor(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim] + hidden + [act_dim])

    def forward(self, x):
        return torch.tanh(self.net(x))


class QNetwork(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim + act_dim] + hidden + [1])

    def forward(self, x, a):
        return self.net(torch.cat([x, a], dim=1))


def polyak(net, target, tau):
    with torch.no_grad():
        for p, tp in zip(net.parameters(), target.parameters()):
            tp.data.copy_(tau * p.data + (1.0 - tau) * tp.data)


# --------------------------------------------------------------------------
# Main loop
# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="PyTorch peer benchmark for "
                    "`ddpg bench train Pendulum-v1 --hidden 400,300 --batch 256`: "
                    "CleanRL-style DDPG on a numpy Pendulum-v1 (Adam lr 1e-3, "
                    "gamma 0.99, tau 0.005, noise std 0.1, one update per step "
                    "after --learning-starts). Prints name=value lines: "
                    "steps_per_s, update_ms, act_us over the timed window "
                    "(steps after learning starts and --warmup updates).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads(N)")
    p.add_argument("--steps", type=int, default=3000,
                   help="total environment steps (including learning starts and warmup)")
    p.add_argument("--learning-starts", type=int, default=1000,
                   help="uniform random actions and no updates before this step")
    p.add_argument("--hidden", type=str, default="400,300",
                   help="hidden layer widths, comma separated")
    p.add_argument("--batch", type=int, default=256, help="minibatch size")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--warmup", type=int, default=50,
                   help="updates after learning starts that are not timed")
    p.add_argument("--report-return", action="store_true",
                   help="also print mean_return_last10 (mean return of the "
                        "last 10 finished episodes)")
    args = p.parse_args(argv)
    try:
        args.hidden_list = [int(h) for h in args.hidden.split(",") if h.strip()]
    except ValueError:
        p.error("--hidden must be a comma separated list of integers")
    if not args.hidden_list or any(h <= 0 for h in args.hidden_list):
        p.error("--hidden must list positive widths")
    if args.threads < 1 or args.batch < 1 or args.learning_starts < 0 or args.warmup < 0:
        p.error("--threads and --batch must be >= 1; --learning-starts and --warmup >= 0")
    if args.steps <= args.learning_starts + args.warmup:
        p.error("--steps must exceed --learning-starts + --warmup (no timed steps)")
    if args.learning_starts < 1:
        # need at least one transition in the buffer before sampling
        args.learning_starts = 1
        if args.steps <= args.learning_starts + args.warmup:
            p.error("--steps must exceed --learning-starts + --warmup")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    gamma = 0.99
    tau = 0.005
    lr = 1e-3
    noise_std = 0.1
    action_scale = Pendulum.max_torque  # actor output in [-1, 1] -> [-2, 2]

    env = Pendulum(args.seed)
    obs_dim, act_dim = env.obs_dim, env.act_dim
    hidden = args.hidden_list

    actor = Actor(obs_dim, act_dim, hidden)
    qf = QNetwork(obs_dim, act_dim, hidden)
    target_actor = Actor(obs_dim, act_dim, hidden)
    target_qf = QNetwork(obs_dim, act_dim, hidden)
    target_actor.load_state_dict(actor.state_dict())
    target_qf.load_state_dict(qf.state_dict())
    actor_opt = torch.optim.Adam(actor.parameters(), lr=lr)
    qf_opt = torch.optim.Adam(qf.parameters(), lr=lr)

    rb = ReplayBuffer(min(1_000_000, args.steps), obs_dim, act_dim, args.seed + 1)
    rng = np.random.default_rng(args.seed + 2)

    def update():
        obs_b, act_b, next_obs_b, rew_b, done_b = rb.sample(args.batch)
        with torch.no_grad():
            next_act = target_actor(next_obs_b)
            target_q = target_qf(next_obs_b, next_act)
            y = rew_b + (1.0 - done_b) * gamma * target_q
        q = qf(obs_b, act_b)
        qf_loss = F.mse_loss(q, y)
        qf_opt.zero_grad()
        qf_loss.backward()
        qf_opt.step()

        actor_loss = -qf(obs_b, actor(obs_b)).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()

        polyak(actor, target_actor, tau)
        polyak(qf, target_qf, tau)

    timed_start = args.learning_starts + args.warmup  # first timed step index
    update_time = 0.0
    n_updates_timed = 0
    act_time = 0.0
    n_act_timed = 0
    loop_t0 = None

    episode_returns = []
    ep_ret = 0.0
    obs = env.reset()

    for step in range(args.steps):
        if step == timed_start:
            loop_t0 = time.perf_counter()
        timed = step >= timed_start

        if step < args.learning_starts:
            action = rng.uniform(-1.0, 1.0, size=act_dim).astype(np.float32)
        else:
            t0 = time.perf_counter()
            with torch.no_grad():
                a = actor(torch.from_numpy(obs).unsqueeze(0))[0].numpy()
            if timed:
                act_time += time.perf_counter() - t0
                n_act_timed += 1
            a = a + rng.normal(0.0, noise_std, size=act_dim)
            action = np.clip(a, -1.0, 1.0).astype(np.float32)

        next_obs, reward, terminated, truncated = env.step(action * action_scale)
        ep_ret += reward
        rb.add(obs, next_obs, action, reward, terminated)

        if terminated or truncated:
            episode_returns.append(ep_ret)
            ep_ret = 0.0
            obs = env.reset()
        else:
            obs = next_obs

        if step >= args.learning_starts:
            t0 = time.perf_counter()
            update()
            if timed:
                update_time += time.perf_counter() - t0
                n_updates_timed += 1

    loop_time = time.perf_counter() - loop_t0
    timed_steps = args.steps - timed_start

    out = [
        ("env", "Pendulum-v1"),
        ("impl", "pytorch"),
        ("threads", args.threads),
        ("hidden", ",".join(str(h) for h in hidden)),
        ("batch", args.batch),
        ("learning_starts", args.learning_starts),
        ("warmup", args.warmup),
        ("timed_steps", timed_steps),
        ("seconds", "%.4f" % loop_time),
        ("steps_per_s", "%.2f" % (timed_steps / loop_time)),
        ("update_ms", "%.4f" % (1e3 * update_time / max(n_updates_timed, 1))),
        ("act_us", "%.2f" % (1e6 * act_time / max(n_act_timed, 1))),
        ("torch_version", torch.__version__),
        ("torch_threads", torch.get_num_threads()),
        ("cpu_count", os.cpu_count()),
    ]
    if args.report_return:
        last = episode_returns[-10:]
        out.append(("episodes", len(episode_returns)))
        out.append(("mean_return_last10",
                    "%.2f" % (sum(last) / len(last)) if last else "nan"))
    for k, v in out:
        print("%s=%s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
