"""Run the whole study for a profile: the numbered notebooks, executed for the book.

A profile (``configs/profiles/NAME.yaml``) resolves to one configuration. For
each database it names, the study runs the notebooks of ``notebooks/`` in order
through papermill (``mlib.study.notebooks``) into ``book/executed/NN-name-DATASET.ipynb``,
and writes ``<results>/<profile>/study.json`` (``mlib.report.manifest``): which profile,
data and result folders each page used, so the results summary (``00-results``)
and every figure can name the run that made it.

Every notebook takes the configuration whole (how paths reach a page:
``mlib/README.md``): its parameters are ``profile`` (this profile's file),
``overrides`` (dotted keys) and the page's input and output paths, and its
first code cell resolves ``config.resolve(profile, overrides)``. The study passes only what differs between corpora
(``corpus_overrides``: the database, its root, the synthetic mode, and once
prepared its cache and split) and, for the single training run, the paper's
Table 1 choice (``single_run_overrides``), on top of the ``--set`` overrides it
was started with. A notebook run by hand with the same parameters resolves the
same configuration, so it trains the same run folder (``mlib.training.train.run_folder``).

On synthetic profiles the corpus is generated first, and two more corpora are
trained on with the same settings: the generator's ``motion-only`` mode (one
shared face; subjects differ only in how they move) tests whether the model can
recognise people from their micro-movements alone, the paper's hypothesis,
which a face crop cannot test because appearance alone identifies a face; the
``twins`` mode (``synth.twin_group`` subjects share each face) leaves only
movement to tell the subjects of a group apart (``study.motion_only``,
``study.twins``).

On the identity corpus, notebook 05 also trains (or finds) Table 3's Adam/AdamW pair
at the Table 1 configuration on each of the ``split.repeats`` split seeds, in
the runs folder the grid shares, so the pair on the first split is the grid's own
(``mlib.experiments.solver_pair``).

The motion-only corpora run first (:func:`variants`). After every corpus, four study-level pages run once: ``07-controls`` trains
the input variants of ``controls.variants`` on every corpus (its ``clip`` variant
is notebook 02's Table 1 run, found already trained) over ``split.repeats``
split seeds, with the truth-parameter positive control of each synthetic corpus
(``mlib.experiments.positive_controls``; real data has none); ``08-original-grid`` sets
the identity corpora's grids beside the original's; ``10-motion-budget`` shows the
learning-budget study of ``mlib.experiments.budget`` from its committed table (``budget.published``; profile
``motion``, ``study.pages: budget``, runs that page alone and trains the sweep); ``00-results`` sums up.
Their result folders are the manifest's ``pages``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlib import paper
from mlib.core import config as mconfig
from mlib.experiments import controls, positive_controls
from mlib.preprocess.splits import write_splits
from mlib.report.manifest import Corpus, StudyManifest
from mlib.study import notebooks
from mlib.training.train import run_folder

NOTEBOOK_DIR = Path("notebooks")
EXECUTED_DIR = Path("book/executed")
REAL_FOLDERS = {"casme2": "CASME2", "samm": "SAMM", "smic": "SMIC"}
MOTION_ONLY = "motion-only"
TWINS = "twins"


def corpora(cfg: dict) -> list[Corpus]:
    """The corpora a configuration's study runs on, in this order (``study.motion_only``, ``study.twins``):

    1. the motion-only corpora (one shared face; subjects differ only in how they move), first: the
       model's own positive control at the profile's scale, so every later verdict is read against it
       (``mlib.experiments.controls.model_check``) and a study that cannot learn a movement identity shows it first.
       Synthetic data: one per database (``<root>-motion-only``); real data: one synthetic corpus in the
       first database's layout under ``study.motion_control_root``, written by notebook 01;
    2. per database its corpus and, on synthetic data, its twins corpus.
    """
    study = cfg["study"]
    synthetic = study["data"] == "synthetic"
    found = []
    if study["motion_only"]:
        found += (
            [Corpus(d, f"{study['roots'][d]}-{MOTION_ONLY}", MOTION_ONLY) for d in study["datasets"]]
            if synthetic
            else [Corpus(study["datasets"][0], motion_control_root(cfg), MOTION_ONLY)]
        )
    for dataset in study["datasets"]:
        root = study["roots"][dataset]
        found.append(Corpus(dataset, root))
        if synthetic and study["twins"]:
            found.append(Corpus(dataset, f"{root}-{TWINS}", TWINS))
    return found


def motion_control_root(cfg: dict) -> str:
    """Real data: the root of the synthetic motion-only corpus of the first database's layout."""
    return f"{cfg['study']['motion_control_root']}/{cfg['study']['datasets'][0]}-{MOTION_ONLY}"


