"""Every branch the GPU takes (bf16 autocast, channels_last_3d, torch.compile, the device-resident
uint8 clips), run on the CPU at a tiny size with the flags forced on, and the hazards around them:
the compiler reset between runs, the free-memory check, process-wide backend flags, and
``train.device=cuda`` without CUDA."""

from __future__ import annotations

import functools
import json

import pandas as pd
import pytest
import torch
from tiny_caches import write_split, write_tiny_cache

from mlib.core.config import ConfigError, resolve
from mlib.core.metrics import PROBA_PREFIX
from mlib.training.models import build_slowfast
from mlib.training.train import FastPath, backend_settings, fits_on_device, resolve_device, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_MODEL = {"depth": 18, "width": 8, "frames": 8, "size": 32, "dropout": 0.0}
FAST = {"bf16": True, "channels_last": True, "compile": True, "data_on_device": True}
PLAIN = {"bf16": False, "channels_last": False, "compile": False, "data_on_device": False}
# bf16 keeps 8 bits of mantissa: one epoch's loss and the test probabilities of the two paths
# agree to about 1e-2; these bounds leave room for that and fail on a wrong branch.
LOSS_RTOL, PROBA_ATOL = 0.05, 0.05


@pytest.fixture
def graph_compiler(monkeypatch):
    """``torch.compile`` with the ``aot_eager`` backend: dynamo captures the graphs and AOTAutograd traces the
    backward pass, as on the GPU, but inductor's C++ code generation for the CPU is skipped (minutes on 2 cores,
    and not the code a GPU runs: there inductor writes Triton kernels, checked by ``book/bench/gpu-check.sh``)."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))


def test_cuda_without_cuda_is_one_clear_configuration_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        ConfigError, match=r"^train.device=cuda: CUDA is not available \(.*\); use train.device=cpu"
    ) as err:
        resolve_device("cuda")
    assert "\n" not in str(err.value)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="train.device='gpu': expected auto, cpu or cuda"):
        resolve_device("gpu")


def test_fast_path_flags_auto_follow_the_device_and_force_on_the_cpu():
    auto = {name: "auto" for name in FAST}
    assert FastPath.from_config(auto, torch.device("cpu")) == FastPath()
    assert FastPath.from_config(auto, torch.device("cuda")) == FastPath(True, True, True, True)
    assert FastPath.from_config(FAST, torch.device("cpu")) == FastPath(True, True, True, True)


@pytest.mark.parametrize("raises", [False, True])
def test_backend_flags_are_restored_after_a_run(raises):
    benchmark, deterministic = torch.backends.cudnn.benchmark, torch.are_deterministic_algorithms_enabled()
    torch.backends.cudnn.benchmark = False
    try:
        with pytest.raises(RuntimeError) if raises else torch.no_grad():
            with backend_settings(torch.device("cuda")):
                assert torch.backends.cudnn.benchmark
                if raises:
                    raise RuntimeError("a run that fails")
        assert torch.backends.cudnn.benchmark is False
        with backend_settings(torch.device("cpu")):
            assert torch.are_deterministic_algorithms_enabled()
        assert torch.are_deterministic_algorithms_enabled() == deterministic
    finally:
        torch.backends.cudnn.benchmark = benchmark


def test_free_memory_check_empties_the_allocator_cache_first(monkeypatch):
    """The allocator's reserve from an earlier run is free once emptied; counting it as used
    would keep a grid's later runs from putting their clips on the GPU."""
    state = {"free": 100}
    calls = []

    def empty_cache():
        calls.append("empty_cache")
        state["free"] = 1000

    def mem_get_info(device=None):
        calls.append("mem_get_info")
        return state["free"], 2000

    monkeypatch.setattr(torch.cuda, "empty_cache", empty_cache)
    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    assert fits_on_device(400, torch.device("cuda"))
    assert calls == ["empty_cache", "mem_get_info"]
    assert not fits_on_device(600, torch.device("cuda"))  # more than half of what is free
    assert fits_on_device(10**15, torch.device("cpu"))  # host arrays are already in host memory


def test_convolution_strides_are_python_ints():
    """numpy strides become tensors under torch.compile and break the graph (seen on an H100)."""
    model = build_slowfast(resolve(None, {"model": TINY_MODEL})["model"], 4)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs and all(type(s) is int for m in convs for s in m.stride)


def _graphs() -> int:
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def test_a_second_configuration_in_one_process_is_compiled(graph_compiler):
    """Without the reset, a grid's second model is a recompile of the same code; past dynamo's
    recompile limit it runs eagerly without a word. With the limit at 1 the second model compiles
    only because FastPath.prepare_model resets the compiler. (Two one-convolution models: the
    reset does not depend on the model, and inductor compiles these in seconds on a CPU.)"""
    fast = FastPath(compile=True)
    x = torch.rand(2, 3, 4, 8, 8)
    with torch._dynamo.config.patch(recompile_limit=1):
        for channels in (4, 6):
            model, step_model = fast.prepare_model(
                torch.nn.Sequential(torch.nn.Conv3d(3, channels, 3), torch.nn.ReLU())
            )
            before = _graphs()
            with torch.no_grad():
                compiled, eager = step_model(x), model(x)
            assert _graphs() > before, f"the {channels}-channel model was not compiled"
            torch.testing.assert_close(compiled, eager)
    torch._dynamo.reset()


@pytest.mark.slow
def test_fast_and_plain_runs_agree(tmp_path, graph_compiler):
    cache = write_tiny_cache(tmp_path, subjects=4, clips_per_subject=4, window=8)
    split = write_split(cache, n_train=2, n_val=1)
    results = {}
    for name, flags in (("plain", PLAIN), ("fast", FAST)):
        cfg = resolve(
            None,
            {
                "model": TINY_MODEL,
                "train": {"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "device": "cpu", "seed": 0, **flags},
                "run": {"cache": str(cache), "split": str(split), "out": str(tmp_path / name)},
            },
        )
        before = _graphs()
        run = train(cfg, progress=False)
        compiled = _graphs() - before
        assert (compiled > 0) == flags["compile"]
        history = pd.read_csv(run / "history.csv")
        proba = pd.read_csv(run / "predictions.csv").filter(like=PROBA_PREFIX).to_numpy()
        results[name] = history["train_loss"].iloc[0], proba, json.loads((run / "metrics.json").read_text())
    torch._dynamo.reset()
    (plain_loss, plain_proba, _), (fast_loss, fast_proba, _) = results["plain"], results["fast"]
    assert fast_loss == pytest.approx(plain_loss, rel=LOSS_RTOL)
    assert abs(fast_proba - plain_proba).max() < PROBA_ATOL
