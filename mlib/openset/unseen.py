"""People the network never saw: the open-set measures of a study's runs and baselines (compute only).

Two ways to get people a network never saw, one per kind of data:

- **synthetic** (``study.data: synthetic``): the trained runs are reused. The
  generator draws every subject from its own seeded streams keyed by the
  subject's number, so numbers after a corpus's own subjects are new people of
  the same population, room and (motion-only) shared face. The *unseen corpus*
  holds ``study.open_set.unseen_subjects`` of them (from the first number past
  the corpus's subjects that starts a whole twin group), ``unseen_clips``
  clips each, prepared exactly as the training cache. The runs of the controls
  page (each variant, first split seed) embed it; they never trained on any of
  these people. Folds rotate who is never enrolled and which clips enrol
  (:func:`mlib.openset.protocol.unseen_corpus_split`); no run is trained.
- **real** (``study.data: real``): no new people can be drawn, so each database
  (and, with ``study.open_set.union``, their union) is cut into the open-set
  protocol's folds over subjects (``split.open_set``) and every variant is
  trained on every fold's training subjects (:func:`plan` lists those runs).

Aggregation over folds: a measure is the mean of its per-fold values; its 95 %
interval resamples probe subjects (each drawn subject brings its probe clips in
every fold) and recomputes that fold mean (``fold_mean_measures``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

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
    wider = {**synth_cfg, "subjects": first - 1 + subjects, "clips_per_subject": clips, "single_clip_subjects": 0,
             "inventory": "none"}
    specs, _, _ = configured_specs(layout, wider)
    return [s for s in specs if int(s.subject) >= first]


def write_unseen_corpus(root: str | Path, layout: str, synth_cfg: Mapping, subjects: int, clips: int,
                        workers: int = 2) -> Path:
    """Render the unseen corpus under ``root`` (a no-op when it already holds these specs)."""
    from mlib.synth.layouts import write_corpus

    settings = {"unseen_after": {k: synth_cfg[k] for k in ("subjects", "single_clip_subjects", "twin_group")},
                "unseen_subjects": subjects, "clips_per_subject": clips, "mode": synth_cfg["mode"],
                "seed": synth_cfg["seed"]}
    return write_corpus(root, layout, unseen_specs(layout, synth_cfg, subjects, clips), workers=workers,
                        progress=False, settings=settings)


def prepare_like(clips: pd.DataFrame, training_cache: str | Path, cache_dir: str | Path, root: str | Path,
                 pad: str, workers: int = 2) -> Path:
    """Prepare ``clips`` with the training cache's own window, face size, margin, crop and apex rule."""
    from mlib.data import read_cache_settings
    from mlib.preprocess import prepare_cache

    made = read_cache_settings(training_cache)
    return prepare_cache(clips, cache_dir, dataset=made["dataset"], root=root, window=made["window"],
                         face_size=made["face_size"], margin=made["margin"], cropped=made["cropped"],
                         apex_rule=made["apex_rule"], pad=pad, workers=workers, progress=False)


def fold_scores(x: np.ndarray, split: pd.DataFrame) -> dict:
    """Probes x enrolled templates (cosine) of one fold; ``x`` rows in ``split``'s order."""
    enrol, probe = (split["part"] == "enrol").to_numpy(), (split["part"] == "probe").to_numpy()
    gallery, names = templates(x[enrol], split.loc[enrol, "subject"])
    return {"scores": cosine_scores(x[probe], gallery), "probe_subjects": split.loc[probe, "subject"].to_numpy(str),
            "gallery_subjects": names}


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
            per_fold.append(point_measures(fold["scores"][mine], fold["probe_subjects"][mine], fold["gallery_subjects"]))
        return {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}

    pairs = [verification_pairs(f["scores"], f["probe_subjects"], f["gallery_subjects"]) for f in folds]
    genuine, scores = np.concatenate([g for g, _ in pairs]), np.concatenate([s for _, s in pairs])
    return {"measures": measure(np.arange(len(probes))),
            "intervals": subject_bootstrap(measure, probes, n_boot=n_boot, seed=seed),
            "curves": {"roc": roc(genuine, scores), "det": det(genuine, scores)}, "folds": len(folds)}


def measures_row(corpus: str, method: str, kind: str, found: Mapping) -> dict:
    """One tidy row: the fold-mean measures with their interval bounds (``<measure>_low``/``_high``)."""
    row = {"corpus": corpus, "method": method, "kind": kind, "folds": found["folds"]}
    for name in MEASURES:
        low, high = found["intervals"][name]
        row |= {name: found["measures"][name], f"{name}_low": low, f"{name}_high": high}
    return row


