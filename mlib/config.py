"""Configuration: one defaults tree (``defaults.yaml``), profiles and overrides.

A configuration is a nested dict. ``resolve`` merges the defaults, an optional
profile file and ``key.sub=value`` overrides, then validates the result once:
every key must exist in the defaults and every value must have the default's
type (``null`` defaults accept anything; list items must have the type of the
default list's first item). Code downstream can then trust it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml


class ConfigError(ValueError):
    """A configuration key or value that the defaults tree does not allow."""


def load_defaults() -> dict:
    """The defaults tree shipped with the package."""
    text = resources.files("mlib").joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, naming the file in any error."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
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
        dotted[key.strip()] = _parse_value(value)
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
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool) or (isinstance(value, str) and value == "auto"):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if isinstance(default, str) and default == "auto" and isinstance(value, bool):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if not default:
            return value
        return [_checked(f"{where}[{i}]", default[0], item) for i, item in enumerate(value)]
    if type(value) is not type(default) and not (isinstance(default, float) and isinstance(value, float)):
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")
    return value


def resolve(profile: str | Path | Mapping | None = None, overrides: Iterable[str] | Mapping = ()) -> dict:
    """Defaults <- profile <- overrides, validated. ``profile`` may be a path or a mapping;
    ``overrides`` a list of ``key.sub=value`` strings or a mapping, nested or with dotted keys
    (``{"model.alpha": 8}``: the form the notebooks' ``overrides`` parameter and the grid files use)."""
    cfg = load_defaults()
    if profile is not None:
        data = profile if isinstance(profile, Mapping) else load_yaml(profile)
        cfg = merge(cfg, data)
    cfg = merge(cfg, nest(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides))
    return cfg


def config_hash(tree: Mapping, length: int = 12) -> str:
    """A short stable hash of a (sub)tree: the key of a cache or a run folder."""
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
