"""People the network never saw: the open-set measures of a study's runs and baselines (compute only).

Two ways to get people a network never saw, one per kind of data:

- **synthetic** (``study.data: synthetic``): the trained runs are reused. The
  generator draws every subject from its own seeded streams keyed by the
  subject's number, so numbers after a corpus's own subjects are new people of
  the same population, room and (motion-only) shared face. The *unseen corpus*
  holds ``unseen.people`` of them (from the first number past
  the corpus's subjects that starts a whole twin group), ``unseen.clips``
  clips each, prepared exactly as the training cache. The runs of the controls
  page (each variant, first split seed) embed it; they never trained on any of
  these people. Folds rotate who is never enrolled and which clips enrol
  (:func:`mlib.preprocess.open_set_split.unseen_corpus_split`); no run is trained.
- **real** (``study.data: real``): no new people can be drawn, so each database
  (and, with ``unseen.union``, their union) is cut into the open-set
  protocol's folds over subjects (``split.open_set``) and every variant is
  trained on every fold's training subjects (:func:`plan` lists those runs).

Aggregation over folds: a measure is the mean of its per-fold values; its 95 %
interval resamples probe subjects (each drawn subject brings its probe clips in
every fold) and recomputes that fold mean (``fold_mean_measures``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlib.openset.measures import det, point_measures, roc, subject_bootstrap, verification_pairs
from mlib.openset.scores import cosine_scores, standardiser, templates

UNION = "union"
MEASURES = ("eer", "fnmr_at_fmr_0.01", "fnmr_at_fmr_0.1", "dir_at_fpir_0.01", "dir_at_fpir_0.1", "rank1")


def first_unseen_number(synth_cfg: Mapping) -> int:
    """The first generator number past a corpus's subjects (single-clip ones included) that starts a whole
    twin group, so an unseen twins corpus never splits a pair and shares no face with the trained one."""
    group = int(synth_cfg["twin_group"])
    after = int(synth_cfg["subjects"]) + int(synth_cfg["single_clip_subjects"]) + 1
    return after + (-(after - 1)) % group


def unseen_specs(layout: str, synth_cfg: Mapping, subjects: int, clips: int) -> list:
    """The clip specs of ``subjects`` new people, ``clips`` clips each, drawn by ``synth_cfg``'s generator
    (its mode, seed and knobs) after the corpus's own subjects: nothing rendered."""
    from mlib.synth.layouts import configured_specs

    first = first_unseen_number(synth_cfg)
    wider = {
        **synth_cfg,
        "subjects": first - 1 + subjects,
        "clips_per_subject": clips,
        "single_clip_subjects": 0,
        "inventory": "none",
    }
    specs, _, _ = configured_specs(layout, wider)
    return [s for s in specs if int(s.subject) >= first]


def write_unseen_corpus(
    root: str | Path, layout: str, synth_cfg: Mapping, subjects: int, clips: int, workers: int = 2
) -> Path:
    """Render the unseen corpus under ``root`` (a no-op when it already holds these specs)."""
    from mlib.synth.layouts import write_corpus

    settings = {
        "unseen_after": {k: synth_cfg[k] for k in ("subjects", "single_clip_subjects", "twin_group")},
        "unseen_subjects": subjects,
        "clips_per_subject": clips,
        "mode": synth_cfg["mode"],
        "seed": synth_cfg["seed"],
    }
    return write_corpus(
        root,
        layout,
        unseen_specs(layout, synth_cfg, subjects, clips),
        workers=workers,
        progress=False,
        settings=settings,
    )


def prepare_like(
    clips: pd.DataFrame, training_cache: str | Path, cache_dir: str | Path, root: str | Path, pad: str, workers: int = 2
) -> Path:
    """Prepare ``clips`` with the training cache's own window, face size, margin, crop and apex rule."""
    from mlib.preprocess import prepare_cache
    from mlib.preprocess.cache_settings import read_cache_settings

    made = read_cache_settings(training_cache)
    return prepare_cache(
        clips,
        cache_dir,
        dataset=made["dataset"],
        root=root,
        window=made["window"],
        face_size=made["face_size"],
        margin=made["margin"],
        cropped=made["cropped"],
        apex_rule=made["apex_rule"],
        pad=pad,
        workers=workers,
        progress=False,
    )


