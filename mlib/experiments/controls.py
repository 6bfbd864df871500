"""What carries identity? The same SlowFast configuration trained on altered inputs, and a verdict.

Each *variant* changes one thing of the input (:mod:`mlib.inputs`): the unaltered
``clip``; ``static-apex`` / ``static-first`` (one frame repeated: appearance
only); ``shuffled`` (frames in a fixed random order: no temporal order);
``difference`` (consecutive frame differences: motion, appearance largely
removed); ``pyslowfast`` (the clip as the original's decoder sampled it); ``face-masked`` (the face
hidden: only the crop's margins and frame statistics, the cues of a recording session). Every
variant of a corpus uses the same cache, split files and settings otherwise, and
its run folder is keyed by the config hash (:func:`mlib.training.train.run_folder`), so a
finished run is reused, never retrained.

:func:`run_controls` gives a tidy table (one row per corpus x variant x split);
:func:`summarize` one row per corpus x variant (mean rank-1 over splits, one
interval pooled over them, their spread); :func:`motion_verdict` the verdict of one
corpus by the rule in its docstring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlib.core import io
from mlib.core.config import resolve
from mlib.core.metrics import rank1_over_seeds
from mlib.core.verdict import Verdict, rule
from mlib.training.train import train

VARIANTS = {
    "clip": {"input": "clip"},
    "static-apex": {"input": "static-apex"},
    "static-first": {"input": "static-first"},
    "shuffled": {"input": "shuffled"},
    "difference": {"input": "difference"},
    "pyslowfast": {"sampling": "pyslowfast"},
    "face-masked": {"input": "face-masked"},
}
STATIC_VARIANTS = ("static-apex", "static-first")
POSITIVE_CONTROL_TARGET = 0.9  # issue 10: the truth-parameter classifier must reach 90 % rank-1
TABLE_COLUMNS = [
    "corpus",
    "variant",
    "split",
    "rank1",
    "ci_low",
    "ci_high",
    "chance",
    "majority",
    "n_test",
    "positive_control",
    "run_dir",
]

SUMMARY_COLUMNS = [
    "corpus",
    "variant",
    "rank1",
    "ci_low",
    "ci_high",
    "split_sd",
    "splits",
    "chance",
    "majority",
    "positive_control",
]

APPEARANCE = "appearance suffices"
MOTION = "motion identifies"
UNCLEAR = "identifies, source unclear"
MISSED = "the model misses a learnable motion identity"
NOT_LEARNABLE = "no motion identity to learn"
UNTESTED = "at chance, no positive control"
NOT_MEASURED = "not measured"
SESSION = "session cues suffice"
MOTION_ONLY = "motion-only"  # the corpus (mlib.study.runner.MOTION_ONLY) where only movement can identify
CAN_LEARN = "the model learns a movement identity at this scale (motion-only) and does not use one here"
CANNOT_TELL = "the model learns no movement identity at this scale (motion-only): this result cannot tell"
LARGER_BUDGET = (
    "the model learns no movement identity at this scale but does with a larger training budget "
    "(motion-only budget study): this result cannot tell until rerun at that budget"
)


def variant_config(cfg: Mapping, variant: str, cache: str | Path, split: str | Path, runs_dir: str | Path) -> dict:
    """The resolved config of one variant's run: ``cfg`` with the variant's data settings and the inputs."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    data = {"sampling": "window", "input": "clip", **VARIANTS[variant]}
    return resolve(cfg, {"data": data, "run": {"cache": str(cache), "split": str(split), "out": str(runs_dir)}})


def majority_rate(split_file: str | Path) -> float:
    """Test rank-1 of always answering the training part's most frequent subject (ties: the first sorted)."""
    split = pd.read_csv(split_file, dtype={"subject": str, "clip_key": str})
    counts = split.loc[split["part"] == "train", "subject"].value_counts()
    top = sorted(counts[counts == counts.max()].index)[0]
    test = split.loc[split["part"] == "test", "subject"]
    return float((test == top).mean()) if len(test) else float("nan")