def unseen_splits(clips: pd.DataFrame, cfg: Mapping) -> list[pd.DataFrame]:
    """Every fold of an unseen corpus (``split.open_set``: folds, enrol_clips, never_enrolled; ``split.seed``)."""
    from mlib.openset.protocol import unseen_corpus_split

    settings = cfg["split"]["open_set"]
    return [unseen_corpus_split(clips, seed=cfg["split"]["seed"], fold=f, folds=settings["folds"],
                                enrol_clips=settings["enrol_clips"], never_enrolled=settings["never_enrolled"])
            for f in range(settings["folds"])]


def score_folds(x: np.ndarray, keys: Sequence[str], splits: Sequence[pd.DataFrame], n_boot: int, seed: int = 0) -> dict:
    """:func:`fold_mean_measures` of embeddings ``x`` (rows = ``keys``) on every fold."""
    position = {k: i for i, k in enumerate(keys)}
    folds = [fold_scores(x[[position[k] for k in split["clip_key"]]], split) for split in splits]
    return fold_mean_measures(folds, n_boot=n_boot, seed=seed)


def variant_run(cfg: Mapping, corpus: Mapping, variant: str) -> Path:
    """The controls page's run of ``variant`` on a corpus's first split seed (reused; trained if absent)."""
    from mlib.config import resolve
    from mlib.controls import variant_config
    from mlib.train import train

    splits = corpus["split"] if isinstance(corpus["split"], (list, tuple)) else [corpus["split"]]
    run_cfg = variant_config(resolve(dict(cfg), corpus.get("overrides") or {}), variant, corpus["cache"], splits[0],
                             corpus["runs_dir"])
    return train(run_cfg, progress=False, log=False)