def is_synthetic(cfg: dict, variant: Corpus) -> bool:
    """Whether a corpus is generated: every corpus of a synthetic study, and the motion-only control of a real one."""
    return cfg["study"]["data"] == "synthetic" or variant.mode == MOTION_ONLY


def control_variants(cfg: dict) -> list[str]:
    """``controls.variants``, checked against ``mlib.experiments.controls.VARIANTS`` (and ``split.repeats`` against a
    protocol that has one split only)."""
    chosen = list(cfg["controls"]["variants"])
    unknown = [name for name in chosen if name not in controls.VARIANTS]
    if unknown or not chosen:
        raise mconfig.ConfigError(f"controls.variants: expected some of {', '.join(controls.VARIANTS)}, got {chosen}")
    if cfg["split"]["protocol"] == "kay2023-original" and cfg["split"]["repeats"] != 1:
        raise mconfig.ConfigError(
            f"split.repeats: kay2023-original is the original's one split; set 1, not {cfg['split']['repeats']}"
        )
    return chosen


def controls_scope(cfg: dict) -> str:
    """The sentence the controls page prints about what its profile trained and what it left out."""
    chosen, repeats = control_variants(cfg), cfg["split"]["repeats"]
    left_out = [name for name in controls.VARIANTS if name not in chosen]
    seeds = f"{repeats} split seed{'s' if repeats > 1 else ''} ({cfg['split']['protocol']}, from seed {cfg['split']['seed']})"
    cut = (
        f"This profile leaves out {', '.join(left_out)} (`controls.variants`)"
        if left_out
        else "This profile trains every variant"
    )
    spread = "" if repeats > 1 else "; with one split there is no spread over splits (`split.repeats`)"
    return f"Variants trained: {', '.join(chosen)}, each on {seeds}. {cut}{spread}."


def repeated_splits(cfg: dict, cache: str | Path) -> list[str]:
    """The split files of seeds ``split.seed .. + split.repeats - 1`` on ``cache`` (the first is notebook
    01's): the headline runs (Table 1's and the controls) are trained on each."""
    split = cfg["split"]
    return [
        str(path)
        for path in write_splits(
            cache,
            split["protocol"],
            test_size=split["test_size"],
            val_size=split["val_size"],
            seed=split["seed"],
            repeats=cfg["split"]["repeats"],
        )
    ]


def positive_control(cfg: dict, variant: Corpus) -> float | None:
    """The truth-parameter control's rank-1 on a synthetic corpus (its generator's movement parameters, on
    the study's split protocol and seeds); None on real data, which has no generator truth."""
    if not is_synthetic(cfg, variant):
        return None
    return positive_controls.truth_control(positive_controls.read_truth(variant.root), cfg["split"])["rank1"]


def unseen_corpus_names(cfg: dict) -> list[str]:
    """The corpora of the open-set page (notebook 09): the study's corpora and, on real data with ``unseen.union``
    and two or more databases, their union (``mlib.openset.unseen.UNION``). A real study's synthetic
    motion-only control is the model's check, not a database: the page leaves it out."""
    from mlib.openset.unseen import UNION

    real = cfg["study"]["data"] == "real"
    names = [v.name for v in corpora(cfg) if not (real and v.mode == MOTION_ONLY)]
    if cfg["study"]["data"] == "real" and cfg["unseen"]["union"] and len(cfg["study"]["datasets"]) > 1:
        names.append(UNION)
    return names


def corpus_overrides(cfg: dict, variant: Corpus) -> dict:
    """What every notebook of one corpus is told beyond the profile: the database, its root and, for
    synthetic data, the generator's mode (with ``study.data: synthetic`` for a real study's motion-only
    control, so notebook 01 writes it); once preprocessing ran, its cache and split (``run.*``)."""
    found = {"data.dataset": variant.dataset, "data.root": variant.root}
    if is_synthetic(cfg, variant):
        found["synth.mode"] = variant.mode
    if is_synthetic(cfg, variant) and cfg["study"]["data"] != "synthetic":
        found["study.data"] = "synthetic"
    if "cache" in variant.paths:
        found |= {"run.cache": variant.paths["cache"], "run.split": variant.paths["split"]}
    return found


def table1_overrides(cfg: dict, dataset: str) -> dict:
    """The paper's Table 1 choice for a database (alpha, beta, solver, lr) and, when
    ``study.table1_batch`` is ``paper``, its batch size; otherwise the profile's batch stays."""
    chosen = paper.TABLE1[paper.paper_dataset(dataset)]
    found = {
        "model.alpha": chosen["alpha"],
        "model.beta_inv": chosen["beta_inv"],
        "train.optimizer": chosen["optimizer"],
        "train.lr": chosen["lr"],
    }
    if cfg["study"]["table1_batch"] == "paper":  # else "profile" (config.RULES allows only the two)
        found["train.batch_size"] = chosen["batch_size"]
    return found