def run_row(run_dir: Path, corpus: str, variant: str, split: str | Path, positive_control: float) -> dict:
    """One table row from a finished run's ``metrics.json``."""
    test = json.loads((Path(run_dir) / "metrics.json").read_text())["test"]
    low, high = test.get("rank1_ci95") or [np.nan, np.nan]
    return {
        "corpus": corpus,
        "variant": variant,
        "split": Path(split).stem,
        "rank1": test["rank1"],
        "ci_low": low,
        "ci_high": high,
        "chance": test.get("chance", np.nan),
        "majority": majority_rate(split),
        "n_test": test["n_clips"],
        "positive_control": positive_control,
        "run_dir": str(run_dir),
    }


def run_controls(
    cfg: Mapping,
    corpora: Mapping[str, Mapping],
    out: str | Path | None = None,
    variants: Sequence[str] = tuple(VARIANTS),
    progress: bool = False,
    log: bool = True,
) -> pd.DataFrame:
    """Train (or reuse) every variant on every corpus; return the tidy table, written to ``out/controls.csv``.

    ``corpora``: name -> ``{"cache": folder, "split": file or list of files (split seeds),
    "runs_dir": parent of the run folders, "positive_control": optional accuracy of a
    positive control that sees only motion on this corpus, "overrides": optional dotted settings of
    this corpus over ``cfg`` (the study's Table 1 choice per database, so ``clip`` is notebook 02's run)}``.
    ``log``: training's per-epoch lines (False on the book's page).
    """
    rows = []
    for name, corpus in corpora.items():
        missing = [key for key in ("cache", "split", "runs_dir") if not corpus.get(key)]
        if missing:
            raise ValueError(f"corpora[{name!r}]: lacks {', '.join(missing)}")
        splits = corpus["split"] if isinstance(corpus["split"], (list, tuple)) else [corpus["split"]]
        positive = corpus.get("positive_control")
        positive = np.nan if positive is None else float(positive)
        for split in splits:
            for variant in variants:
                corpus_cfg = resolve(cfg, corpus.get("overrides") or {})
                run_cfg = variant_config(corpus_cfg, variant, corpus["cache"], split, corpus["runs_dir"])
                run_dir = train(run_cfg, progress=progress, log=log)
                rows.append(run_row(run_dir, name, variant, split, positive))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    if out is not None:
        io.write_csv(Path(out) / "controls.csv", table)
    return table


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per corpus and variant over its split seeds: mean rank-1, one 95 % interval, the spread (sd), counts.

    The interval is ``mlib.core.metrics.rank1_over_seeds`` of the runs' predictions
    (``run_dir``): each seed's hierarchical bootstrap (subjects, then clips),
    pooled over seeds, so it holds the spread between splits; averaging the
    seeds' bounds would not be an interval. ``chance`` is the largest seed's
    ``mlib.core.metrics.chance_level``.
    """
    rows = []
    for (corpus, variant), runs in table.groupby(["corpus", "variant"], sort=False):
        found = rank1_over_seeds([Path(run_dir) / "predictions.csv" for run_dir in runs["run_dir"]])
        rows.append(
            {
                "corpus": corpus,
                "variant": variant,
                "rank1": found["rank1"],
                "ci_low": found["ci_low"],
                "ci_high": found["ci_high"],
                "split_sd": found["sd"],
                "splits": found["splits"],
                "chance": found["chance"],
                "majority": runs["majority"].mean(),
                "positive_control": runs["positive_control"].mean(),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


@rule(SESSION, APPEARANCE, MOTION, UNCLEAR, UNTESTED, MISSED, NOT_LEARNABLE, NOT_MEASURED)
def motion_verdict(summary: pd.DataFrame, corpus: str) -> Verdict:
    """What carries identity on ``corpus``, from the :func:`summarize` table. The rule:

    A variant *identifies* when its interval's lower bound is above the best
    trivial answer, max(chance, majority rate).

    0. ``session cues suffice``: the face-masked variant identifies and its
       interval reaches the clip's rank-1: what is not the face (margins,
       lighting) does as well as the clip.
    1. ``appearance suffices``: a static variant identifies and its interval
       reaches the clip's rank-1 (``ci_high >= clip rank-1``): one frame does as
       well as the clip, so the clip's accuracy needs no motion.
    2. ``motion identifies``: otherwise, the difference input identifies, or the
       clip identifies and order matters (the clip's lower bound is above the
       shuffled variant's upper bound). A positive result needs no positive
       control.
    3. ``identifies, source unclear``: the clip identifies but neither 1 nor 2 holds.
    4. The clip does not identify: ``the model misses a learnable motion identity`` when
       the positive control reaches ``POSITIVE_CONTROL_TARGET``; ``no motion identity to
       learn`` when it is given and does not; ``at chance, no positive control``
       when none is given (a negative result cannot be read without one).

    ``not measured`` when the clip variant is missing. The verdict's ``numbers`` hold
    the corpus and the facts it used (the columns of :func:`verdicts`).
    """
    rows = summary[summary["corpus"] == corpus].set_index("variant")
    if "clip" not in rows.index:
        return Verdict(NOT_MEASURED, f"{corpus}: no clip run", numbers={"corpus": corpus})
    floor = float(max(rows["chance"].max(), np.nan_to_num(rows["majority"].max(), nan=0.0)))

    def identifies(variant: str) -> bool:
        return variant in rows.index and bool(rows.at[variant, "ci_low"] > floor)

    clip = rows.loc["clip"]
    statics = [v for v in STATIC_VARIANTS if identifies(v)]
    static_reaches_clip = any(rows.at[v, "ci_high"] >= clip["rank1"] for v in statics)
    order_matters = (
        identifies("clip") and "shuffled" in rows.index and bool(clip["ci_low"] > rows.at["shuffled", "ci_high"])
    )
    positive = float(rows["positive_control"].max())
    session = identifies("face-masked") and bool(rows.at["face-masked", "ci_high"] >= clip["rank1"])
    if session:
        verdict = SESSION
    elif static_reaches_clip:
        verdict = APPEARANCE
    elif identifies("difference") or order_matters:
        verdict = MOTION
    elif identifies("clip"):
        verdict = UNCLEAR
    elif np.isnan(positive):
        verdict = UNTESTED
    else:
        verdict = MISSED if positive >= POSITIVE_CONTROL_TARGET else NOT_LEARNABLE
    facts = {
        "corpus": corpus,
        "floor": floor,
        "clip_identifies": identifies("clip"),
        "session_cues": session,
        "static_identifies": statics,
        "static_reaches_clip": static_reaches_clip,
        "difference_identifies": identifies("difference"),
        "order_matters": order_matters,
        "positive_control": positive,
    }
    return Verdict(verdict, _evidence(facts, clip), numbers=facts)


def _evidence(facts: Mapping, clip: pd.Series) -> str:
    """The facts of :func:`motion_verdict` as one sentence."""
    said = [
        f"{facts['corpus']}: clip rank-1 {clip['rank1']:.3f} [{clip['ci_low']:.3f}, {clip['ci_high']:.3f}]"
        f" against a bar of {facts['floor']:.3f}",
        "static inputs that identify: " + (", ".join(facts["static_identifies"]) or "none"),
        f"frame differences identify: {'yes' if facts['difference_identifies'] else 'no'}",
        f"frame order matters: {'yes' if facts['order_matters'] else 'no'}",
    ]
    if not np.isnan(facts["positive_control"]):
        said.append(f"positive control {facts['positive_control']:.3f}")
    return "; ".join(said)


def is_motion_only(corpus: str) -> bool:
    """Whether a corpus is a motion-only one: ``motion-only`` or, as the study names it, ``<database>-motion-only``."""
    return corpus == MOTION_ONLY or corpus.endswith(f"-{MOTION_ONLY}")


def learns_motion(summary: pd.DataFrame) -> bool | None:
    """Whether this configuration learns a movement identity where one exists: on a motion-only corpus
    (one shared face; :func:`is_motion_only`) the clip or the difference input identifies. None when no
    motion-only corpus was run."""
    measured = [
        found.numbers
        for found in (
            motion_verdict(summary, corpus) for corpus in summary["corpus"].unique() if is_motion_only(corpus)
        )
        if found.verdict != NOT_MEASURED
    ]
    if not measured:
        return None
    return any(facts["clip_identifies"] or facts["difference_identifies"] for facts in measured)


def model_check(verdict: str, corpus: str, learns: bool | None, learns_with_budget: bool | None = None) -> str:
    """How to read a corpus's verdict against the motion-only positive control of the model itself.

    Where motion was not shown to identify (any verdict but ``motion identifies``)
    on a corpus other than motion-only: ``CAN_LEARN`` when the same
    configuration identifies by movement on motion-only (so it could have used a
    movement identity here and did not); when it does not there, ``LARGER_BUDGET``
    if the learning-budget study (``mlib.experiments.budget.learns_beyond_book``,
    ``learns_with_budget``) shows it learning one with more epochs, clips or a
    motion input, else ``CANNOT_TELL`` (the result cannot say whether movement
    identifies); empty otherwise or when motion-only was not run.
    """
    if learns is None or verdict in (MOTION, NOT_MEASURED) or is_motion_only(corpus):
        return ""
    if learns:
        return CAN_LEARN
    return LARGER_BUDGET if learns_with_budget else CANNOT_TELL


def verdicts(summary: pd.DataFrame, learns_with_budget: bool | None = None) -> pd.DataFrame:
    """:func:`motion_verdict` of every corpus of the summary, one row each, with its :func:`model_check`
    (``learns_with_budget``: the budget study's answer, when it was run)."""
    learns = learns_motion(summary)
    found = [motion_verdict(summary, corpus) for corpus in summary["corpus"].unique()]
    return pd.DataFrame(
        [
            {
                "corpus": corpus,
                "verdict": one.verdict,
                **{key: value for key, value in one.numbers.items() if key != "corpus"},
                "model_check": model_check(one.verdict, corpus, learns, learns_with_budget),
            }
            for one, corpus in zip(found, summary["corpus"].unique())
        ]
    )


SUMMARY_WORDS = {
    "corpus": "corpus",
    "variant": "input",
    "rank1": "test rank-1 (mean over split seeds)",
    "interval": "95 % interval (subjects, then clips; split seeds pooled)",
    "split_sd": "sd over split seeds",
    "splits": "split seeds",
    "chance": "chance",
    "majority": "always the top training subject",
    "positive_control": "positive control (truth-parameter rank-1)",
}
VERDICT_WORDS = {
    "corpus": "corpus",
    "verdict": "verdict",
    "floor": "bar to clear (max of chance and majority)",
    "clip_identifies": "the clip identifies",
    "static_identifies": "static inputs that identify",
    "static_reaches_clip": "a static input reaches the clip",
    "difference_identifies": "frame differences identify",
    "order_matters": "frame order matters",
    "positive_control": "positive control",
    "session_cues": "session cues identify",
    "model_check": "read against the model on motion-only",
}


def _in_words(frame: pd.DataFrame, words: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with its columns named in words (``words``; any other key: its underscores as spaces),
    numbers to 3 decimals, lists as text, yes/no for true/false."""

    def cell(value):
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        return (", ".join(value) or "none") if isinstance(value, list) else value

    shown = frame.apply(lambda column: column.map(cell))
    return shown.round(3).rename(columns=lambda key: words.get(key, key.replace("_", " ")))


def shown_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize` as the page shows it: columns in words, the interval as one ``[low, high]`` cell."""
    interval = [f"[{low:.3f}, {high:.3f}]" for low, high in zip(summary["ci_low"], summary["ci_high"])]
    frame = summary.drop(columns=["ci_low", "ci_high"])
    frame.insert(list(frame.columns).index("rank1") + 1, "interval", interval)
    return _in_words(frame, SUMMARY_WORDS)


def shown_twins(found: pd.DataFrame) -> pd.DataFrame:
    """``positive_controls.twins_table`` as the controls page shows it: each rank-1 with its interval in one
    cell, beside its own chance."""

    def cell(value: float, low: float, high: float) -> str:
        return f"{value:.3f} [{low:.3f}, {high:.3f}]"

    return pd.DataFrame(
        {
            "corpus": found["corpus"],
            "input": found["variant"],
            "rank-1 [95 % interval]": list(map(cell, found["rank1"], found["ci_low"], found["ci_high"])),
            "chance": found["chance"].round(3),
            "within the face group [95 % interval]": list(
                map(cell, found["within_group_rank1"], found["within_group_ci_low"], found["within_group_ci_high"])
            ),
            "chance within the group": found["within_group_chance"].round(3),
        }
    )


def shown_verdicts(found: pd.DataFrame) -> pd.DataFrame:
    """:func:`verdicts` as the page shows it: the facts each verdict used, named in words."""
    return _in_words(found, VERDICT_WORDS)