def in_split(x: np.ndarray, keys: Sequence[str], split: pd.DataFrame) -> np.ndarray:
    """The rows of ``x`` (one per clip of ``keys``) in ``split``'s order."""
    position = {k: i for i, k in enumerate(keys)}
    return x[[position[k] for k in split["clip_key"]]]


def fold_scores(x: np.ndarray, split: pd.DataFrame) -> dict:
    """Probes x enrolled templates (cosine) of one fold; ``x`` rows in ``split``'s order."""
    enrol, probe = (split["part"] == "enrol").to_numpy(), (split["part"] == "probe").to_numpy()
    gallery, names = templates(x[enrol], split.loc[enrol, "subject"])
    return {
        "scores": cosine_scores(x[probe], gallery),
        "probe_subjects": split.loc[probe, "subject"].to_numpy(str),
        "gallery_subjects": names,
    }


def fold_mean_measures(folds: Sequence[Mapping], n_boot: int = 200, seed: int = 0) -> dict:
    """Each measure's mean over folds, its 95 % interval (probe subjects resampled, each bringing its probes of
    every fold; the fold mean recomputed per resample), the per-fold values, and the ROC/DET of the folds'
    verification pairs pooled."""
    probes = np.concatenate([f["probe_subjects"] for f in folds])
    bounds = np.cumsum([0] + [len(f["probe_subjects"]) for f in folds])

    def measure(rows: np.ndarray) -> dict[str, float]:
        per_fold = []
        for fold, start, stop in zip(folds, bounds[:-1], bounds[1:]):
            mine = rows[(rows >= start) & (rows < stop)] - start
            per_fold.append(
                point_measures(fold["scores"][mine], fold["probe_subjects"][mine], fold["gallery_subjects"])
            )
        return {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}

    pairs = [verification_pairs(f["scores"], f["probe_subjects"], f["gallery_subjects"]) for f in folds]
    genuine, scores = np.concatenate([g for g, _ in pairs]), np.concatenate([s for _, s in pairs])
    return {
        "measures": measure(np.arange(len(probes))),
        "intervals": subject_bootstrap(measure, probes, n_boot=n_boot, seed=seed),
        "curves": {"roc": roc(genuine, scores), "det": det(genuine, scores)},
        "folds": len(folds),
    }


def measures_row(corpus: str, method: str, kind: str, found: Mapping) -> dict:
    """One tidy row: the fold-mean measures with their interval bounds (``<measure>_low``/``_high``)."""
    row = {"corpus": corpus, "method": method, "kind": kind, "folds": found["folds"]}
    for name in MEASURES:
        low, high = found["intervals"][name]
        row |= {name: found["measures"][name], f"{name}_low": low, f"{name}_high": high}
    return row


def unseen_splits(clips: pd.DataFrame, cfg: Mapping) -> list[pd.DataFrame]:
    """Every fold of an unseen corpus (``split.open_set``: folds, enrol_clips, never_enrolled; ``split.seed``)."""
    from mlib.preprocess.open_set_split import unseen_corpus_split

    settings = cfg["split"]["open_set"]
    return [
        unseen_corpus_split(
            clips,
            seed=cfg["split"]["seed"],
            fold=f,
            folds=settings["folds"],
            enrol_clips=settings["enrol_clips"],
            never_enrolled=settings["never_enrolled"],
        )
        for f in range(settings["folds"])
    ]


def fold_splits(cache: str | Path, cfg: Mapping) -> list[str]:
    """The open-set protocol's folds over the subjects of a (real or union) cache, written beside it, with this
    configuration's ``split.open_set`` (not the defaults')."""
    from mlib.preprocess.open_set_split import write_open_set_splits

    return [
        str(p)
        for p in write_open_set_splits(
            cache, seed=cfg["split"]["seed"], val_size=cfg["split"]["val_size"], settings=cfg["split"]["open_set"]
        )
    ]


