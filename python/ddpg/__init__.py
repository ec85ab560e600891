"""ddpg from Python: the project's native envs with Gymnasium's API, single and vectorised, and
trained policies.

    import ddpg
    env = ddpg.make("HalfCheetah-v4")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

    envs = ddpg.make_vec("HalfCheetah-v4", 8)      # stepped on C++ threads, the GIL released
    obs, infos = envs.reset(seed=0)
    obs, rewards, terminations, truncations, infos = envs.step(envs.action_space.sample())

    policy = ddpg.load_policy("runs/HalfCheetah-v4_td3_seed1")   # a run folder or policy file
    action = policy(obs[0])                                       # env units; a batch works too

    summary = ddpg.train("Pendulum-v1", preset="td3", steps=20000, out="runs/p")
    summary = ddpg.train(MyEnv, config={"agent": {"hidden": [64, 64]}}, steps=30000, out="runs/m")

Needs neither Gymnasium nor LibTorch. When `gymnasium` is importable, the spaces are
`gymnasium.spaces.Box` and the envs are `gymnasium.Env` / `gymnasium.vector.VectorEnv`; without it
they are this module's own `Box` with the same attributes (low, high, shape, dtype, sample(),
seed(), contains()).
"""
import os

import numpy as np

from . import _core

Error = _core.Error

try:  # optional: real Gymnasium spaces and base classes where Gymnasium is installed
    import gymnasium as _gym
except ImportError:  # pragma: no cover - depends on the machine
    _gym = None

__all__ = ["make", "make_vec", "load_policy", "train", "env_ids", "Box", "Env", "VectorEnv",
           "Error", "Interrupted"]
Interrupted = _core.Interrupted


class Box:
    """A box in R^n, with the attributes of gymnasium.spaces.Box that agents use."""

    def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
        self.dtype = np.dtype(dtype)
        if shape is None:
            shape = np.shape(low)
        self.shape = tuple(int(x) for x in shape)
        self.low = np.broadcast_to(np.asarray(low, dtype=self.dtype), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=self.dtype), self.shape).copy()
        self._rng = np.random.default_rng(seed)

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)
        return [seed]

    @property
    def np_random(self):
        return self._rng

    def is_bounded(self, manner="both"):
        below, above = bool(np.all(np.isfinite(self.low))), bool(np.all(np.isfinite(self.high)))
        return {"both": below and above, "below": below, "above": above}[manner]

    def sample(self):
        """Uniform where bounded, normal where unbounded, as Gymnasium's Box samples."""
        low, high = self.low.astype(np.float64), self.high.astype(np.float64)
        out = np.empty(self.shape, dtype=np.float64)
        bounded = np.isfinite(low) & np.isfinite(high)
        out[bounded] = self._rng.uniform(low[bounded], high[bounded])
        free = ~np.isfinite(low) & ~np.isfinite(high)
        out[free] = self._rng.normal(size=int(free.sum()))
        below = np.isfinite(low) & ~np.isfinite(high)
        out[below] = low[below] + self._rng.exponential(size=int(below.sum()))
        above = ~np.isfinite(low) & np.isfinite(high)
        out[above] = high[above] - self._rng.exponential(size=int(above.sum()))
        return out.astype(self.dtype)

    def contains(self, x):
        x = np.asarray(x)
        return (x.shape == self.shape and np.can_cast(x.dtype, self.dtype)
                and bool(np.all(x >= self.low)) and bool(np.all(x <= self.high)))

    __contains__ = contains

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"

    def __eq__(self, other):
        return (isinstance(other, Box) and self.shape == other.shape and self.dtype == other.dtype
                and np.array_equal(self.low, other.low) and np.array_equal(self.high, other.high))


def _box(low, high, dtype):
    low, high = np.asarray(low, dtype=dtype), np.asarray(high, dtype=dtype)
    if _gym is not None:
        return _gym.spaces.Box(low=low, high=high, shape=low.shape, dtype=dtype)
    return Box(low, high, low.shape, dtype)


class EnvSpec:
    """The fields of gymnasium's EnvSpec that code and its env checker read."""

    def __init__(self, id, max_episode_steps, kwargs):
        self.id = id
        self.max_episode_steps = max_episode_steps
        self.kwargs = dict(kwargs)
        self.entry_point = "ddpg:make"
        self.reward_threshold = None
        self.nondeterministic = False
        self.order_enforce = True
        self.disable_env_checker = False
        self.additional_wrappers = ()
        self.vector_entry_point = "ddpg:make_vec"

    def __repr__(self):
        return f"EnvSpec(id={self.id!r}, max_episode_steps={self.max_episode_steps})"


