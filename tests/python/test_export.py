"""`ddpg export RUN --format onnx` (docs/deploy.md): the model passes ONNX's own checker, and a
numpy evaluator written here, which knows only the ops the exporter uses, gives the project's own
actions (ddpg.load_policy, env units) to 1e-5 on observations from rollouts of the policy in its
env, with a dynamic batch dimension; the metadata names the run; bad input is refused by name.

The evaluator is independent of the exporter: it reads the graph as ONNX defines it (the operator
specifications of opset 17, initializers through onnx.numpy_helper), not the way the exporter
meant it. Needs Debian's python3-onnx (scripts/build --tests installs it); without it the module
fails, unless DDPG_ALLOW_NO_ONNX=1 asks to skip it.

Run by ctest (PythonModule.Pytest) with PYTHONPATH=build/python and DDPG_BINARY=build/ddpg.
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import ddpg

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("DDPG_ALLOW_NO_ONNX") == "1":
        pytest.skip("python3-onnx is not installed (DDPG_ALLOW_NO_ONNX=1)", allow_module_level=True)
    raise ImportError("tests/python/test_export.py needs python3-onnx: run scripts/build --tests "
                      "(or apt-get install python3-onnx), or set DDPG_ALLOW_NO_ONNX=1 to skip it")

DDPG = os.environ.get("DDPG_BINARY", "build/ddpg")
OPSET = 17
TOLERANCE = 1e-5  # max |action difference| in env units
N_OBS = 1000

# One run per case, covering every part the graph can have: each hidden activation, LayerNorm,
# observation normalisation, and action bounds other than [-1, 1] (Pendulum [-2, 2], Pusher
# [-2, 2], InvertedPendulum [-3, 3]). A few hundred updates after the random steps: the weights
# and the normaliser's statistics are the run's own, not the initial ones.
CASES = {
    "pendulum": ("Pendulum-v1", ["agent.activation=tanh", "env.g=9.5"]),
    "hopper": ("Hopper-v4", ["agent.activation=elu", "agent.layer_norm=actor",
                             "agent.obs_norm=true"]),
    "pusher": ("Pusher-v4", ["agent.activation=leaky_relu", "agent.layer_norm=both",
                             "agent.obs_norm=true", "agent.obs_norm_clip=3"]),
    "inverted_pendulum": ("InvertedPendulum-v4", ["agent.activation=relu",
                                                  "agent.obs_norm=true"]),
}


def env_options(case):
    """The env options a case trains with ({"g": "9.5"} from env.g=9.5)."""
    return dict(s[4:].split("=", 1) for s in CASES[case][1] if s.startswith("env."))


def train(run, env_id, sets):
    args = [DDPG, "train", "--env", env_id, "--preset", "none", "--steps", "900", "-q",
            "--out", str(run)]
    for s in ["agent.hidden=[32,32]", "trainer.learning_starts=500", "trainer.eval_every=450",
              "trainer.eval_episodes=1", "trainer.threads=1", "agent.batch_shards=1"] + sets:
        args += ["--set", s]
    subprocess.run(args, check=True, capture_output=True)


def export(*args):
    return subprocess.run([DDPG, "export", *[str(a) for a in args]], capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each case's run folder, trained once for the module."""
    root = tmp_path_factory.mktemp("export")
    out = {}
    for name, (env_id, sets) in CASES.items():
        train(root / name, env_id, sets)
        out[name] = root / name
    return out


# --- an evaluator of the ONNX ops the exporter uses, from their opset-17 definitions -------------

def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return y if c is None else y + beta * c


def _layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5, stash_type=1):
    assert stash_type == 1 and axis in (-1, x.ndim - 1), "only the last axis is implemented"
    # the function body of the opset-17 definition, in float32 (stash_type 1)
    mean = x.mean(axis=-1, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=-1, keepdims=True)
    inv_std = np.float32(1) / np.sqrt(var + np.float32(epsilon))
    y = d * inv_std * scale
    return y if bias is None else y + bias


def _clip(x, lo=None, hi=None):
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


