"""Train and evaluate one SlowFast identifier (``mlib train``); writes a run folder.

The run folder (``book/formats.md`` section 5) is named by ``run.name`` or by a hash
of what shapes the result: the ``model`` and ``train`` settings, the cache's
``settings.json`` and the split file's content. ``checkpoints/last.pt`` is saved
every epoch, so rerunning the same command resumes a killed run where it stopped
(bit-identically on CPU); a folder with ``metrics.json`` is finished and skipped.

Model selection: with a validation part, the epoch with the best validation
rank-1 (ties -> the earlier epoch); without one, the last epoch. The test part is
evaluated once, with the selected checkpoint, and chooses nothing.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mlib.core import io
from mlib.core.config import ConfigError, config_hash, load_yaml
from mlib.core.metrics import PROBA_PREFIX, predicted_labels, summarize
from mlib.inputs import InputPlan, apex_positions
from mlib.preprocess import load_index
from mlib.preprocess.cache_settings import read_cache_settings
from mlib.training import recipe
from mlib.training.bn_chunks import chunked_step
from mlib.training.clips import (
    ClipTable,
    cached_window,
    evaluation_select,
    fit_clip,
    load_clip_arrays,
    load_clip_table,
    make_inputs,
)
from mlib.training.models import SlowFastIdentifier, build_slowfast
from mlib.training.plan import RunPlan

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
SELECTION_BEST = "best validation rank-1 (ties -> earlier epoch)"
SELECTION_LAST = "last epoch (the split has no validation part)"


class TrainingError(RuntimeError):
    """A run folder that does not match the requested configuration."""


# ---------------------------------------------------------------- settings


def resolve_device(setting: str) -> torch.device:
    """``train.device`` -> a torch device; ``cuda`` without CUDA is a configuration error (one line)."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError as exc:
        raise ConfigError(f"train.device={setting!r}: expected auto, cpu or cuda") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise ConfigError(f"train.device={setting}: CUDA is not available ({why}); use train.device=cpu or auto")
    return device


@dataclass(frozen=True)
class FastPath:
    """The speed settings of one run (``train.bf16``, ``channels_last``, ``compile``, ``data_on_device``).

    ``auto`` means on for CUDA and off for CPU; ``true`` forces a setting on any device,
    which is how the tests run every branch of the GPU path on a CPU.
    """

    bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    data_on_device: bool = False

    @classmethod
    def from_config(cls, train_cfg: dict, device: torch.device) -> FastPath:
        def flag(value) -> bool:
            return device.type == "cuda" if value == "auto" else bool(value)

        return cls(*(flag(train_cfg[name]) for name in ("bf16", "channels_last", "compile", "data_on_device")))

    def autocast(self, device: torch.device):
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def prepare_model(self, model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
        """``(model, step_model)``: the model in its memory format, and what the steps call
        (the compiled model, or the model itself). The compiler is reset first: dynamo keeps
        every graph of earlier runs in this process and, past ``recompile_limit``, would
        silently run this one eagerly (a grid in one process is many runs)."""
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
        if not self.compile:
            return model, model
        torch._dynamo.reset()
        return model, torch.compile(model)

    def prepare_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last_3d) if self.channels_last else x


def fits_on_device(nbytes: int, device: torch.device, share: float = 0.5) -> bool:
    """Whether ``nbytes`` take at most ``share`` of the device's free memory.

    The caching allocator is emptied first: memory it holds for tensors that are gone
    (an earlier run's model, in a grid) counts as used in ``mem_get_info``.
    On the CPU the arrays already sit in host memory, so they always fit.
    """
    if device.type != "cuda":
        return True
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < share * free


@contextlib.contextmanager
def backend_settings(device: torch.device):
    """Deterministic algorithms on the CPU, cuDNN autotuning on CUDA, for the duration of a run.

    Both are process-wide flags: they are restored on exit, so a notebook or grid process
    that goes on with other work (a CPU run after a CUDA run, say) finds them as it left them.
    """
    deterministic, benchmark = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(deterministic or device.type == "cpu")
    torch.backends.cudnn.benchmark = benchmark or device.type == "cuda"
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.backends.cudnn.benchmark = benchmark


