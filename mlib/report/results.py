"""The study's results, collected from its result files beside the paper's tables.

Everything here reads files that runs wrote (``study.json``, run folders'
``metrics.json`` / ``predictions.csv``, ``grid.csv``, the ensemble tables, the
baseline runs, the Grad-CAM scores) and never computes a number by hand: the
results summary page (notebook ``00-results``) only displays these tables. The
paper's numbers come from ``mlib.paper`` and are labelled as the paper's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mlib.core import metrics
from mlib.report.manifest import StudyManifest

PAPER = "paper (Kay et al. 2023)"
SAEED = "paper's baseline (Saeed 2021)"
CI = f"95 % interval ({metrics.SUBJECTS_THEN_CLIPS})"  # the column of every headline interval
CHANCE = "chance (max of 1/K and the test majority rate)"


def test_rank1(run_dir: str | Path) -> dict:
    """Test rank-1 of a finished run folder (one with ``metrics.json``) from its ``predictions.csv``, with the
    default 95 % interval (subjects, then clips: ``mlib.core.metrics.hierarchical_rank1_ci``) and
    ``mlib.core.metrics.chance_level``. Recomputed from the predictions, so a run written before the
    hierarchical interval existed shows it too."""
    return over_split_seeds([run_dir])


def both_intervals(run_dir: str | Path, part: str = "test") -> dict:
    """The two 95 % intervals of a run part's rank-1 as table cells, each labelled by what it resamples:
    the default (subjects, then clips) and the clip bootstrap beside it (the training page shows both)."""
    found = metrics.read_predictions(Path(run_dir) / "predictions.csv", part)
    cells = {}
    for label, compute in [
        (metrics.SUBJECTS_THEN_CLIPS, metrics.hierarchical_rank1_ci),
        (metrics.CLIPS, metrics.bootstrap_rank1_ci),
    ]:
        low, high = compute(found.y_true, found.proba, found.classes)
        cells[f"95 % interval ({label})"] = interval({"ci_low": low, "ci_high": high})
    return cells


def over_split_seeds(run_dirs) -> dict:
    """Test rank-1 of the same model over split seeds, one finished run folder per seed
    (``mlib.core.metrics.rank1_over_seeds``: mean rank-1, the seeds' pooled hierarchical interval, sd, chance)."""
    for run_dir in map(Path, run_dirs):
        if not (run_dir / "metrics.json").is_file():
            raise FileNotFoundError(f"{run_dir / 'metrics.json'}: no metrics (the run has not finished)")
    return metrics.rank1_over_seeds([Path(run_dir) / "predictions.csv" for run_dir in run_dirs])


def headline(study: StudyManifest) -> str:
    """One sentence of the Table 1 run's test rank-1, with its interval and chance, on every corpus of ``study``
    (the model card glues it), each corpus labelled synthetic or real."""
    kind = "synthetic" if study.synthetic else "real"
    found = []
    for variant in study.corpora:
        train = Path(variant.paths.get("train", ""))
        if (train / "metrics.json").is_file():
            r = test_rank1(train)
            found.append(
                f"{percent(r['rank1'])} (95 % interval {interval(r)}, resampling "
                f"{metrics.SUBJECTS_THEN_CLIPS}) on the {kind} {variant.name} corpus "
                f"(chance {percent(r['chance'])})"
            )
    return "; ".join(found) if found else "no finished run"


def data_source(study: StudyManifest) -> str:
    """Where this build's numbers come from, as a phrase for the prose pages (glued by the results summary),
    so a sentence about the data follows the data the study ran on."""
    corpora = ", ".join(v.name for v in study.corpora)
    if study.synthetic:
        return (
            f"a synthetic micro-expression corpus that the project generates in the real databases' on-disk "
            f"layouts ({corpora}): drawn faces, no real person, so the numbers test the method and the code "
            "and cannot test the paper's accuracies on real faces"
        )
    return f"the licensed databases themselves ({corpora}): real faces, so the numbers can be set against the paper's"


def execution_minutes(study: StudyManifest) -> float | None:
    """Minutes the study's executed pages took, summed from the duration papermill recorded in each
    (a page reused as up to date keeps the time of the run that made it); None when none is recorded."""
    import nbformat

    durations = [
        nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("duration")
        for path in map(Path, study.executed)
        if path.is_file()
    ]
    durations = [d for d in durations if d]
    return sum(durations) / 60 if durations else None


def execution_time(study: StudyManifest) -> str:
    """:func:`execution_minutes` as a phrase for the prose pages."""
    minutes = execution_minutes(study)
    if minutes is None:
        return "an unrecorded time"
    return f"about {minutes:.0f} minutes" if minutes >= 1 else "under a minute"


def claims_html(claims_table: pd.DataFrame, here: str = "executed") -> str:
    """The claims table (``mlib.report.claims.study_claims``) as the results summary shows it, an HTML table: no
    internal key column, columns named in words, the evidence page as a link (``page`` is relative to
    ``book/``; ``here`` is the showing page's folder under ``book/``), every other cell escaped."""
    import html
    import os

    shown = claims_table.drop(columns=[c for c in ("key",) if c in claims_table.columns]).copy()
    for column in shown.columns:
        if column != "page":
            shown[column] = shown[column].map(lambda value: html.escape("" if pd.isna(value) else str(value)))
    if "page" in shown.columns:
        shown["page"] = [
            f'<a href="{html.escape(os.path.relpath(Path(page).with_suffix(".html"), here))}">'
            f"{html.escape(Path(page).stem)}</a>"
            for page in shown.pop("page")
        ]
        shown = shown.rename(columns={"page": "evidence page"})
    shown = shown.rename(columns=lambda name: name.replace("_", " "))
    return shown.to_html(index=False, escape=False)


def percent(value: float | None) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * value:.1f} %"