def variant_run(cfg: Mapping, corpus: Mapping, variant: str, split: str | Path) -> Path:
    """The run of ``variant`` on a corpus's ``split``: reused when finished (the controls page's), else trained."""
    from mlib.core.config import resolve
    from mlib.experiments.controls import variant_config
    from mlib.training.train import train

    run_cfg = variant_config(
        resolve(dict(cfg), corpus.get("overrides") or {}), variant, corpus["cache"], split, corpus["runs_dir"]
    )
    return train(run_cfg, progress=False, log=False)


def baseline_folds(
    cfg: Mapping, features: str, cache, keys: Sequence[str], splits: Sequence[pd.DataFrame], training: tuple
) -> list[dict]:
    """A baseline's per-fold scores: its vectors standardised by the training people's clips (``training``:
    their cache and keys; None: each fold's own ``train``/``val`` clips)."""
    from mlib.experiments.baseline import feature_set_matrix
    from mlib.openset.scores import TRAINING_PARTS

    def vectors(where, which):
        return feature_set_matrix(where, list(which), features, workers=cfg["prepare"]["workers"], progress=False)[0]

    x = vectors(cache, keys)
    fixed = None if training is None else standardiser(vectors(*training))
    folds = []
    for split in splits:
        rows = in_split(x, keys, split)
        scale = fixed or standardiser(rows[split["part"].isin(TRAINING_PARTS).to_numpy()])
        folds.append(fold_scores(scale(rows), split))
    return folds