OPS = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Clip": _clip,
    "Gemm": _gemm,
    "LayerNormalization": _layer_norm,
    "Relu": lambda x: np.maximum(x, np.float32(0)),
    "Tanh": np.tanh,
    "Elu": lambda x, alpha=1.0: np.where(x >= 0, x, np.float32(alpha) * (np.exp(x) - np.float32(1))),
    "LeakyRelu": lambda x, alpha=0.01: np.where(x >= 0, x, np.float32(alpha) * x),
}


def evaluate(model, obs):
    """The graph's single output for input `obs`, node by node in float32."""
    g = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    assert len(g.input) == 1 and len(g.output) == 1
    values[g.input[0].name] = np.asarray(obs, dtype=np.float32)
    for node in g.node:
        assert node.domain in ("", "ai.onnx"), node.domain
        assert node.op_type in OPS, f"the evaluator does not know {node.op_type}"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        inputs = [values[name] if name else None for name in node.input]
        (out,) = node.output
        values[out] = OPS[node.op_type](*inputs, **attrs)
        assert values[out].dtype == np.float32, (node.op_type, values[out].dtype)
    return values[g.output[0].name]


def rollout_observations(policy, env_id, options, n, seed=0):
    """n observations met by the policy (no noise) in its env, over as many episodes as it takes."""
    env = ddpg.make(env_id, **options)
    rows, episode = [], 0
    while len(rows) < n:
        obs, _ = env.reset(seed=seed + episode)
        episode += 1
        done = False
        while not done and len(rows) < n:
            rows.append(obs)
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            done = terminated or truncated
    return np.array(rows, dtype=np.float64)


def shape_of(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in dims]


# --- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(CASES))
def test_exported_graph_gives_the_projects_actions(runs, case):
    run = runs[case]
    out = export(run)
    assert out.returncode == 0, out.stderr
    path = run / "policy.onnx"
    assert out.stdout.startswith(f"{path}: ")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)

    policy = ddpg.load_policy(str(run))
    obs = rollout_observations(policy, CASES[case][0], env_options(case), N_OBS)
    assert obs.shape[0] >= 1000
    expected = policy(obs)  # the project's actions, env units, from float64 observations
    got = evaluate(model, obs.astype(np.float32))
    assert got.shape == expected.shape
    diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
    print(f"{case}: max |onnx - ddpg| = {diff:.3g} over {obs.shape[0]} observations")
    assert diff <= TOLERANCE
    # the actions are not all at one bound: the comparison measured something
    assert np.std(expected) > 1e-3


def test_batch_dimension_is_dynamic(runs):
    run = runs["hopper"]
    assert export(run).returncode == 0
    model = onnx.load(str(run / "policy.onnx"))
    (inp,), (outp,) = model.graph.input, model.graph.output
    assert inp.name == "obs" and outp.name == "action"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert outp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert shape_of(inp) == ["batch", 11] and shape_of(outp) == ["batch", 3]
    # ONNX's shape inference carries the symbolic batch through every node to the output
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    assert shape_of(inferred.graph.output[0]) == ["batch", 3]
    # one row and a thousand give the same actions row by row
    policy = ddpg.load_policy(str(run))
    obs = rollout_observations(policy, "Hopper-v4", {}, N_OBS).astype(np.float32)
    batch = evaluate(model, obs)
    assert batch.shape == (N_OBS, 3)
    for k in range(0, N_OBS, 97):
        one = evaluate(model, obs[k:k + 1])
        assert one.shape == (1, 3)
        np.testing.assert_allclose(one[0], batch[k], rtol=0, atol=1e-6)