def evaluate_synthetic(cfg: Mapping, corpora: Mapping[str, Mapping], out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The synthetic page's measures: per corpus (``name -> {cache, split, runs_dir, overrides, root, mode}``)
    its unseen corpus rendered and prepared, each ``study.open_set.variants`` run and (identity corpora only)
    each ``study.open_set.features`` baseline scored over the folds. Writes ``out/unseen-measures.csv`` and
    ``out/unseen-corpora.csv``; returns both tables and the curves ``{(corpus, method): {roc, det}}``."""
    from mlib.baseline import feature_set_matrix
    from mlib.datasets import load_dataset
    from mlib.io import write_csv
    from mlib.openset.scores import TRAINING_PARTS, run_embeddings
    from mlib.preprocess import load_index
    from mlib.preprocess.window import pad_rule
    from mlib.splits import load_split

    settings, rows, curves, sizes = cfg["study"]["open_set"], [], {}, []
    for name, corpus in corpora.items():
        synth_cfg = {**cfg["synth"], "mode": corpus["mode"]}
        root = f"{corpus['root']}-unseen"
        write_unseen_corpus(root, synth_cfg["layout"], synth_cfg, settings["unseen_subjects"], settings["unseen_clips"],
                            workers=cfg["prepare"]["workers"])
        clips = load_dataset(cfg["data"]["dataset"], root, apex_rule=cfg["data"]["apex_rule"]).clips
        cache = prepare_like(clips, corpus["cache"], cfg["prepare"]["cache_dir"], root,
                             pad_rule(cfg["prepare"]["pad"], cfg["split"]["protocol"]), cfg["prepare"]["workers"])
        keys = list(load_index(cache)["clip_key"])
        splits = unseen_splits(load_index(cache), cfg)
        sizes.append({"corpus": name, "unseen_root": root, "unseen_cache": str(cache), "subjects": len(set(clips["subject"])),
                      "clips": len(keys), "first_subject": first_unseen_number(synth_cfg), "folds": len(splits)})
        for variant in settings["variants"]:
            found = score_folds(run_embeddings(variant_run(cfg, corpus, variant), keys, cache=cache), keys, splits,
                                settings["bootstrap"])
            rows.append(measures_row(name, variant, "slowfast", found))
            curves[(name, variant)] = found["curves"]
        if corpus["mode"] != "identity":
            continue
        training = load_split(corpus["split"][0] if isinstance(corpus["split"], (list, tuple)) else corpus["split"])
        training_keys = list(training.loc[training["part"].isin(TRAINING_PARTS), "clip_key"])
        for features in settings["features"]:
            x_train, _ = feature_set_matrix(corpus["cache"], training_keys, features, workers=cfg["prepare"]["workers"],
                                            progress=False)
            x, _ = feature_set_matrix(cache, keys, features, workers=cfg["prepare"]["workers"], progress=False)
            found = score_folds(standardiser(x_train)(x), keys, splits, settings["bootstrap"])
            rows.append(measures_row(name, features, "baseline", found))
            curves[(name, features)] = found["curves"]
    table, sizes = pd.DataFrame(rows), pd.DataFrame(sizes)
    write_csv(Path(out) / "unseen-measures.csv", table)
    write_csv(Path(out) / "unseen-corpora.csv", sizes)
    return table, sizes, curves


def shown_measures(table: pd.DataFrame) -> pd.DataFrame:
    """The page's table: one row per corpus and method, each measure as ``value (low to high)``."""
    shown = table[["corpus", "method", "kind"]].copy()
    for name in MEASURES:
        shown[name.replace("_", " ")] = [f"{v:.3f} ({lo:.3f} to {hi:.3f})" for v, lo, hi in
                                         zip(table[name], table[f"{name}_low"], table[f"{name}_high"])]
    return shown


def scope(cfg: Mapping) -> str:
    """What this profile scores on unseen people and what it leaves out (the page's sentence on its cuts)."""
    from mlib.controls import VARIANTS

    settings, protocol = cfg["study"]["open_set"], cfg["split"]["open_set"]
    left = [v for v in VARIANTS if v not in settings["variants"]]
    return (f"Per corpus {settings['unseen_subjects']} unseen people of {settings['unseen_clips']} clips each, "
            f"{protocol['enrol_clips']} clips enrolled per person, a share {protocol['never_enrolled']:g} never "
            f"enrolled, {protocol['folds']} folds; {runs_trained(plan(cfg))} networks trained for this page (the "
            f"controls page's runs are reused, so the training people are the corpus's own "
            f"{cfg['synth']['subjects']}); {settings['bootstrap']} subject resamples per interval. Left out: the "
            f"variants {', '.join(left) or 'none'} (`study.open_set.variants`), baselines on the motion-only and "
            f"twins corpora, and retraining per fold over subjects (the full profile's way).")


def corpus_names(cfg: Mapping) -> list[str]:
    """The corpora the open-set page scores: the study's corpora and, on real data with
    ``study.open_set.union`` and two or more databases, their union."""
    from mlib.study import variants

    names = [v.name for v in variants(dict(cfg))]
    if cfg["study"]["data"] == "real" and cfg["study"]["open_set"]["union"] and len(cfg["study"]["datasets"]) > 1:
        names.append(UNION)
    return names


def plan(cfg: Mapping) -> pd.DataFrame:
    """What the open-set page runs: one row per corpus x fold x variant, whether its run is ``reused`` (synthetic:
    the controls page's run, the unseen corpus new people) or ``trained`` on the fold's training subjects (real)."""
    settings, folds = cfg["study"]["open_set"], cfg["split"]["open_set"]["folds"]
    not_trained = [v for v in settings["variants"] if v not in cfg["study"]["controls"]]
    if cfg["study"]["data"] == "synthetic" and not_trained:
        from mlib.config import ConfigError

        raise ConfigError(f"study.open_set.variants: {', '.join(not_trained)} not in study.controls; the synthetic "
                          "page reuses the controls' runs and trains none")
    source = "reused" if cfg["study"]["data"] == "synthetic" else "trained"
    rows = [{"corpus": corpus, "fold": fold, "variant": variant, "run": source}
            for corpus in corpus_names(cfg) for fold in range(folds) for variant in settings["variants"]]
    return pd.DataFrame(rows, columns=["corpus", "fold", "variant", "run"])


def runs_trained(table: pd.DataFrame) -> int:
    """How many distinct runs a plan trains: one per corpus, fold and variant marked ``trained``."""
    trained = table[table["run"] == "trained"]
    return int(len(trained[["corpus", "fold", "variant"]].drop_duplicates()))


CLIP_BETTER = "the clip verifies unseen people better than one frame"
FRAME_BETTER = "one frame verifies unseen people better than the clip"
TIED = "the clip and one frame cannot be told apart"
NOT_MEASURED = "not measured (no one-frame variant in study.open_set.variants)"


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