def single_run_overrides(cfg: dict, variant: Corpus, runs_dir: str | Path) -> dict:
    """The overrides of notebook 02 (the single run): the corpus's, the paper's Table 1 choice, and
    ``run.out``, the runs folder it shares with the grid (which then finds this run already trained)."""
    return {**corpus_overrides(cfg, variant), **table1_overrides(cfg, variant.dataset), "run.out": str(runs_dir)}


class StudyRunner:
    """Executes the notebooks of one profile, in order, recording what each used in the manifest."""

    def __init__(self, profile: Path, overrides=(), executed_dir: Path = EXECUTED_DIR, force: bool = False):
        self.profile = Path(profile)
        self.name = self.profile.stem
        self.overrides = mconfig.dotted_overrides(overrides)  # --set: passed on to every notebook
        self.cfg = mconfig.resolve(self.profile, self.overrides)
        self.executed_dir = Path(executed_dir)
        self.results = Path(self.cfg["study"]["results"]) / self.name
        self.force = force
        control_variants(self.cfg)  # a wrong controls.variants or split.repeats stops the study before any work
        self.manifest = StudyManifest(
            self.name, str(self.profile), self.cfg["study"]["data"], self.cfg, corpora(self.cfg)
        )
        self._stamps: list[str] = []

    @property
    def corpora(self) -> list[Corpus]:
        return self.manifest.corpora

    @property
    def executed(self) -> list[Path]:
        return [Path(p) for p in self.manifest.executed]

    def run(self) -> list[Path]:
        pages = self.manifest.pages
        pages["motion_budget"] = str(self.results / "budget")
        if self.cfg["study"]["pages"] == "budget":  # profile motion: the sweep alone; the book's other pages stay
            self._notebook("10-motion-budget", None, {}, {"out": pages["motion_budget"]}, self.published_budget)
            notebooks.check_executed(self.executed)
            return self.executed
        for variant in self.corpora:
            self._run_corpus(variant)
        pages.update(controls=str(self.results / "controls"), original_grid=str(self.results / "original-grid"))
        self._notebook(
            "07-controls",
            None,
            {},
            {
                "corpora": self.controls_corpora(),
                "out": pages["controls"],
                "motion_features_dir": self.motion_features_dir(),
            },
            self.published_budget,  # its model check reads the learning-budget study's verdict
        )
        grids = [v.paths["grid"] for v in self.corpora if "grid" in v.paths]
        self._notebook("08-original-grid", None, {}, {"grid_dirs": grids, "out": pages["original_grid"]})
        pages["unseen"] = str(self.results / "unseen")
        self._notebook("09-unseen", None, {}, {"corpora": self.unseen_corpora(), "out": pages["unseen"]})
        self._notebook("10-motion-budget", None, {}, {"out": pages["motion_budget"]}, self.published_budget)
        self._notebook("00-results", None, {}, {"study_file": str(self.results / "study.json")})
        notebooks.check_executed(self.executed)
        for stale in set(self.executed_dir.glob("*.ipynb")) - set(self.executed):
            stale.unlink()  # a page of another profile's run: the book shows only this run
        return self.executed

    def _run_corpus(self, variant: Corpus) -> None:
        """The notebooks of one corpus; each result folder is recorded in the manifest before it is made."""
        out, paths = self.results / variant.name, variant.paths
        paths["preprocess"] = str(out / "preprocess")
        self._notebook("01-preprocess", variant, corpus_overrides(self.cfg, variant), {"out_dir": paths["preprocess"]})
        recorded = json.loads((out / "preprocess" / "data.json").read_text())
        paths.update(cache=recorded["cache"], split=recorded["split"])
        paths["splits"] = repeated_splits(self.resolved(corpus_overrides(self.cfg, variant)), paths["cache"])
        if paths["splits"][0] != paths["split"]:
            raise RuntimeError(
                f"{variant.name}: split seeds start at {paths['splits'][0]}, not notebook 01's {paths['split']}"
            )
        runs_dir = out / "runs"  # shared with the grid, which then finds the single run already trained
        paths["runs"] = str(runs_dir)
        single = single_run_overrides(self.cfg, variant, runs_dir)
        paths.update(train=str(run_folder(self.resolved(single))), baseline=str(out / "baseline"))
        self._notebook("02-train", variant, single, {})
        corpus = corpus_overrides(self.cfg, variant)
        self._notebook("03-baseline", variant, corpus, {"out": paths["baseline"]})
        if variant.mode != "identity":
            return
        paths.update(grid=str(runs_dir), ensemble=str(out / "ensemble"), gradcam=str(out / "gradcam"))
        self._notebook("04-grid-search", variant, corpus, {"out": paths["grid"]})
        self._notebook(
            "05-ensemble",
            variant,
            corpus,
            {"grid_dir": paths["grid"], "out": paths["ensemble"], "splits": paths["splits"], "runs_dir": paths["runs"]},
        )
        self._notebook("06-gradcam", variant, corpus, {"run": paths["train"], "out": paths["gradcam"]})

    def controls_corpora(self) -> dict:
        """Notebook 07's ``corpora``: per corpus its cache, split seeds, runs folder, Table 1 choice and positive
        control. Checks that the ``clip`` variant on the first split is notebook 02's run (so it is reused)."""
        corpora = {}
        for variant in self.corpora:
            paths = variant.paths
            table1 = table1_overrides(self.cfg, variant.dataset)
            clip = controls.variant_config(
                self.resolved(table1), "clip", paths["cache"], paths["splits"][0], paths["runs"]
            )
            if str(run_folder(clip)) != paths["train"]:
                raise RuntimeError(
                    f"{variant.name}: the controls' clip run {run_folder(clip)} is not notebook 02's "
                    f"{paths['train']}; it would be trained twice"
                )
            corpora[variant.name] = {
                "cache": paths["cache"],
                "split": paths["splits"],
                "runs_dir": paths["runs"],
                "overrides": {**table1, "data.dataset": variant.dataset},
                "positive_control": positive_control(self.cfg, variant),
            }
            if variant.mode == TWINS:  # the generator's truth names each subject's face group
                corpora[variant.name]["twins"] = {"truth": variant.root, "twin_group": self.cfg["synth"]["twin_group"]}
        return corpora

    def unseen_corpora(self) -> dict:
        """Notebook 09's ``corpora``: the controls page's (so its runs are reused) with each corpus's root and mode;
        on real data with ``unseen.union``, the union of the databases too (built by the page)."""
        from mlib.openset.unseen import UNION

        names = unseen_corpus_names(self.cfg)
        corpora = {name: found for name, found in self.controls_corpora().items() if name in names}
        for variant in self.corpora:
            if variant.name in corpora:
                corpora[variant.name] |= {"root": variant.root, "mode": variant.mode}
        if UNION in names:
            corpora[UNION] = {
                "union_of": list(self.cfg["study"]["datasets"]),
                "mode": "identity",
                "runs_dir": str(self.results / UNION / "runs"),
                "overrides": {},
            }
        return corpora

    @property
    def published_budget(self) -> list[str]:
        """The committed learning-budget table (``budget.published``) that pages 07 and 10 read: a page that
        reads it re-executes when ``make motion`` rewrites it. None where page 10 trains the sweep and writes it."""
        return [] if self.cfg["budget"]["train"] else [self.cfg["budget"]["published"]]

    def motion_features_dir(self) -> str | None:
        """Where notebook 07 writes the motion-only corpora of its knob table's motion-feature columns
        (``positive_controls.measure``): beside the study's synthetic corpora; None on real data."""
        if self.cfg["study"]["data"] != "synthetic":
            return None
        return str(Path(self.corpora[0].root).parent / "positive-controls")

    def resolved(self, overrides: dict) -> dict:
        """The configuration a notebook given ``overrides`` resolves (the ``--set`` ones come first)."""
        return mconfig.resolve(self.profile, {**self.overrides, **overrides})

    def parameters(self, overrides: dict, paths: dict) -> dict:
        """A notebook's parameters: this profile, the ``--set`` overrides with the page's, and its paths."""
        return {"profile": str(self.profile), "overrides": {**self.overrides, **overrides}, **paths}

    def _notebook(self, stem: str, variant: Corpus | None, overrides: dict, paths: dict, inputs=()) -> None:
        """Execute one page unless it is up to date (``inputs``: files it reads that no earlier page wrote)."""
        name = stem if variant is None else f"{stem}-{variant.name}"
        executed = self.executed_dir / f"{name}.ipynb"
        print(f"[study {self.name}] {name}", flush=True)
        self._write_manifest()
        stamp, ran = notebooks.execute(
            NOTEBOOK_DIR / f"{stem}.py",
            executed,
            self.parameters(overrides, paths),
            upstream=self._stamps,
            inputs=inputs,
            force=self.force,
            title_suffix="" if variant is None else f": {variant.name}",
        )
        print(f"[study {self.name}] {name}: {'executed' if ran else 'up to date'}", flush=True)
        self._stamps.append(stamp)
        self.manifest.executed.append(str(executed))
        self._write_manifest()

    def _write_manifest(self) -> None:
        self.manifest.write(self.results / "study.json")


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