def test_metadata_names_the_run_and_the_graph(runs):
    run = runs["pendulum"]
    assert export(run).returncode == 0
    model = onnx.load(str(run / "policy.onnx"))
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert model.producer_name == "ddpg"
    meta = {p.key: p.value for p in model.metadata_props}
    version = subprocess.run([DDPG, "--version"], capture_output=True, text=True).stdout.split()[-1]
    with open(run / "meta.json") as f:
        run_meta = json.load(f)
    assert model.producer_version == version
    assert meta["ddpg_version"] == version
    assert meta["env_id"] == "Pendulum-v1"
    assert json.loads(meta["env_options"]) == {"g": "9.5"}
    assert meta["run_commit"] == run_meta["commit"] and len(meta["run_commit"]) == 40
    assert meta["run_commit_dirty"] == json.dumps(run_meta["commit_dirty"])
    assert meta["which"] == "final" and meta["policy_file"] == "policy_final.bin"
    assert meta["obs_dim"] == "3" and meta["act_dim"] == "1"
    assert json.loads(meta["action_low"]) == [-2.0] and json.loads(meta["action_high"]) == [2.0]
    assert meta["opset"] == str(OPSET)
    assert meta["activation"] == "tanh" and meta["layer_norm"] == "false"
    assert meta["obs_norm"] == "false" and json.loads(meta["hidden"]) == [32, 32]
    assert export(runs["hopper"]).returncode == 0
    hopper = onnx.load(str(runs["hopper"] / "policy.onnx"))
    hmeta = {p.key: p.value for p in hopper.metadata_props}
    assert hmeta["obs_norm"] == "true" and hmeta["layer_norm"] == "true"
    assert hmeta["activation"] == "elu"
    ops = [n.op_type for n in hopper.graph.node]
    assert ops == ["Sub", "Mul", "Clip", "Gemm", "LayerNormalization", "Elu", "Gemm",
                   "LayerNormalization", "Elu", "Gemm", "Tanh", "Mul", "Add"]


def test_best_policy_and_out_path(runs, tmp_path):
    run = runs["pusher"]
    out = export(run, "--which", "best")
    assert out.returncode == 0, out.stderr
    model = onnx.load(str(run / "policy_best.onnx"))
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["which"] == "best" and meta["policy_file"] == "policy_best.bin"
    best = ddpg.load_policy(str(run), which="best")
    obs = rollout_observations(best, "Pusher-v4", {}, 200)
    diff = np.max(np.abs(evaluate(model, obs.astype(np.float32)) - best(obs)))
    assert diff <= TOLERANCE
    target = tmp_path / "elsewhere.onnx"
    out = export(run, "--format", "onnx", "--out", target)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{target}: ")
    onnx.checker.check_model(onnx.load(str(target)), full_check=True)


def test_bad_input_is_refused_by_name_and_nothing_is_written(runs, tmp_path):
    def refused(args, *words):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        out = export(*args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        for w in words:
            assert w in out.stderr, (w, out.stderr)
        assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written

    def copy_of_run(name):
        """A copy of the Pendulum run in tmp_path without exported models."""
        d = tmp_path / name
        shutil.copytree(runs["pendulum"], d, ignore=shutil.ignore_patterns("*.onnx"))
        return d

    empty = tmp_path / "empty"
    empty.mkdir()
    refused([empty], "is not a run folder", "ddpg train --out")
    refused([tmp_path / "missing"], "is not a run folder")

    good = copy_of_run("good")
    refused([good, "--format", "tflite"], "'tflite' is not supported", "onnx")
    refused([good, "--which", "last"], "--which must be 'final' or 'best'")
    refused([good, "--out", tmp_path / "no" / "such" / "p.onnx"], "does not exist")
    refused([good, "--out", good], "is a folder")

    unfinished = copy_of_run("unfinished")
    (unfinished / "policy_final.bin").unlink()
    refused([unfinished], "policy_final.bin' does not exist", "--which best", "--resume")

    damaged = copy_of_run("damaged")
    data = bytearray((damaged / "policy_final.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / "policy_final.bin").write_bytes(bytes(data))
    refused([damaged], "policy_final.bin", "damaged")
    (damaged / "policy_final.bin").write_bytes(bytes(data[:40]))
    refused([damaged], "policy_final.bin")

    (damaged / "policy_final.bin").write_bytes((runs["pendulum"] / "policy_final.bin").read_bytes())
    (damaged / "meta.json").write_text("{ not json")
    refused([damaged], "meta.json' is damaged")
