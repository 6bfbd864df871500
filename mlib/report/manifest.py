"""The study manifest, ``<results>/<profile>/study.json``: which data and result folders each page used.

One class for both sides: the study runner (``mlib.study.runner``) fills and writes
it before and after every notebook, and the results summary (``mlib.report.results``,
notebook ``00-results``) reads it back, so a figure can name the run that made it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlib.core import io as mio


@dataclass
class Corpus:
    """One corpus the study runs on: a database in a layout, and for synthetic data its mode."""

    dataset: str
    root: str
    mode: str = "identity"  # identity | motion-only | twins (synthetic corpora only)
    paths: dict = field(default_factory=dict)  # page -> its result folder or file, recorded as the study runs

    @property
    def name(self) -> str:
        return self.dataset if self.mode == "identity" else f"{self.dataset}-{self.mode}"


@dataclass
class StudyManifest:
    """What one study run used: its profile and configuration, its corpora and their result folders."""

    profile: str  # the profile's name (its file's stem)
    profile_file: str
    data: str  # synthetic | real
    config: dict  # the resolved configuration of the study
    corpora: list[Corpus]
    executed: list[str] = field(default_factory=list)  # executed notebooks, in order
    pages: dict = field(default_factory=dict)  # study-level page -> its result folder: "controls" (controls.csv),
    # "original_grid" (notebook 08's tables)

    @property
    def synthetic(self) -> bool:
        return self.data == "synthetic"

    def corpus(self, name: str) -> Corpus:
        found = [v for v in self.corpora if v.name == name]
        if not found:
            raise KeyError(f"the study has no corpus {name!r} (it has {', '.join(v.name for v in self.corpora)})")
        return found[0]

    def write(self, path: str | Path) -> None:
        raw = asdict(self)
        raw["corpora"] = [asdict(v) | {"name": v.name} for v in self.corpora]
        mio.write_json(path, raw)

    @classmethod
    def load(cls, path: str | Path) -> StudyManifest:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no study manifest (run `mlib study --profile ...` first)")
        raw = json.loads(path.read_text())
        try:
            corpora = [
                Corpus(v["dataset"], v["root"], v.get("mode", "identity"), v.get("paths", {})) for v in raw["corpora"]
            ]
            return cls(
                raw["profile"],
                raw.get("profile_file", ""),
                raw["data"],
                raw["config"],
                corpora,
                raw.get("executed", []),
                raw.get("pages", {}),
            )
        except KeyError as exc:
            raise ValueError(f"{path}: not a study manifest (no key {exc})") from None


PREPROCESSED = "figures/01-preprocess/data.json"  # where notebook 01, run by hand, records its cache and split


def preprocessed_overrides(data_json: str | Path = PREPROCESSED) -> dict:
    """``run.cache`` and ``run.split`` as notebook 01 recorded them in ``data_json``, or {} before it ran.

    How a page run on its own finds the previous page's output: on Colab, or by hand,
    notebooks 01, 02 and 06 run one after another in one folder with their default
    paths. The study passes both settings explicitly, and overrides win over these.
    """
    path = Path(data_json)
    if not path.is_file():
        return {}
    recorded = json.loads(path.read_text())
    return {"run.cache": recorded["cache"], "run.split": recorded["split"]}