def _spaces(spec):
    obs_dtype = np.float64 if spec["obs_float64"] else np.float32
    observation_space = _box(spec["obs_low"], spec["obs_high"], obs_dtype)
    action_space = _box(spec["act_low"], spec["act_high"], np.float32)
    return observation_space, action_space


_EnvBase = _gym.Env if _gym is not None else object


class Env(_EnvBase):
    """One native env with Gymnasium's API (ddpg.make)."""

    metadata = {"render_modes": []}
    render_mode = None

    def __init__(self, id, max_episode_steps=None, **options):
        self._core = _core.EnvCore(id, options, max_episode_steps)
        s = self._core.spec()
        self.observation_space, self.action_space = _spaces(s)
        self.spec = EnvSpec(id, s["max_episode_steps"] or None, options)
        self._seeded = False

    def reset(self, *, seed=None, options=None):
        """Starts an episode: (obs, info). seed reseeds the env's RNG (and the action space's
        sampler, as Gymnasium does on the first seeded reset); without it the RNG continues."""
        if seed is not None:
            seed = int(seed)
            if seed < 0:
                raise ValueError(f"seed must be a non-negative integer, got {seed}")
            if not self._seeded:
                self.action_space.seed(seed)
                self._seeded = True
        if _gym is not None:
            super().reset(seed=seed)  # (gymnasium.Env's np_random, which its env checker reads)
        return self._core.reset(seed), {}

    def step(self, action):
        """(obs, reward, terminated, truncated, info); info holds the named reward terms."""
        obs, reward, terminated, truncated, terms = self._core.step(action)
        return obs, float(reward), bool(terminated), bool(truncated), terms

    def render(self):
        return None

    def close(self):
        self._core = None

    @property
    def unwrapped(self):
        return self

    def __repr__(self):
        return f"<ddpg.Env {self.spec.id}>"


_VectorBase = _gym.vector.VectorEnv if _gym is not None else object


class VectorEnv(_VectorBase):
    """num_envs native envs stepped together on C++ threads (ddpg.make_vec), with Gymnasium 1.x's
    vector API and its default autoreset mode, next-step: an env whose episode ended on one step()
    is reset on the next one, where its action is ignored and it reports reward 0, not terminated,
    not truncated (infos["_reset"] marks it)."""

    metadata = {"autoreset_mode": "NextStep", "render_modes": []}
    render_mode = None

    def __init__(self, id, num_envs, max_episode_steps=None, threads=0, **options):
        self._core = _core.VecCore(id, int(num_envs), options, max_episode_steps, int(threads))
        s = self._core.spec()
        self.num_envs = int(num_envs)
        self.single_observation_space, self.single_action_space = _spaces(s)
        n = self.num_envs
        o, a = self.single_observation_space, self.single_action_space
        self.observation_space = _box(np.broadcast_to(o.low, (n,) + o.shape),
                                      np.broadcast_to(o.high, (n,) + o.shape), o.dtype)
        self.action_space = _box(np.broadcast_to(a.low, (n,) + a.shape),
                                 np.broadcast_to(a.high, (n,) + a.shape), a.dtype)
        self.spec = EnvSpec(id, s["max_episode_steps"] or None, options)
        self.threads = self._core.threads

    def reset(self, *, seed=None, options=None):
        """(obs, infos). seed: an int (env i gets seed + i, as Gymnasium's vector envs do), a list
        of ints or None per env, or None (every env's RNG continues)."""
        if seed is None:
            seeds = []
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(self.num_envs)]
            self.action_space.seed(int(seed))
        else:
            seeds = [None if s is None else int(s) for s in seed]
        return self._core.reset(seeds), {}

    def step(self, actions):
        obs, rewards, terminated, truncated, reset, terms = self._core.step(actions)
        infos = {}
        names = []
        for t in terms:
            for k in t:
                if k not in names:
                    names.append(k)
        for k in names:
            infos[k] = np.array([t.get(k, 0.0) for t in terms])
            infos["_" + k] = np.array([k in t for t in terms])
        infos["_reset"] = reset
        return obs, rewards, terminated, truncated, infos

    def render(self):
        return None

    def close(self, **kwargs):
        self._core = None

    @property
    def unwrapped(self):
        return self

    def __repr__(self):
        return f"<ddpg.VectorEnv {self.spec.id} x{self.num_envs}>"


