"""Run the whole study for a profile: the numbered notebooks, executed for the book.

A profile (``configs/profiles/NAME.yaml``) resolves to one configuration. For
each database it names, the study runs the notebooks of ``notebooks/`` in order
through papermill (``mlib.notebooks``) into ``book/executed/NN-name-DATASET.ipynb``,
and writes ``<results>/<profile>/study.json``: which profile, data and result
folders each page used, so the results summary (``00-results``) and every
figure can name the run that made it.

On synthetic profiles the corpus is generated first, and a second corpus in the
generator's ``motion-only`` mode (one shared face; subjects differ only in how
they move) is trained on with the same settings: it tests whether the model
can recognise people from their micro-movements alone, the paper's hypothesis,
which a face crop cannot test because appearance alone identifies a face.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlib import config as mconfig
from mlib import io as mio
from mlib import notebooks, paper
from mlib.train import configure_run, run_folder

NOTEBOOK_DIR = Path("notebooks")
EXECUTED_DIR = Path("book/executed")
REAL_FOLDERS = {"casme2": "CASME2", "samm": "SAMM", "smic": "SMIC"}
MOTION_ONLY = "motion-only"


@dataclass
class Variant:
    """One corpus the study runs on: a database in a layout, and for synthetic data its mode."""

    dataset: str
    root: str
    mode: str = "identity"             # identity | motion-only (synthetic corpora only)
    paths: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.dataset if self.mode == "identity" else f"{self.dataset}-{self.mode}"


def variants(cfg: dict) -> list[Variant]:
    """The corpora a configuration's study runs on, in order."""
    study = cfg["study"]
    found = []
    for dataset in study["datasets"]:
        root = study["roots"][dataset]
        found.append(Variant(dataset, root))
        if study["data"] == "synthetic" and study["motion_only"]:
            found.append(Variant(dataset, f"{root}-{MOTION_ONLY}", MOTION_ONLY))
    return found


def training_overrides(cfg: dict, variant: Variant) -> dict:
    """The single run's settings: the paper's Table 1 choice for this database, at the profile's scale
    (the profile's batch size, epochs and input size: the paper's batch 16/32 is for its GPU runs)."""
    chosen = paper.TABLE1[paper.paper_dataset(variant.dataset)]
    return {"alpha": chosen["alpha"], "beta_inv": chosen["beta_inv"], "optimizer": chosen["optimizer"],
            "lr": chosen["lr"]}


