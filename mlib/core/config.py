"""Configuration: one defaults tree (``defaults.yaml``), profiles and overrides.

A configuration is a nested dict. ``resolve`` merges the defaults, an optional
profile file and ``key.sub=value`` overrides, then validates the result once:
every key must exist in the defaults and every value must have the default's
type (``null`` defaults accept anything; list items must have the type of the
default list's first item), and every value named in ``RULES`` must lie in its
range or be one of its choices. Code downstream can then trust it: a bad value
fails at once with one line naming the key and what is allowed, not late (a
zero batch size) or never (a negative margin that crops every face to 1x1).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration key or value that the defaults tree does not allow."""


@dataclass(frozen=True)
class Range:
    """Allowed numbers: ``low``..``high`` (None: unbounded), each end closed unless marked open."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def allows(self, value) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high}"
        return f"{'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class Choices:
    """Allowed values, listed, or ``"module:NAME"`` for a collection another module owns
    (imported only when such a value is checked, so ``mlib --help`` stays fast)."""

    values: tuple | str

    def options(self) -> tuple:
        if isinstance(self.values, str):
            module, _, name = self.values.partition(":")
            return tuple(getattr(importlib.import_module(module), name))
        return self.values

    def allows(self, value) -> bool:
        return value in self.options()

    def __str__(self) -> str:
        return "one of " + ", ".join(map(str, self.options()))


POSITIVE = Range(1)
NON_NEGATIVE = Range(0)
SHARE = Range(0, 1, low_open=True, high_open=True)  # (0, 1)
SHARE_OR_NONE = Range(0, 1, high_open=True)  # [0, 1)
FRACTION = Range(0, 1)  # [0, 1]

# What each value may be (keys as dotted paths; a list key's rule applies to each item).
# null is always allowed where the default is null. The CLIs map their flags onto
# these keys (mlib prepare --margin -> prepare.margin), so flags are checked here too.
RULES: dict[str, Range | Choices] = {
    "synth.layout": Choices(("casme2", "samm", "smic")),
    "synth.mode": Choices("mlib.synth.render:MODES"),
    "synth.subjects": POSITIVE,
    "synth.clips_per_subject": POSITIVE,
    "synth.single_clip_subjects": NON_NEGATIVE,
    "synth.short_clip_fraction": FRACTION,
    "synth.frame_size": Range(48),
    "synth.seed": NON_NEGATIVE,
    "synth.twin_group": Range(2),
    "synth.motion_identity": FRACTION,
    "synth.session_signature": Choices((False, True)),
    "data.dataset": Choices(("casme2", "samm", "smic")),
    "data.apex_rule": Choices(("annotated", "midpoint")),
    "data.pyslowfast.sampling_rate": POSITIVE,
    "data.pyslowfast.target_fps": Range(0, low_open=True),
    "data.pyslowfast.video_fps": Range(0, low_open=True),
    "data.pyslowfast.test_views": POSITIVE,
    "prepare.window": POSITIVE,
    "prepare.face_size": POSITIVE,
    "prepare.margin": Range(0, 2),
    "prepare.pad": Choices("mlib.datasets.window:PAD_SETTINGS"),
    "prepare.workers": POSITIVE,
    "split.protocol": Choices("mlib.preprocess.splits:PROTOCOLS"),
    "split.test_size": SHARE,
    "split.val_size": SHARE_OR_NONE,
    "split.seed": NON_NEGATIVE,
    "split.repeats": POSITIVE,
    "split.open_set.folds": Range(2),
    "split.open_set.enrol_clips": POSITIVE,
    "split.open_set.never_enrolled": SHARE_OR_NONE,
    "model.depth": Choices((18, 50, 101)),
    "model.alpha": POSITIVE,
    "model.beta_inv": POSITIVE,
    "model.width": POSITIVE,
    "model.frames": POSITIVE,
    "model.size": Range(8),
    "model.fusion_kernel": POSITIVE,
    "model.dropout": SHARE_OR_NONE,
    "train.optimizer": Choices(("sgd", "adam", "adamw")),
    "train.lr": Range(0, low_open=True),
    "train.weight_decay": NON_NEGATIVE,
    "train.momentum": FRACTION,
    "train.batch_size": POSITIVE,
    "train.epochs": POSITIVE,
    "train.warmup_epochs": NON_NEGATIVE,
    "train.schedule": Choices(("cosine", "step", "constant")),
    "train.label_smoothing": SHARE_OR_NONE,
    "train.bn_chunks": POSITIVE,
    "train.crop_scale": Range(0, 1, low_open=True),
    "train.color_jitter": NON_NEGATIVE,
    "train.seed": NON_NEGATIVE,
    "train.eval_every": POSITIVE,
    "study.data": Choices(("synthetic", "real")),
    "study.datasets": Choices(("casme2", "samm", "smic")),
    "study.table1_batch": Choices(("paper", "profile")),
    "ensemble.max_size": POSITIVE,
    "ensemble.method": Choices(("hard", "soft", "weighted", "all")),
    "ensemble.candidates": NON_NEGATIVE,
    "ensemble.bootstrap": POSITIVE,
    "gradcam.clips": NON_NEGATIVE,
    "gradcam.target": Choices(("true", "predicted")),
    "gradcam.pathway": Choices(("both", "slow", "fast")),
    "unseen.variants": Choices("mlib.experiments.controls:VARIANTS"),
    "unseen.features": Choices("mlib.experiments.baseline:FEATURE_SETS"),
    "unseen.people": Range(3),
    "unseen.clips": Range(2),
    "unseen.bootstrap": POSITIVE,
    "unseen.union": Choices((False, True)),
    "unseen.union_face_size": POSITIVE,
    "budget.clips_per_subject": Range(2),  # a subject needs clips on both sides of the split
    "budget.target": SHARE,
    "study.pages": Choices(("book", "budget")),
    "budget.cpu_minutes": Range(0, low_open=True),
    "bench.steps": POSITIVE,
    "bench.warmup": NON_NEGATIVE,
    "bench.batch_size": POSITIVE,
}


MOVED_KEYS = {  # a key of an older defaults tree -> its key now: one section per concern, one key per idea
    "study.grid": "grid.file",
    "study.seeds": "grid.seeds",
    "study.ensemble_max_size": "ensemble.max_size",
    "study.ensemble_method": "ensemble.method",
    "study.ensemble_candidates": "ensemble.candidates",
    "study.bootstrap": "ensemble.bootstrap",
    "study.gradcam_clips": "gradcam.clips",
    "study.gradcam_target": "gradcam.target",
    "study.gradcam_pathway": "gradcam.pathway",
    "study.controls": "controls.variants",
    "study.baseline_features": "baseline.features",
    "study.split_repeats": "split.repeats",
}


def check_value(key: str, value: Any) -> Any:
    """``value`` if ``RULES`` allows it for ``key`` (``train.crop_scale[0]`` uses ``train.crop_scale``'s rule)."""
    rule = RULES.get(re.sub(r"\[\d+\]$", "", key))
    if rule is None or value is None or isinstance(value, list):
        return value
    if isinstance(rule, Range) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return value  # a type the type check refuses, or "auto"
    if not rule.allows(value):
        raise ConfigError(f"{key}: {value!r} is not allowed; allowed: {rule}")
    return value


def check_flag(flag: str, value: Any, rule: Range | Choices) -> Any:
    """``value`` if ``rule`` allows it: for a command-line flag that is not a setting of the defaults tree
    (``mlib grid --max-parallel``), refused in the words ``check_value`` uses, naming the flag."""
    if not rule.allows(value):
        raise ConfigError(f"{flag}: {value!r} is not allowed; allowed: {rule}")
    return value


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML parser error in one line: where (line, column) and what, not the parser's quoted excerpt."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or not problem:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    opened = f" ({context} from line {start.line + 1})" if context and start is not None else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}{opened}"


def load_defaults() -> dict:
    """The defaults tree shipped with the package."""
    text = resources.files("mlib").joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def locate(path: str | Path) -> Path:
    """A profile or grid file: ``path`` where it exists, else the copy the package ships.

    The package carries the repository's ``configs/`` as ``mlib/configs/`` (``configs`` in the
    repository is a link to it), so an installed wheel with no repository around it (a
    notebook alone on Colab) finds ``configs/profiles/ci.yaml`` all the same; a bare name
    (``ci``) is a profile. A path found in neither place is returned as given, to be named
    in the error.
    """
    path = Path(path)
    if path.is_file():
        return path
    shipped = resources.files("mlib").joinpath("configs")
    if "configs" in path.parts:
        candidate = shipped.joinpath(*path.parts[path.parts.index("configs") + 1 :])
    elif len(path.parts) == 1 and not path.suffix:
        candidate = shipped.joinpath("profiles", f"{path.name}.yaml")
    else:
        return path
    return Path(str(candidate)) if candidate.is_file() else path


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping (``locate``: a repository path or the package's copy), naming the file in any error."""
    path = locate(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_overrides(items: Iterable[str]) -> dict:
    """Turn ``["model.alpha=8", "train.lr=0.1"]`` into a nested dict (values parsed as YAML)."""
    return nest(dotted_overrides(items))


def dotted_overrides(items: Iterable[str]) -> dict:
    """Turn ``["model.alpha=8"]`` into ``{"model.alpha": 8}``: the form notebooks and grid files take."""
    dotted: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected key.sub=value")
        try:
            dotted[key.strip()] = _parse_value(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: the value is not valid YAML: {yaml_problem(exc)}") from exc
    return dotted


def nest(dotted: Mapping[str, Any]) -> dict:
    """``{"model.alpha": 4}`` -> ``{"model": {"alpha": 4}}``; already nested values merge in."""
    tree: dict = {}
    for key, value in dotted.items():
        node = tree
        *parents, leaf = str(key).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if isinstance(value, Mapping) and isinstance(node.get(leaf), dict):
            node[leaf] = merge_trees(node[leaf], nest(value))
        else:
            node[leaf] = nest(value) if isinstance(value, Mapping) else value
    return tree


def merge_trees(a: dict, b: dict) -> dict:
    """Deep-merge two nested override trees (no validation: ``merge`` does that)."""
    out = dict(a)
    for key, value in b.items():
        out[key] = merge_trees(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _parse_value(text: str) -> Any:
    """YAML, except that ``1e-3`` is a float (YAML 1.1 would read it as a string)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def merge(base: Mapping, update: Mapping, _path: str = "") -> dict:
    """Deep-merge ``update`` into a copy of ``base``; keys must already exist in ``base``."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        where = f"{_path}{key}"
        if key not in out:
            if where in MOVED_KEYS:
                raise ConfigError(
                    f"{where} is now {MOVED_KEYS[where]}: rename it (one section per concern, mlib/defaults.yaml)"
                )
            known = ", ".join(sorted(out)) or "none"
            raise ConfigError(f"unknown configuration key {where!r} (known here: {known})")
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: expected a mapping, got {value!r}")
            out[key] = merge(out[key], value, f"{where}.")
        else:
            out[key] = _checked(where, out[key], value)
    return out


def _checked(where: str, default: Any, value: Any) -> Any:
    if value is None:
        return value
    if default is None:
        return check_value(where, value)
    if isinstance(default, bool):
        if isinstance(value, bool) or (isinstance(value, str) and value == "auto"):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if isinstance(default, str) and default == "auto" and isinstance(value, bool):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return check_value(where, float(value))
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if not default:
            return [check_value(f"{where}[{i}]", item) for i, item in enumerate(value)]
        return [_checked(f"{where}[{i}]", default[0], item) for i, item in enumerate(value)]
    if type(value) is not type(default) and not (isinstance(default, float) and isinstance(value, float)):
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")
    return check_value(where, value)


def resolve(
    profile: str | Path | Mapping | None = None, overrides: Iterable[str] | Mapping = (), implied: Mapping | None = None
) -> dict:
    """Defaults <- implied <- profile <- overrides, validated. ``profile`` may be a path or a mapping;
    ``overrides`` a list of ``key.sub=value`` strings or a mapping, nested or with dotted keys
    (``{"model.alpha": 8}``: the form the notebooks' ``overrides`` parameter and the grid files use).
    ``implied``: settings an input implies (a cache's ``data.dataset``), nested or dotted; they replace
    the defaults only, so a profile or an override that says otherwise still wins (and is then checked
    against the input by the code that uses it)."""
    cfg = load_defaults()
    if implied:
        cfg = merge(cfg, nest(implied))
    if profile is not None:
        data = profile if isinstance(profile, Mapping) else load_yaml(profile)
        cfg = merge(cfg, data)
    cfg = merge(cfg, nest(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides))
    return cfg


def config_hash(tree: Mapping, length: int = 12) -> str:
    """A short stable hash of a (sub)tree: the key of a cache or a run folder."""
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