def interval(row: dict) -> str:
    if row.get("ci_low") is None or pd.isna(row.get("ci_low")):
        return ""
    return f"[{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"


ONE_SPLIT = "one split"
PAPERS_SPLIT = "one split (the original's)"


def split_spread(n: int, sd: float | None = None) -> str:
    """The "split seeds" cell: ``one split``, or how many seeds a mean is over and their sd in points."""
    if n <= 1:
        return ONE_SPLIT
    return f"mean over {n} split seeds, sd {100 * sd:.1f} points"


def table_row(
    source: str,
    model: str,
    rank1: float | None,
    chosen_by: str = "",
    ci: dict | None = None,
    where: str = "",
    splits: str = ONE_SPLIT,
) -> dict:
    ci = ci or {}
    return {
        "source": source,
        "model": model,
        "rank-1": percent(rank1),
        CI: interval(ci),
        "chosen by": chosen_by,
        "split seeds": splits,
        "result files": where,
    }


def controls_table(study: StudyManifest) -> pd.DataFrame:
    """The controls page's ``controls.csv`` (``mlib.experiments.controls.TABLE_COLUMNS``: one row per corpus, variant and
    split seed); empty when the study has no controls page or it has not run."""
    found = Path(study.pages["controls"]) / "controls.csv" if "controls" in study.pages else None
    if found is None or not found.is_file():
        from mlib.experiments.controls import TABLE_COLUMNS  # lazy: it imports training, and torch with it

        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.read_csv(found, dtype={"split": str})


def baseline_runs(folder: str | Path) -> list[Path]:
    """The finished baseline run folders under ``folder`` (one per feature set)."""
    folder = Path(folder)
    return sorted(p.parent for p in folder.glob("*/metrics.json")) if folder.is_dir() else []


def feature_set_of(run_dir: Path) -> str:
    return str(json.loads((run_dir / "metrics.json").read_text()).get("feature_set", run_dir.name))


def learnable_table(study: StudyManifest) -> pd.DataFrame:
    """What each corpus lets movement identify (issue 10's positive controls), beside what the model reached.

    Per corpus: the truth-parameter control (mean over split seeds, as notebook
    07 recorded it in ``controls.csv``; real data has none), the motion-only
    baseline features (``positive_controls.MOTION_FEATURE_SETS`` among the
    corpus's baseline runs) with their intervals, the SlowFast Table 1 run, and
    chance. A model at chance reads as "misses motion" only where a control
    here is well above chance.
    """
    from mlib.experiments.positive_controls import MOTION_FEATURE_SETS

    recorded = controls_table(study).groupby("corpus")[["positive_control", "chance"]].mean()
    rows = []
    for variant in study.corpora:
        paths = variant.paths
        runs = [
            (f"baseline SVM on {feature_set_of(run)} (motion only)", run)
            for run in baseline_runs(paths.get("baseline", ""))
            if feature_set_of(run) in MOTION_FEATURE_SETS
        ]
        runs += [("SlowFast, Table 1 configuration", Path(paths["train"]))] if "train" in paths else []
        value, chance = recorded.loc[variant.name] if variant.name in recorded.index else (None, None)
        rows.append(
            {
                "corpus": variant.name,
                "what": "truth-parameter control (generator's movement parameters)",
                "rank-1": "no generator truth" if value is None or pd.isna(value) else percent(value),
                CI: None,
                CHANCE: percent(chance) or None,
            }
        )
        for what, run_dir in runs:
            if (run_dir / "metrics.json").is_file():
                found = test_rank1(run_dir)
                rows.append(
                    {
                        "corpus": variant.name,
                        "what": what,
                        "rank-1": percent(found["rank1"]),
                        CI: interval(found),
                        CHANCE: percent(found["chance"]),
                    }
                )
    return pd.DataFrame(rows, columns=["corpus", "what", "rank-1", CI, CHANCE])