def make(id, max_episode_steps=None, **options):
    """A native env with Gymnasium's API: ddpg.make("HalfCheetah-v4", ctrl_cost_weight=0.2)."""
    return Env(id, max_episode_steps=max_episode_steps, **options)


def make_vec(id, num_envs, max_episode_steps=None, threads=0, **options):
    """num_envs copies stepped together on `threads` C++ threads (0: all the OpenMP threads)."""
    return VectorEnv(id, num_envs, max_episode_steps=max_episode_steps, threads=threads, **options)


def env_ids():
    """Every env id this build knows."""
    return list(_core.env_ids())


class Policy:
    """A trained policy: policy(obs) -> action in the env's units, for one observation (obs_dim,)
    or a batch (n, obs_dim). `env_id` is the env it was trained on."""

    def __init__(self, path, env_id, act_low, act_high):
        self._core = _core.PolicyCore(path)
        self.path = path
        self.env_id = env_id
        self._low = np.asarray(act_low, dtype=np.float64)
        self._high = np.asarray(act_high, dtype=np.float64)

    def __call__(self, obs):
        a = self._core.act(obs).astype(np.float64)
        return self._low + (a + 1.0) * 0.5 * (self._high - self._low)


def load_policy(path, which="final"):
    """A run folder's policy (policy_<which>.bin) or a policy file inside a run folder. Actions
    come in the env's units, rescaled from the actor's [-1, 1] with the env's action bounds."""
    if os.path.isdir(path):
        run_dir, file = path, os.path.join(path, f"policy_{which}.bin")
    else:
        run_dir, file = os.path.dirname(os.path.abspath(path)), path
    if not os.path.isfile(file):
        raise Error(f"'{file}' does not exist (finish or resume the run first)")
    if not os.path.isfile(os.path.join(run_dir, "config.yaml")):
        raise Error(f"'{file}' is not in a run folder (no config.yaml beside it): its env, and so "
                    "the action bounds, are unknown")
    env_id, options = _core.run_env(run_dir)  # (its config.yaml, read as `ddpg` reads it)
    spec = _core.EnvCore(env_id, options).spec()
    return Policy(file, env_id, spec["act_low"], spec["act_high"])


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return str(v)


def _sets(config, prefix=""):
    """{"agent": {"hidden": [64, 64]}, "trainer.eval_every": 1000} -> ["agent.hidden=[64, 64]", ...]"""
    out = []
    for k, v in (config or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _sets(v, key + ".")
        else:
            out.append(f"{key}={_yaml_value(v)}")
    return out


def train(env="Pendulum-v1", preset=None, config=None, steps=None, out=None, seed=None,
          quiet=True):
    """Trains a DDPG-family agent, as `ddpg train` does, into the run folder `out`; returns its
    summary (run_dir, steps, final_eval_mean, final_eval_std, best_eval_mean, seconds).

    env: an env id ("HalfCheetah-v4"), or an env written in Python: a class or function that
    returns a new env per call (training and evaluation each get one), or an env instance (each
    use gets a copy.deepcopy of it). A Python env needs Gymnasium's reset(seed=...) / step(action)
    and one-dimensional Box spaces with a bounded action space; each reset gets a seed from the
    run's own streams, so a run is as reproducible as the env is for its seed.
    preset: "ddpg", "ourddpg", "td3", "zoo", "none" (library defaults), ...; default: the zoo's
    preset where the env has one, as on the command line, else the library defaults. config: settings as a nested dict or "section.key" keys.
    A run with a Python env cannot be resumed yet (`ddpg train --resume` cannot make the env);
    see docs/python.md.
    """
    if isinstance(env, str):
        env_id = env
    else:
        if isinstance(env, type) or (callable(env) and not hasattr(env, "step")):
            factory = env
        else:
            import copy
            try:
                copy.deepcopy(env)
            except Exception as e:  # noqa: BLE001 - any failure to copy means: pass a factory
                raise Error(f"the env instance cannot be copied ({e}); pass a function or class "
                            "that returns a new env instead") from e
            factory = lambda: copy.deepcopy(env)  # noqa: E731
        name = getattr(env, "__name__", type(env).__name__)
        env_id = f"python:{name}"
        _core.register_python_env(env_id, factory)
    if out is None:
        safe = env_id.replace(":", "_").replace("/", "_")
        out = os.path.join("runs", f"{safe}_{preset or 'default'}_seed{1 if seed is None else seed}")
    return _core.train(env_id, preset or "", _sets(config), steps, seed, out, quiet)