def evaluate(cfg: Mapping, corpora: Mapping[str, Mapping], out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The page's measures: per corpus each ``unseen.variants`` run and (identity corpora) each
    ``unseen.features`` baseline, over the folds. ``corpora``: name -> ``{cache, split, runs_dir,
    overrides, root, mode}`` (the controls page's, plus root and mode); on real data a corpus ``union`` with
    ``union_of`` (databases) instead of ``cache`` is built by :func:`union_corpus`. Synthetic corpora are
    scored on their unseen corpus (module docstring), real ones on folds over their subjects. Writes
    ``out/unseen-measures.csv`` and ``out/unseen-corpora.csv``; returns both tables and the curves
    ``{(corpus, method): {roc, det}}``."""
    from mlib.core.io import write_csv
    from mlib.openset.scores import TRAINING_PARTS, run_embeddings
    from mlib.preprocess import load_index
    from mlib.preprocess.splits import load_split

    settings, rows, curves, sizes = cfg["unseen"], [], {}, []
    synthetic = cfg["study"]["data"] == "synthetic"
    for name, corpus in corpora.items():
        if "union_of" in corpus:
            corpus = {**corpus, "cache": str(union_corpus(cfg, corpus["union_of"]))}
        if synthetic:
            cache, first = unseen_cache(cfg, corpus)
            split_files = [corpus["split"][0] if isinstance(corpus["split"], (list, tuple)) else corpus["split"]]
            splits = unseen_splits(load_index(cache), cfg)
        else:
            cache, first = corpus["cache"], None
            split_files = fold_splits(cache, cfg)
            splits = [load_split(f) for f in split_files]
        index = load_index(cache)
        sizes.append(
            {
                "corpus": name,
                "cache": str(cache),
                "subjects": index["subject"].nunique(),
                "clips": len(index),
                "first_subject": first,
                "folds": len(splits),
            }
        )
        scored = {}
        keys = list(index["clip_key"])
        for variant in settings["variants"]:
            runs = [variant_run(cfg, corpus, variant, f) for f in split_files]
            embedded = {run: run_embeddings(run, keys, cache=cache) for run in runs}  # synthetic: one run, all folds
            scored[(variant, "slowfast")] = [
                fold_scores(in_split(embedded[run], keys, split), split)
                for run, split in zip(runs * len(splits) if synthetic else runs, splits)
            ]
        if corpus["mode"] == "identity":
            trained = load_split(split_files[0])
            training = (
                (corpus["cache"], trained.loc[trained["part"].isin(TRAINING_PARTS), "clip_key"]) if synthetic else None
            )
            for features in settings["features"]:
                scored[(features, "baseline")] = baseline_folds(cfg, features, cache, keys, splits, training)
        for (method, kind), folds in scored.items():
            found = fold_mean_measures(folds, n_boot=settings["bootstrap"])
            rows.append(measures_row(name, method, kind, found))
            curves[(name, method)] = found["curves"]
    table, sizes = pd.DataFrame(rows), pd.DataFrame(sizes)
    write_csv(Path(out) / "unseen-measures.csv", table)
    write_csv(Path(out) / "unseen-corpora.csv", sizes)
    return table, sizes, curves


def unseen_cache(cfg: Mapping, corpus: Mapping) -> tuple[Path, int]:
    """A synthetic corpus's unseen people rendered (under ``<root>-unseen``) and prepared like its training
    cache; returns the cache and the generator number of the first unseen person."""
    from mlib.datasets import load_dataset
    from mlib.datasets.window import pad_rule

    settings = cfg["unseen"]
    synth_cfg = {**cfg["synth"], "mode": corpus["mode"]}
    root = f"{corpus['root']}-unseen"
    write_unseen_corpus(
        root, synth_cfg["layout"], synth_cfg, settings["people"], settings["clips"], workers=cfg["prepare"]["workers"]
    )
    clips = load_dataset(cfg["data"]["dataset"], root, apex_rule=cfg["data"]["apex_rule"]).clips
    cache = prepare_like(
        clips,
        corpus["cache"],
        cfg["prepare"]["cache_dir"],
        root,
        pad_rule(cfg["prepare"]["pad"], cfg["split"]["protocol"]),
        cfg["prepare"]["workers"],
    )
    return cache, first_unseen_number(synth_cfg)


def union_corpus(cfg: Mapping, databases: Sequence[str]) -> Path:
    """The union of ``databases`` (their ``study.roots``), each prepared at ``unseen.union_face_size``
    so one batch can mix them, as one cache (:func:`mlib.preprocess.union.union_cache`)."""
    from mlib.datasets import load_dataset
    from mlib.datasets.window import pad_rule
    from mlib.preprocess import prepare_cache
    from mlib.preprocess.union import union_cache

    data, prepare = cfg["data"], cfg["prepare"]
    parts = {}
    for dataset in databases:
        root = cfg["study"]["roots"][dataset]
        clips = load_dataset(dataset, root, apex_rule=data["apex_rule"], cropped=data["cropped"]).clips
        parts[dataset] = prepare_cache(
            clips,
            prepare["cache_dir"],
            dataset=dataset,
            root=root,
            window=prepare["window"],
            face_size=cfg["unseen"]["union_face_size"],
            margin=prepare["margin"],
            cropped=data["cropped"],
            apex_rule=data["apex_rule"],
            pad=pad_rule(prepare["pad"], cfg["split"]["protocol"]),
            workers=prepare["workers"],
            progress=False,
        )
    return union_cache(parts, prepare["cache_dir"])


def shown_measures(table: pd.DataFrame) -> pd.DataFrame:
    """The page's table: one row per corpus and method, each measure as ``value (low to high)``."""
    shown = table[["corpus", "method", "kind"]].copy()
    for name in MEASURES:
        shown[name.replace("_", " ")] = [
            f"{v:.3f} ({lo:.3f} to {hi:.3f})"
            for v, lo, hi in zip(table[name], table[f"{name}_low"], table[f"{name}_high"])
        ]
    return shown


def scope(cfg: Mapping, corpora: Sequence[str]) -> str:
    """What this profile scores on the unseen people of ``corpora`` and what it leaves out (the page's sentence
    on its cuts)."""
    from mlib.experiments.controls import VARIANTS

    settings, protocol = cfg["unseen"], cfg["split"]["open_set"]
    left = [v for v in VARIANTS if v not in settings["variants"]]
    trained = runs_trained(plan(cfg, corpora))
    if cfg["study"]["data"] == "synthetic":
        people = (
            f"Per corpus {settings['people']} unseen people of {settings['clips']} clips each, "
            f"{protocol['folds']} folds rotating who is never enrolled; {trained} networks trained for this page "
            f"(the controls page's runs are reused, so the training people are the corpus's own "
            f"{cfg['synth']['subjects']})"
        )
        cut = (
            "baselines on the motion-only and twins corpora, and retraining per fold over subjects (the real-data way)"
        )
    else:
        people = (
            f"Per corpus {protocol['folds']} folds over its subjects, each variant trained on every fold's "
            f"training subjects: {trained} networks"
        )
        cut = "nothing else"
    return (
        f"{people}; {protocol['enrol_clips']} clips enrolled per person, a share {protocol['never_enrolled']:g} "
        f"never enrolled; {settings['bootstrap']} subject resamples per interval. Left out: the variants "
        f"{', '.join(left) or 'none'} (`unseen.variants`), {cut}."
    )


def plan(cfg: Mapping, corpora: Sequence[str]) -> pd.DataFrame:
    """What the open-set page runs on ``corpora`` (names; ``mlib.study.runner.unseen_corpus_names``): one row per corpus x
    fold x variant, whether its run is ``reused`` (synthetic: the controls page's run, the unseen corpus new
    people) or ``trained`` on the fold's training subjects (real)."""
    settings, folds = cfg["unseen"], cfg["split"]["open_set"]["folds"]
    not_trained = [v for v in settings["variants"] if v not in cfg["controls"]["variants"]]
    if cfg["study"]["data"] == "synthetic" and not_trained:
        from mlib.core.config import ConfigError

        raise ConfigError(
            f"unseen.variants: {', '.join(not_trained)} not in controls.variants; the synthetic "
            "page reuses the controls' runs and trains none"
        )
    source = "reused" if cfg["study"]["data"] == "synthetic" else "trained"
    rows = [
        {"corpus": corpus, "fold": fold, "variant": variant, "run": source}
        for corpus in corpora
        for fold in range(folds)
        for variant in settings["variants"]
    ]
    return pd.DataFrame(rows, columns=["corpus", "fold", "variant", "run"])


def runs_trained(table: pd.DataFrame) -> int:
    """How many distinct runs a plan trains: one per corpus, fold and variant marked ``trained``."""
    trained = table[table["run"] == "trained"]
    return int(len(trained[["corpus", "fold", "variant"]].drop_duplicates()))


CLIP_BETTER = "the clip verifies unseen people better than one frame"
FRAME_BETTER = "one frame verifies unseen people better than the clip"
TIED = "the clip and one frame cannot be told apart"
NOT_MEASURED = "not measured (no one-frame variant in unseen.variants)"


def compare_eer(table: pd.DataFrame, corpus: str, first: str, second: str) -> str:
    """Whether ``first`` verifies the unseen people of ``corpus`` better (a lower EER) than ``second``: only
    when the two 95 % intervals (probe subjects resampled) do not overlap; otherwise they cannot be told apart."""
    rows = table[table["corpus"] == corpus].set_index("method")
    a, b = rows.loc[first], rows.loc[second]
    if a["eer_high"] < b["eer_low"]:
        return "better"
    if b["eer_high"] < a["eer_low"]:
        return "worse"
    return "tied"


def clip_versus_frame(table: pd.DataFrame, corpus: str, frame: str = "static-apex") -> str:
    """Does the clip verify a corpus's unseen people better than one frame of them (``frame``)? By
    :func:`compare_eer` of ``clip`` against ``frame``: better, worse, or not told apart (not measured when the
    profile scores no ``frame`` variant)."""
    if frame not in set(table.loc[table["corpus"] == corpus, "method"]):
        return NOT_MEASURED
    return {"better": CLIP_BETTER, "worse": FRAME_BETTER, "tied": TIED}[compare_eer(table, corpus, "clip", frame)]