# Training settings added after runs were made, at the value that trains as before: there they stay out of
# a run's identity, so run folders made before the setting existed are found, resumed and skipped as before.
NEUTRAL_TRAIN = {"bn_chunks": 1}


def train_identity(train_cfg: dict) -> dict:
    """The ``train`` section as part of a run's identity: ``NEUTRAL_TRAIN`` settings at their neutral value left out."""
    return {k: v for k, v in train_cfg.items() if k not in NEUTRAL_TRAIN or v != NEUTRAL_TRAIN[k]}


def run_folder(cfg: dict) -> Path:
    """``run.out/<run.name or hash(model, train, cache settings, split file content)>``; the input plan
    (``data.sampling``, ``data.input``) joins the hash when it is not the default window/clip, and
    ``train`` is ``train_identity``'s."""
    run = cfg["run"]
    if run.get("name"):
        return Path(run["out"]) / run["name"]
    key = {
        "model": cfg["model"],
        "train": train_identity(cfg["train"]),
        "cache_settings": read_cache_settings(run["cache"]),
        "split": Path(run["split"]).read_text(),
    }
    plan = InputPlan.from_config(cfg)
    if not plan.is_default:
        key["inputs"] = plan.key()
    return Path(run["out"]) / config_hash(key)


# ---------------------------------------------------------------- optimisation