class Study:
    """Executes the notebooks of one profile, in order, recording what each used."""

    def __init__(self, profile: Path, overrides=(), executed_dir: Path = EXECUTED_DIR, force: bool = False):
        self.profile = Path(profile)
        self.name = self.profile.stem
        self.cfg = mconfig.resolve(self.profile, overrides)
        self.executed_dir = Path(executed_dir)
        self.results = Path(self.cfg["study"]["results"]) / self.name
        self.force = force
        self.executed: list[Path] = []
        self.variants = variants(self.cfg)
        self._stamps: list[str] = []

    def run(self) -> list[Path]:
        for variant in self.variants:
            self._run_variant(variant)
        self._notebook("00-results", None, {"study_file": str(self.results / "study.json")})
        notebooks.check_executed(self.executed)
        for stale in set(self.executed_dir.glob("*.ipynb")) - set(self.executed):
            stale.unlink()  # a page of another profile's run: the book shows only this run
        return self.executed

    def _run_variant(self, variant: Variant) -> None:
        """The notebooks of one corpus; each result folder is recorded in the manifest before it is made."""
        cfg, out, paths = self.cfg, self.results / variant.name, variant.paths
        prep, split = cfg["prepare"], cfg["split"]
        paths["preprocess"] = str(out / "preprocess")
        self._notebook("01-preprocess", variant, {
            "dataset": variant.dataset, "root": variant.root, "apex_rule": cfg["data"]["apex_rule"],
            "cropped": cfg["data"]["cropped"], "cache_dir": prep["cache_dir"], "face_size": prep["face_size"],
            "window": prep["window"], "margin": prep["margin"], "protocol": split["protocol"],
            "test_size": split["test_size"], "seed": split["seed"], "val_size": split["val_size"],
            "synth": self.synthetic, "synth_settings": {**cfg["synth"], "mode": variant.mode},
            "workers": prep["workers"], "out_dir": paths["preprocess"],
        })
        recorded = json.loads((out / "preprocess" / "data.json").read_text())
        cache, split_file = recorded["cache"], recorded["split"]
        chosen = training_overrides(cfg, variant)
        model, train = cfg["model"], cfg["train"]
        settings = {"alpha": chosen["alpha"], "beta_inv": chosen["beta_inv"], "depth": model["depth"],
                    "optimizer": chosen["optimizer"], "lr": chosen["lr"], "batch_size": train["batch_size"],
                    "epochs": train["epochs"], "seed": train["seed"], "size": model["size"],
                    "frames": model["frames"], "device": train["device"]}
        runs_dir = out / "runs"  # shared with the grid, which then finds this configuration already trained
        run_dir = run_folder(configure_run(self.profile, cache=cache, split=split_file, runs_dir=runs_dir, **settings))
        paths.update(cache=cache, split=split_file, train=str(run_dir), baseline=str(out / "baseline"))
        self._notebook("02-train", variant, {
            "dataset": variant.dataset, "cache": cache, "split": split_file, "profile": str(self.profile),
            **settings, "runs_dir": str(runs_dir), "out": str(run_dir),
        })
        self._notebook("07-baseline", variant, {
            "cache": cache, "split": split_file, "out": paths["baseline"], "workers": prep["workers"],
        })
        if variant.mode != "identity":
            return
        paths.update(grid=str(runs_dir), ensemble=str(out / "ensemble"), gradcam=str(out / "gradcam"))
        self._notebook("03-grid-search", variant, {
            "dataset": variant.dataset, "cache": cache, "split": split_file,
            "grid": cfg["study"]["grid"], "profile": str(self.profile), "seeds": cfg["study"]["seeds"],
            "out": paths["grid"],
        })
        self._notebook("04-ensemble", variant, {
            "grid_dir": paths["grid"], "out": paths["ensemble"], "max_size": cfg["study"]["ensemble_max_size"],
        })
        self._notebook("05-gradcam", variant, {
            "run": str(run_dir), "cache": cache, "clips": cfg["study"]["gradcam_clips"],
            "out": paths["gradcam"], "synthetic_root": variant.root if self.synthetic else None,
        })

    @property
    def synthetic(self) -> bool:
        return self.cfg["study"]["data"] == "synthetic"

    def _notebook(self, stem: str, variant: Variant | None, parameters: dict) -> None:
        name = stem if variant is None else f"{stem}-{variant.name}"
        executed = self.executed_dir / f"{name}.ipynb"
        print(f"[study {self.name}] {name}", flush=True)
        self._write_manifest()
        stamp, ran = notebooks.execute(NOTEBOOK_DIR / f"{stem}.py", executed, parameters,
                                       upstream=self._stamps, force=self.force,
                                       title_suffix="" if variant is None else f": {variant.name}")
        print(f"[study {self.name}] {name}: {'executed' if ran else 'up to date'}", flush=True)
        self._stamps.append(stamp)
        self.executed.append(executed)
        self._write_manifest()

    def _write_manifest(self) -> None:
        mio.write_json(self.results / "study.json", {
            "profile": self.name,
            "profile_file": str(self.profile),
            "data": self.cfg["study"]["data"],
            "config": self.cfg,
            "variants": [asdict(v) | {"name": v.name} for v in self.variants],
            "executed": [str(p) for p in self.executed],
        })


def check_real_data(cfg: dict) -> list[str]:
    """What is missing for a run on the real databases: a CUDA GPU and each database's files."""
    import torch

    from mlib.datasets import DatasetError, load_dataset

    missing = []
    if not torch.cuda.is_available():
        missing.append("no CUDA GPU: the full profile trains SlowFast R50 at 224 px and needs one")
    for dataset in cfg["study"]["datasets"]:
        root = cfg["study"]["roots"][dataset]
        try:
            load_dataset(dataset, root, apex_rule=cfg["data"]["apex_rule"], cropped=cfg["data"]["cropped"])
        except (DatasetError, FileNotFoundError) as exc:
            missing.append(f"{dataset}: {exc}")
    return missing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="configs/profiles/default.yaml", help="profile YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration value (repeatable)")
    parser.add_argument("--data-root", help="real data: the folder holding CASME2/, SAMM/ and SMIC/")
    parser.add_argument("--executed", default=str(EXECUTED_DIR), help="where executed notebooks go")
    parser.add_argument("--check", action="store_true", help="only check that the GPU and the databases are there")
    parser.add_argument("--force", action="store_true", help="execute every notebook even if up to date")


def main(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.data_root:
        overrides += [f"study.roots.{name}={Path(args.data_root) / folder}" for name, folder in REAL_FOLDERS.items()]
    study = Study(Path(args.profile), overrides, Path(args.executed), force=args.force)
    if args.check:
        missing = check_real_data(study.cfg)
        for line in missing:
            print(f"missing: {line}", file=sys.stderr)
        if missing:
            print("Put each database under the data root as book/reproduce.md shows, then rerun.", file=sys.stderr)
            return 1
        print("GPU and databases found.")
        return 0
    try:
        executed = study.run()
    except notebooks.NotebookFailed as exc:
        print(f"study failed: {exc}", file=sys.stderr)
        return 1
    print(f"[study {study.name}] {len(executed)} notebooks in {args.executed}; manifest {study.results / 'study.json'}")
    return 0