def motion_only_table(study: StudyManifest) -> pd.DataFrame:
    """The same models on the identity corpus and on the motion-only corpus (one shared face)."""
    rows = []
    for variant in study.corpora:
        paths = variant.paths
        runs = [("SlowFast, Table 1 configuration", Path(paths["train"]))] if "train" in paths else []
        runs += [(f"baseline SVM on {feature_set_of(run)}", run) for run in baseline_runs(paths.get("baseline", ""))]
        for model, run_dir in runs:
            if (run_dir / "metrics.json").is_file():
                found = test_rank1(run_dir)
                rows.append(
                    {
                        "corpus": variant.name,
                        "faces": "one shared face" if variant.mode != "identity" else "each subject its own",
                        "model": model,
                        "rank-1": percent(found["rank1"]),
                        CI: interval(found),
                        CHANCE: percent(found["chance"]),
                        "result files": str(run_dir),
                    }
                )
    return pd.DataFrame(rows)


def provenance(study: StudyManifest) -> pd.DataFrame:
    """Which data, cache, split and result folders each variant used."""
    rows = []
    for variant in study.corpora:
        rows.append({"variant": variant.name, "data": study.data, "database root": variant.root, **variant.paths})
    return pd.DataFrame(rows)


GRADCAM_SCORES = {
    "truth_lift": "CAM mass in the regions the generator moved, over a uniform map's",
    "truth_time_lift": "CAM mass in the frames where they moved, over a uniform map's",
    "motion_lift": "CAM mass in the top motion-energy pixels, over a uniform map's",
    "apex_lift": "CAM mass in the frames around the apex, over a uniform map's",
}


def gradcam_table(study: StudyManifest, name: str) -> pd.DataFrame:
    """The Grad-CAM localisation scores' medians per pathway (1 = no better than a uniform map)."""
    summary_file = Path(study.corpus(name).paths.get("gradcam", "")) / "summary.csv"
    if not summary_file.is_file():
        return pd.DataFrame()
    summary = pd.read_csv(summary_file)
    rows = summary[summary["score"].isin(GRADCAM_SCORES)]
    return pd.DataFrame(
        {
            "pathway": rows["pathway"],
            "score": rows["score"].map(GRADCAM_SCORES),
            "test clips": rows["clips"],
            "median lift": rows["median"].round(2),
            "quartiles": [f"{a:.2f} to {b:.2f}" for a, b in zip(rows["q25"], rows["q75"])],
            "result files": str(summary_file),
        }
    ).reset_index(drop=True)


REPOSITORY_URL = "https://github.com/mlib-study/micro-expression-person-recognition"  # _config.yml's repository.url
CONFIG_FILES = ("config.yaml", "config.json", "grid-spec.yaml", "settings.json", "metrics.json")


def provenance_note(run_dirs, config_files=CONFIG_FILES, *, source: str | None = None, inputs=()) -> str:
    """A one-paragraph note naming the run folders behind a figure or table and their configuration hashes.

    The hash is the first 12 hex digits of the SHA-256 of the folder's first
    configuration file found (``config_files``: a run's ``config.yaml``, a grid's
    ``grid-spec.yaml``, a cache's ``settings.json``), so two figures made by the
    same configuration show the same hash; a path that is a file (a split file,
    a result table) is hashed itself. ``inputs``: other inputs named as they are
    (the original repository's files). ``source``: the page's notebook
    (``notebooks/NN-name.py``), linked in the repository.
    """
    import hashlib

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def shown(path: Path) -> str:  # relative to the study's folder: no builder's local path on a page
        here, full = Path.cwd().resolve(), path.resolve()
        return str(full.relative_to(here)) if full.is_relative_to(here) else str(path)

    parts = []
    for run_dir in map(Path, run_dirs):
        if run_dir.is_file():
            parts.append(f"`{shown(run_dir)}` (content {digest(run_dir)})")
            continue
        found = next((run_dir / name for name in config_files if (run_dir / name).is_file()), None)
        what = (
            f"configuration {digest(found)}"
            if found
            else "result folder, no configuration file of its own"
            if run_dir.is_dir()
            else "not found"
        )
        parts.append(f"`{shown(run_dir)}` ({what})")
    parts += [f"`{name}`" for name in inputs]
    note = "Made by: " + ("; ".join(parts) if parts else "no run folder") + "."
    if source:
        note += f" Source: [{source}]({REPOSITORY_URL}/blob/HEAD/{source})."
    return note


ARCHIVE_SUFFIXES = (".csv", ".json", ".yaml", ".txt")  # tables, metrics, per-clip predictions, configurations


def write_archive(results_dir: str | Path, zip_path: str | Path) -> list[str]:
    """Zip the study's result tables, metrics and per-clip predictions under ``results_dir`` into ``zip_path``.

    Only text result files (``ARCHIVE_SUFFIXES``) go in: never clips, arrays,
    checkpoints or images (``.npy``, ``.pt``, ``.png``, ...), so no face of a
    real subject and no model leaves the study. Returns the archived names
    (relative to ``results_dir``), in order.
    """
    import zipfile

    results_dir, zip_path = Path(results_dir), Path(zip_path)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir}: no results folder to archive")
    names = sorted(
        p.relative_to(results_dir).as_posix()
        for p in results_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in ARCHIVE_SUFFIXES
    )
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(results_dir / name, name)
    return names
