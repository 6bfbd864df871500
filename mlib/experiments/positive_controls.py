"""Positive controls: how much a synthetic corpus lets movement identify its subjects.

A model at chance on the motion-only corpus means nothing unless something
that sees only motion can identify the subjects there. Two controls, on the
same split protocol as the study (``split`` section; train and validation
clips fit, test clips score):

* ``truth_control``: linear discriminant analysis (scikit-learn, shrunk
  covariance: each subject a mean, one shared within-subject spread, which is
  how the generator varies clips around a habit) on the generator's own per-clip
  movement parameters (``synth_truth/truth.csv``: regions, emotion, amplitude,
  direction turn, asymmetry, head sway, blinks, timing), which no descriptor
  can beat: what the corpus makes learnable at best.
* ``motion_feature_control``: the hand-crafted baseline (``mlib.experiments.baseline``) on
  motion features of the prepared corpus: FHOFO (motion only) and LBP-TOP's XT
  and YT planes.

``measure`` writes corpora for several ``synth.motion_identity`` values and
modes and runs both; ``report`` prints the table (``mlib synth
--positive-controls``); ``knob_table`` is the controls page's view of them.
``twins_table`` reads a twins corpus's runs within each face group, where
only movement can tell the subjects apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlib.core.metrics import (
    hierarchical_bootstrap_draws,
    pooled_interval,
    rank1_draws,
    rank_k,
    read_predictions,
    summarize,
    within_group_hits,
)
from mlib.preprocess.splits import make_split
from mlib.synth import dynamics

TRUTH_REQUIRED = (
    "clip_key",
    "subject",
    "regions",
    "emotion",
    "onset",
    "apex",
    "offset",
    "n_frames",
    "fps",
    "amplitude",
    "asymmetry",
    "turn",
    "jitter",
    "blink_starts",
    "blink_frames",
)
MOTION_FEATURE_SETS = ("fhofo", "lbp-top-xtyt")
"""Feature sets of the motion-feature control (``mlib.experiments.baseline.FEATURE_SETS``)."""
KNOB_VALUES = (0.0, 0.5, 1.0)
"""``synth.motion_identity`` values that ``report`` measures."""


def read_truth(root: str | Path) -> pd.DataFrame:
    """``<root>/synth_truth/truth.csv``, checked for the columns the truth control reads."""
    path = Path(root) / "synth_truth" / "truth.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator truth (is {root} a corpus written by mlib synth?)")
    truth = pd.read_csv(path, dtype={"subject": str, "synth_subject": str, "blink_starts": str}, keep_default_na=False)
    missing = [c for c in TRUTH_REQUIRED if c not in truth.columns]
    if missing:
        raise ValueError(f"{path}: lacks column(s) {missing}; rewrite the corpus with this version of mlib synth")
    return truth


def truth_from_specs(specs: Sequence) -> pd.DataFrame:
    """The truth table's movement columns straight from the generator's specs, without rendering a frame.

    The same values ``mlib synth`` writes to ``truth.csv`` (frame numbers from
    0, the generator's subject numbers, a made-up ``clip_key``): the truth
    control on a corpus too large to render in a test.
    """
    from mlib.synth.render import dynamics_truth

    return pd.DataFrame(
        [
            {
                "clip_key": f"{s.subject}-{s.index:03d}",
                "subject": s.subject,
                "regions": ";".join(s.regions),
                "emotion": s.emotion,
                "onset": s.onset,
                "apex": s.apex,
                "offset": s.offset,
                "n_frames": s.n_frames,
                "fps": s.fps,
                **dynamics_truth(s),
            }
            for s in specs
        ]
    )


def truth_features(truth: pd.DataFrame) -> np.ndarray:
    """One row per clip: the generator's movement parameters, numbers and one-hot categories.

    Regions (one column each), emotion (one-hot), amplitude, turn, asymmetry,
    head sway, blinks per second, blink length, movement duration and rise.
    """
    regions = sorted(dynamics.REGIONS)
    moved = truth["regions"].astype(str).str.split(";")
    columns = [np.array([[name in clip for name in regions] for clip in moved], float)]
    columns.append(np.array([[e == emotion for emotion in dynamics.EMOTIONS] for e in truth["emotion"]], float))
    blinks = truth["blink_starts"].astype(str).map(lambda text: len([b for b in text.split(";") if b]))
    fps = truth["fps"].astype(float)
    duration = (truth["offset"] - truth["onset"]).astype(float)
    numbers = [
        truth["amplitude"],
        truth["turn"],
        truth["asymmetry"],
        truth["jitter"],
        blinks * fps / truth["n_frames"],
        truth["blink_frames"] / fps,
        duration / fps,
        (truth["apex"] - truth["onset"]) / duration.clip(lower=1),
    ]
    columns.append(np.stack([np.asarray(v, float) for v in numbers], axis=1))
    return np.concatenate(columns, axis=1)


def truth_control(truth: pd.DataFrame, split_cfg: dict) -> dict:
    """Test rank-1 of shrunk-covariance LDA on standardised ``truth_features``, on each of the configured splits.

    ``split_cfg`` is the ``split`` section (protocol, test_size, val_size, seed,
    repeats). Returns the mean rank-1, each split's, the first split's 95 %
    bootstrap interval and chance.
    """
    x, subjects = truth_features(truth), truth["subject"].astype(str).to_numpy()
    scores = []
    for offset in range(int(split_cfg["repeats"])):
        split = make_split(
            truth[["clip_key", "subject"]],
            split_cfg["protocol"],
            test_size=split_cfg["test_size"],
            val_size=split_cfg["val_size"],
            seed=int(split_cfg["seed"]) + offset,
        )
        fit = split["part"].isin(["train", "val"]).to_numpy()
        test = (split["part"] == "test").to_numpy()
        model = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
        model.fit(x[fit], subjects[fit])
        classes = [str(c) for c in model.classes_]
        scores.append(summarize(list(subjects[test]), model.predict_proba(x[test]), classes, seed=offset))
    return {
        "rank1": float(np.mean([s["rank1"] for s in scores])),
        "rank1_per_split": [s["rank1"] for s in scores],
        "rank1_ci95": scores[0]["rank1_ci95"],
        "chance": scores[0]["chance"],
    }


def motion_feature_control(
    root: str | Path,
    cfg: dict,
    work: str | Path,
    *,
    dataset: str,
    feature_sets: Sequence[str] = MOTION_FEATURE_SETS,
    workers: int = 2,
) -> dict[str, dict]:
    """Prepare ``root`` as the study does (``prepare`` and ``split`` sections) and run the baseline on motion features.

    Returns, per feature set, the first split's test rank-1, its 95 % interval and chance.
    """
    from mlib.datasets import load_dataset
    from mlib.experiments.baseline import run_baseline
    from mlib.preprocess import prepare_cache
    from mlib.preprocess.cache import prepare_settings
    from mlib.preprocess.splits import write_splits

    split = cfg["split"]
    clips = load_dataset(dataset, root).clips
    settings = {**prepare_settings(cfg), "dataset": dataset, "root": str(root), "workers": workers}
    cache = prepare_cache(clips, Path(work) / "cache", **settings, progress=False)
    split_file = write_splits(
        cache, split["protocol"], test_size=split["test_size"], val_size=split["val_size"], seed=split["seed"]
    )[0]
    found = {}
    for features in feature_sets:
        run = run_baseline(
            cache, split_file, Path(work) / "baseline", features=features, workers=workers, progress=False
        )
        test = pd.read_json(run / "metrics.json", typ="series")["test"]
        found[features] = {"rank1": test["rank1"], "rank1_ci95": test["rank1_ci95"], "chance": test["chance"]}
    return found


def measure(
    cfg: dict,
    work: str | Path,
    *,
    modes: Sequence[str] = ("motion-only", "twins"),
    knob_values: Sequence[float] = KNOB_VALUES,
    features: bool = True,
    workers: int = 2,
) -> pd.DataFrame:
    """Write a corpus per mode and ``synth.motion_identity`` value under ``work`` and run the controls on it.

    Everything else comes from ``cfg`` (``synth``, ``prepare``, ``split``).
    ``features=False`` runs only the truth control (seconds instead of minutes).
    """
    from mlib.synth.layouts import write_configured_corpus

    layout = cfg["synth"]["layout"]
    rows = []
    for mode in modes:
        for knob in knob_values:
            synth_cfg = {**cfg["synth"], "mode": mode, "motion_identity": float(knob)}
            root = Path(work) / f"{mode}-{knob:g}"
            write_configured_corpus(root / "corpus", layout, synth_cfg, workers=workers, progress=False)
            truth = truth_control(read_truth(root / "corpus"), cfg["split"])
            row = {
                "mode": mode,
                "motion_identity": float(knob),
                "truth rank-1": truth["rank1"],
                "truth 95 % CI": tuple(truth["rank1_ci95"]),
                "chance": truth["chance"],
            }
            if features:
                for name, result in motion_feature_control(
                    root / "corpus", cfg, root, dataset=layout, workers=workers
                ).items():
                    row[f"{name} rank-1"] = result["rank1"]
                    row[f"{name} 95 % CI"] = tuple(result["rank1_ci95"])
            rows.append(row)
    return pd.DataFrame(rows)


def learnable(
    cfg: dict,
    *,
    modes: Sequence[str] = ("identity", "motion-only", "twins"),
    knob_values: Sequence[float] = KNOB_VALUES,
) -> pd.DataFrame:
    """The truth control per mode and ``synth.motion_identity`` value, from the generator's specs alone
    (nothing rendered: a second at the default size); everything else from ``cfg``'s ``synth`` and ``split``."""
    from mlib.synth.layouts import configured_specs

    rows = []
    for mode in modes:
        for knob in knob_values:
            specs = configured_specs(
                cfg["synth"]["layout"], {**cfg["synth"], "mode": mode, "motion_identity": float(knob)}
            )[0]
            truth = truth_control(truth_from_specs(specs), cfg["split"])
            rows.append(
                {
                    "mode": mode,
                    "motion_identity": float(knob),
                    "truth rank-1": truth["rank1"],
                    "chance": truth["chance"],
                }
            )
    return pd.DataFrame(rows)


def face_groups(truth: pd.DataFrame, twin_group: int) -> dict[str, str]:
    """Each subject's face group on a twins corpus, from its generator number (``synth_subject``)."""
    from mlib.synth.render import twin_face

    numbers = truth.drop_duplicates("subject").set_index("subject")["synth_subject"]
    return {str(subject): str(twin_face(int(number), twin_group)) for subject, number in numbers.items()}


def twins_identity(predictions: str | Path, truth: pd.DataFrame, twin_group: int) -> dict:
    """A twins run's test rank-1 overall and within each clip's face group, each beside its own chance, with
    the hierarchical bootstrap draws of each (subjects, then clips; ``draws``, ``within_group_draws``).

    Appearance alone finds the group, so the overall rank-1 mixes face and
    movement; within the group (chance 1 / group size) only movement can tell.
    """
    found = read_predictions(predictions)
    hits, chances = within_group_hits(found.y_true, found.proba, found.classes, face_groups(truth, twin_group))
    return {
        "rank1": rank_k(found.y_true, found.proba, found.classes),
        "chance": 1 / len(found.classes),
        "within_group_rank1": float(np.mean(hits)),
        "within_group_chance": float(np.mean(chances)),
        "draws": rank1_draws(found.y_true, found.proba, found.classes),
        "within_group_draws": hierarchical_bootstrap_draws(hits.astype(float), found.y_true),
    }


def knob_table(learnable_rows: pd.DataFrame, feature_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """``learnable``'s rows as the book shows them: one row per ``synth.motion_identity`` value, the truth
    control's rank-1 per mode in columns, and chance; with ``feature_rows`` (``measure``'s table of the
    motion-only corpora) also each motion feature set's rank-1 there, as ``motion-only <feature set>``."""
    table = learnable_rows.pivot(index="motion_identity", columns="mode", values="truth rank-1")
    table.columns.name = None
    table = table.assign(chance=learnable_rows.groupby("motion_identity")["chance"].first())
    if feature_rows is not None:
        motion = feature_rows[feature_rows["mode"] == "motion-only"].set_index("motion_identity")
        for name in MOTION_FEATURE_SETS:
            table.insert(len(table.columns) - 1, f"motion-only {name}", motion[f"{name} rank-1"])
    return table.reset_index()


TWINS_COLUMNS = [
    "corpus",
    "variant",
    "rank1",
    "ci_low",
    "ci_high",
    "chance",
    "within_group_rank1",
    "within_group_ci_low",
    "within_group_ci_high",
    "within_group_chance",
]


def twins_table(table: pd.DataFrame, corpora: dict) -> pd.DataFrame:
    """Overall and within-face-group test rank-1 of every run on a twins corpus, each beside its own chance.

    ``table``: ``mlib.experiments.controls.run_controls``' rows (corpus, variant, run_dir);
    ``corpora``: its corpora, a twins one carrying ``twins: {"truth": corpus root,
    "twin_group": subjects per face}``. Per corpus and variant: means over the
    split seeds and 95 % intervals pooled over them (``pooled_interval`` of each
    seed's draws, subjects then clips), as the controls' summary.
    """
    rows = []
    for name, corpus in corpora.items():
        if not corpus.get("twins"):
            continue
        truth = read_truth(corpus["twins"]["truth"])
        runs = table[table["corpus"] == name]
        for variant, seeds in runs.groupby("variant", sort=False):
            found = [
                twins_identity(Path(run_dir) / "predictions.csv", truth, int(corpus["twins"]["twin_group"]))
                for run_dir in seeds["run_dir"]
            ]
            means = ("rank1", "chance", "within_group_rank1", "within_group_chance")
            mean = {key: float(np.mean([one[key] for one in found])) for key in means}
            low, high = pooled_interval([one["draws"] for one in found])
            within_low, within_high = pooled_interval([one["within_group_draws"] for one in found])
            rows.append(
                {
                    "corpus": name,
                    "variant": variant,
                    **mean,
                    "ci_low": low,
                    "ci_high": high,
                    "within_group_ci_low": within_low,
                    "within_group_ci_high": within_high,
                }
            )
    return pd.DataFrame(rows, columns=TWINS_COLUMNS)


def report(cfg: dict, work: str | Path = "data/positive-controls", **options) -> pd.DataFrame:
    """Run ``measure`` and print its table (rank-1 with the first split's 95 % interval, subjects then clips)."""
    table = measure(cfg, work, **options)
    shown = table.copy()
    for column in [c for c in shown.columns if c.endswith("95 % CI")]:
        shown[column] = shown[column].map(lambda ci: f"{ci[0]:.2f}-{ci[1]:.2f}")
    synth = cfg["synth"]
    print(
        f"positive controls: {synth['subjects']} subjects x {synth['clips_per_subject']} clips, frame size "
        f"{synth['frame_size'][0]}x{synth['frame_size'][1]}, face {cfg['prepare']['face_size']} px, "
        f"split {cfg['split']['protocol']} (seed {cfg['split']['seed']}, {cfg['split']['repeats']} repeat(s))"
    )
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return table