def make_optimizer(model: torch.nn.Module, train_cfg: dict) -> torch.optim.Optimizer:
    if recipe.uses_recipe(train_cfg):
        return recipe.make_optimizer(model, train_cfg)
    name, lr, wd = train_cfg["optimizer"], float(train_cfg["lr"]), float(train_cfg["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=float(train_cfg["momentum"]), weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    raise ValueError(f"train.optimizer={name!r}: expected sgd, adam or adamw")


def make_scheduler(optimizer: torch.optim.Optimizer, train_cfg: dict) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-epoch schedule: linear warm-up over ``warmup_epochs``, then cosine to 0, step
    (x0.1 at 1/3 and 2/3 of the remaining epochs) or constant; PySlowFast's under ``train.recipe``."""
    if recipe.uses_recipe(train_cfg):
        return recipe.make_scheduler(optimizer, train_cfg)
    sched = torch.optim.lr_scheduler
    epochs, warmup, kind = int(train_cfg["epochs"]), int(train_cfg["warmup_epochs"]), train_cfg["schedule"]
    warmup = min(warmup, max(epochs - 1, 0))
    rest = max(epochs - warmup, 1)
    if kind == "cosine":
        main = sched.CosineAnnealingLR(optimizer, T_max=rest)
    elif kind == "step":
        main = sched.MultiStepLR(optimizer, milestones=[max(1, rest // 3), max(2, 2 * rest // 3)], gamma=0.1)
    elif kind == "constant":
        main = sched.ConstantLR(optimizer, factor=1.0, total_iters=0)
    else:
        raise ValueError(f"train.schedule={kind!r}: expected cosine, step or constant")
    if warmup == 0:
        return main
    ramp = sched.LinearLR(optimizer, start_factor=1.0 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    return sched.SequentialLR(optimizer, [ramp, main], milestones=[warmup])


# ---------------------------------------------------------------- state


def _rng_state(generator: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(path: Path, model, optimizer, scheduler, generator, epoch, history, best, classes) -> None:
    io.save_torch(
        path,
        {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(generator),
            "history": history,
            "best": best,
            "classes": list(classes),
        },
    )


def _load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainingError(f"{path}: cannot load checkpoint: {exc}") from exc


# ---------------------------------------------------------------- the loop


class _Runner:
    """The model, its inputs and the speed settings of one run on one device."""

    def __init__(self, plan: RunPlan, table: ClipTable, device: torch.device):
        cfg = plan.effective
        tcfg, mcfg = cfg["train"], cfg["model"]
        self.cfg, self.table, self.device = cfg, table, device
        self.fast = FastPath.from_config(tcfg, device)
        self.size, self.frames = mcfg["size"], mcfg["frames"]
        side = plan.working_size
        self.plan, self.jitter = plan.inputs, recipe.short_side_jitter(tcfg)
        keys = list(table.clips["clip_key"])
        self.window = cached_window(table.cache_dir / table.clips["cache_file"].iloc[0])
        self.apexes = apex_positions(table.clips, self.window)
        select = None if self.plan.is_default else lambda i, array: self.plan.select(array, keys[i], self.apexes[i])
        self.arrays = load_clip_arrays(table.cache_dir, list(table.clips["cache_file"]), self.frames, side, select)
        self.on_device = self.fast.data_on_device and fits_on_device(self.arrays.numel(), device)
        if self.on_device:
            self.arrays = self.arrays.to(device)
        elif device.type == "cuda":
            self.arrays = self.arrays.pin_memory()
        label_of = {s: i for i, s in enumerate(table.classes)}
        self.labels = torch.tensor([label_of[s] for s in table.clips["subject"]], dtype=torch.long)
        self.rows = {p: np.flatnonzero(table.clips["part"].to_numpy() == p) for p in ("train", "val", "test")}

        self.model, self.step_model = self.fast.prepare_model(
            build_slowfast(mcfg, len(table.classes), self.plan.slow_positions()).to(device)
        )

    def batch(
        self, rows: np.ndarray, augment: bool, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tcfg = self.cfg["train"]
        index = torch.as_tensor(rows, dtype=torch.long)
        clips = self.arrays[index.to(self.arrays.device)].to(self.device, non_blocking=True)
        if self.plan.random_start(self.window):  # whole windows kept: draw this step's frames
            keys = self.table.clips["clip_key"].to_numpy()[rows]
            positions = self.plan.batch_positions(self.window, keys, self.apexes[rows], augment, generator)
            clips = clips[torch.arange(len(rows), device=clips.device)[:, None], positions.to(clips.device)]
        x = make_inputs(
            clips,
            self.size,
            augment=augment,
            generator=generator,
            crop_scale=tcfg["crop_scale"],
            color_jitter=float(tcfg["color_jitter"]),
            hflip=bool(tcfg["hflip"]),
            short_side_jitter=self.jitter,
        )
        return self.fast.prepare_inputs(x), self.labels[index].to(self.device)

    def autocast(self):
        return self.fast.autocast(self.device)

    def train_epoch(self, optimizer, generator, progress: bool, epoch: int) -> tuple[float, float]:
        tcfg = self.cfg["train"]
        self.model.train()
        rows = self.rows["train"][torch.randperm(len(self.rows["train"]), generator=generator).numpy()]
        batches = [rows[i : i + tcfg["batch_size"]] for i in range(0, len(rows), tcfg["batch_size"])]
        if len(batches) > 1 and len(batches[-1]) == 1:
            batches.pop()  # BatchNorm cannot train on a single clip at 1x1 spatial size
        total_loss, correct, seen = 0.0, 0, 0
        for chunk in tqdm(batches, desc=f"epoch {epoch}", leave=False, disable=not progress):
            x, y = self.batch(chunk, bool(tcfg["augment"]), generator)
            optimizer.zero_grad(set_to_none=True)
            # train.bn_chunks > 1: BatchNorm over per-GPU chunks of the batch, as the original (mlib.training.bn_chunks)
            logits, loss = chunked_step(self.forward, x, y, int(tcfg["bn_chunks"]), self.loss)
            optimizer.step()
            total_loss += float(loss.detach()) * len(chunk)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(chunk)
        return total_loss / max(seen, 1), correct / max(seen, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The training forward pass (mixed precision where configured)."""
        with self.autocast():
            return self.step_model(x)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss: cross-entropy with the configured label smoothing."""
        return F.cross_entropy(logits.float(), y, label_smoothing=float(self.cfg["train"]["label_smoothing"]))

    @torch.no_grad()
    def predict_rows(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (float64, n x classes) for cached clips, evaluation preprocessing."""
        self.model.eval()
        out = []
        for i in range(0, len(rows), self.cfg["train"]["batch_size"]):
            x, _ = self.batch(rows[i : i + self.cfg["train"]["batch_size"]], False, None)
            with self.autocast():
                logits = self.step_model(x)
            out.append(torch.softmax(logits.float(), dim=1).cpu().double().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.table.classes)))

    @torch.no_grad()
    def recompute_batchnorm(self) -> None:
        """Precise BatchNorm: replace the running statistics by their average over the training
        clips (evaluation preprocessing), with ``torch.optim.swa_utils.update_bn``. A small data
        set gives BN too few momentum updates to settle, so eval-mode outputs would lag training."""
        rows, size = self.rows["train"], self.cfg["train"]["batch_size"]
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks[-2] = np.concatenate([chunks[-2], chunks.pop()])
        inputs = (self.batch(chunk, False, None)[0] for chunk in chunks)
        with self.autocast():
            torch.optim.swa_utils.update_bn(inputs, self.model, device=self.device)

    def evaluate(self, part: str) -> tuple[float, float]:
        rows = self.rows[part]
        proba = self.predict_rows(rows)
        labels = self.labels[torch.as_tensor(rows, dtype=torch.long)].numpy()
        loss = float(-np.log(np.clip(proba[np.arange(len(rows)), labels], 1e-12, None)).mean())
        return loss, float((proba.argmax(1) == labels).mean())


def train(
    cfg: dict,
    run_dir: str | Path | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    log: bool = True,
) -> Path:
    """Train (or resume, or skip if finished) one run; return its folder.

    ``cfg`` is a resolved configuration whose ``run.cache`` and ``run.split`` name the
    inputs. ``on_epoch_end(epoch, history_row)`` is called after each epoch's
    checkpoint is saved (an exception raised there stops the run like a kill would).
    ``log``: print one line per epoch and the skip/resume/finish lines (the CLI's log);
    the book's pages pass False and show the run's ``history.csv`` as a figure instead.
    """
    if not cfg["run"].get("cache") or not cfg["run"].get("split"):
        raise ValueError("run.cache and run.split must name a prepared cache folder and a split file")
    load_index(cfg["run"]["cache"])  # a missing or unreadable index.csv is named first
    check_cache_dataset(cfg)
    run_dir = Path(run_dir) if run_dir is not None else run_folder(cfg)
    data = data_identity(cfg)
    _check_same_config(run_dir, cfg)
    _check_same_data(run_dir, data)
    if (run_dir / "metrics.json").is_file():
        if log:
            print(f"{run_dir}: finished (metrics.json present); skipping")
        return run_dir
    table = load_clip_table(cfg["run"]["cache"], cfg["run"]["split"])
    device = resolve_device(cfg["train"]["device"])
    tcfg = cfg["train"]
    torch.manual_seed(tcfg["seed"])
    np.random.seed(tcfg["seed"])
    with backend_settings(device):
        runner = _Runner(RunPlan.of(cfg), table, device)
        io.write_yaml(run_dir / "config.yaml", cfg)
        io.write_json(run_dir / DATA_FILE, data)
        _fit(runner, run_dir, progress, on_epoch_end, log)
        _finish(runner, run_dir, log)
    return run_dir


def check_cache_dataset(cfg: dict) -> None:
    """A cache knows its dataset (its ``settings.json``): a ``data.dataset`` that names another is refused,
    naming both, so a run's recorded configuration never mislabels its data. ``mlib train`` and
    ``mlib grid`` take the cache's dataset when no profile or ``--set`` names one."""
    cache = cfg["run"]["cache"]
    recorded = read_cache_settings(cache).get("dataset")
    if recorded is not None and recorded != cfg["data"]["dataset"]:
        raise ConfigError(
            f"data.dataset: {cfg['data']['dataset']!r}, but the cache {cache} holds {recorded!r} "
            f"(its settings.json); drop the setting or name {recorded!r}"
        )


def _check_same_config(run_dir: Path, cfg: dict) -> None:
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        return
    saved = load_yaml(saved_path)
    for section, identity in (("model", lambda x: x), ("train", train_identity)):
        if identity(saved.get(section) or {}) != identity(cfg[section]):
            raise TrainingError(
                f"{saved_path}: the run folder holds a different '{section}' configuration; choose another run.name"
            )
    if InputPlan.from_config(saved).key() != InputPlan.from_config(cfg).key():
        raise TrainingError(
            f"{saved_path}: the run folder holds a different data.sampling/data.input; choose another run.name"
        )


DATA_FILE = "data.json"


def data_identity(cfg: dict) -> dict:
    """What a run was trained on: the cache key (hash of its ``settings.json``, the suffix of its
    folder name), the SHA-256 of its ``index.csv`` (two caches made with equal settings still
    differ there) and of the split file. Part of a run folder's identity, so a named run reused
    with another split or cache is refused instead of resumed or skipped."""
    import hashlib

    split, index = Path(cfg["run"]["split"]), Path(cfg["run"]["cache"]) / "index.csv"
    for path, what in ((split, "split file (run mlib split)"), (index, "cache index (run mlib prepare)")):
        if not path.is_file():
            raise TrainingError(f"{path}: no such {what}")
    return {
        "cache_key": config_hash(read_cache_settings(cfg["run"]["cache"])),
        "cache_index_sha256": hashlib.sha256(index.read_bytes()).hexdigest(),
        "split_sha256": hashlib.sha256(split.read_bytes()).hexdigest(),
    }


def _check_same_data(run_dir: Path, data: dict) -> None:
    saved_path = run_dir / DATA_FILE
    if not saved_path.is_file():
        return
    import json

    saved = json.loads(saved_path.read_text())
    for key, what in (("cache_key", "cache"), ("cache_index_sha256", "cache"), ("split_sha256", "split file")):
        if saved.get(key) != data[key]:
            raise TrainingError(
                f"{run_dir}: this run folder was trained with another {what}; "
                f"choose another run name (--name) or remove the folder"
            )


def _fit(runner: _Runner, run_dir: Path, progress: bool, on_epoch_end, log: bool = True) -> None:
    tcfg = runner.cfg["train"]
    generator = torch.Generator().manual_seed(tcfg["seed"])
    optimizer = make_optimizer(runner.model, tcfg)
    scheduler = make_scheduler(optimizer, tcfg)
    has_val = len(runner.rows["val"]) > 0
    history: list[dict] = []
    best = {"epoch": 0, "val_acc": -1.0}
    start = 1
    last_path, best_path = run_dir / "checkpoints" / "last.pt", run_dir / "checkpoints" / "best.pt"
    if last_path.is_file():
        state = _load_checkpoint(last_path)
        runner.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"], generator)
        history, best, start = list(state["history"]), dict(state["best"]), int(state["epoch"]) + 1
        if log:
            print(f"{run_dir}: resuming after epoch {state['epoch']}")

    for epoch in range(start, int(tcfg["epochs"]) + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = runner.train_epoch(optimizer, generator, progress, epoch)
        scheduler.step()
        if tcfg["precise_bn"]:
            runner.recompute_batchnorm()
        val_loss = val_acc = math.nan
        evaluate = has_val and (epoch % int(tcfg["eval_every"]) == 0 or epoch == int(tcfg["epochs"]))
        if evaluate:
            val_loss, val_acc = runner.evaluate("val")
        row = dict(
            epoch=epoch,
            train_loss=train_loss,
            train_acc=train_acc,
            val_loss=val_loss,
            val_acc=val_acc,
            lr=lr,
            seconds=time.perf_counter() - started,
        )
        history.append(row)
        improved = evaluate and val_acc > best["val_acc"]
        if improved:
            best = {"epoch": epoch, "val_acc": val_acc}
        state = (runner.model, optimizer, scheduler, generator, epoch, history, best, runner.table.classes)
        if improved:  # best before last: a kill in between re-runs this epoch and rewrites both
            _save_checkpoint(best_path, *state)
        _save_checkpoint(last_path, *state)
        io.write_csv(run_dir / "history.csv", pd.DataFrame(history, columns=HISTORY_COLUMNS))
        if log:
            print(
                f"epoch {epoch}/{tcfg['epochs']}: loss {train_loss:.4f}  train acc {train_acc:.3f}  "
                f"val acc {val_acc:.3f}  lr {lr:.2e}  {row['seconds']:.1f}s"
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)


def _finish(runner: _Runner, run_dir: Path, log: bool = True) -> None:
    """Evaluate val and test with the selected checkpoint; write predictions.csv, then metrics.json."""
    last_path, best_path = run_dir / "checkpoints" / "last.pt", run_dir / "checkpoints" / "best.pt"
    last = _load_checkpoint(last_path)
    if len(runner.rows["val"]) > 0 and last["best"]["epoch"] > 0:
        selection, chosen = SELECTION_BEST, _load_checkpoint(best_path)
    else:
        selection, chosen = SELECTION_LAST, last
        io.save_torch(best_path, last)
    runner.model.load_state_dict(chosen["model"])
    classes = runner.table.classes
    frames, metrics = [], {"selection": selection, "checkpoint_epoch": int(chosen["epoch"]), "classes": classes}
    for part in ("val", "test"):
        rows = runner.rows[part]
        part_clips = runner.table.clips.iloc[rows]
        proba = runner.predict_rows(rows)
        frame = pd.DataFrame(
            {
                "clip_key": part_clips["clip_key"].to_numpy(),
                "subject": part_clips["subject"].to_numpy(),
                "part": part,
                "predicted": predicted_labels(proba, classes) if len(rows) else [],
            }
        )
        frame = pd.concat([frame, pd.DataFrame(proba, columns=[f"{PROBA_PREFIX}{c}" for c in classes])], axis=1)
        frames.append(frame)
        if len(rows):
            metrics[part] = summarize(list(part_clips["subject"]), proba, classes, seed=runner.cfg["train"]["seed"])
        else:
            metrics[part] = {"rank1": None, "rank5": None, "n_clips": 0, "n_subjects": 0}
    io.write_csv(run_dir / "predictions.csv", pd.concat(frames, ignore_index=True))
    io.write_json(run_dir / "metrics.json", metrics)
    test = metrics["test"]
    if log:
        print(
            f"{run_dir}: test rank-1 {test['rank1']} on {test['n_clips']} clips "
            f"(checkpoint epoch {metrics['checkpoint_epoch']}, {selection})"
        )


# ---------------------------------------------------------------- using a run


def load_run(
    run_dir: str | Path, which: str = "best", device: str | torch.device = "cpu"
) -> tuple[SlowFastIdentifier, RunPlan, list[str]]:
    """The trained model (eval mode), the run's plan (its resolved config and derived settings) and its class
    list (subject ids)."""
    run_dir = Path(run_dir)
    if which not in {"best", "last"}:
        raise ValueError(f"which={which!r}: expected 'best' or 'last'")
    plan = RunPlan.of(load_yaml(run_dir / "config.yaml"))
    state = _load_checkpoint(run_dir / "checkpoints" / f"{which}.pt")
    classes = list(state["classes"])
    model = build_slowfast({**plan.model, "checkpoint": None}, len(classes), plan.inputs.slow_positions())
    model.load_state_dict(state["model"])
    return model.to(device).eval(), plan, classes


@torch.no_grad()
def predict(
    model: SlowFastIdentifier,
    clips,
    plan: RunPlan | None = None,
    batch_size: int = 8,
    index_rows: pd.DataFrame | None = None,
) -> np.ndarray:
    """Class probabilities (float64, N x classes) with the evaluation preprocessing.

    ``clips``: uint8 cache arrays (N, W, S, S, 3) (numpy or tensor), or float model inputs
    (N, 3, T, H, W) used as they are. With the run's ``plan`` (from :func:`load_run`) uint8
    clips take exactly the run's path (frames sampled, resized to the working side, then to
    ``model.size``), so the probabilities equal predictions.csv's; without it they are resized
    straight to ``model.size``. A run with another ``data.sampling``/``data.input`` also needs
    ``index_rows``, the clips' cache index rows (clip key and window placement), in order.
    """
    model.eval()
    device = next(model.parameters()).device
    side, select = model.size, None
    if plan is not None:
        side = plan.working_size
        select = evaluation_select(plan, index_rows, clips[0].shape[0] if len(clips) else 0)
    out = []
    for i in range(0, len(clips), batch_size):
        chunk = clips[i : i + batch_size]
        if isinstance(chunk, np.ndarray) or chunk.dtype == torch.uint8:
            arrays = [np.asarray(c) if select is None else select(i + j, np.asarray(c)) for j, c in enumerate(chunk)]
            chunk = torch.stack([fit_clip(a, model.frames, side) for a in arrays])
            chunk = make_inputs(chunk.to(device), model.size)
        out.append(torch.softmax(model(chunk.to(device).float()), dim=1).cpu().double().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.num_classes))


# ---------------------------------------------------------------- command line
