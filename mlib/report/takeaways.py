"""One-sentence takeaways under the book's figures and tables, computed from the results they show.

The results pages (notebooks 01-08) carry no number typed in their prose: the
sentence under a figure or table comes from here, so its numbers and its
wording ("above chance" or "at chance", "cannot be told apart" or "gains")
follow the run. Each function takes what the page already computed and
returns one Markdown sentence.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlib.core.verdict import Verdict


def versus_chance(rank1: float, low: float, high: float, chance: float, what: str = "Test rank-1") -> str:
    """The accuracy read against chance by its 95 % interval: above, at (chance inside it) or below chance."""
    if low > chance:
        reading = "above chance"
    elif high < chance:
        reading = "below chance"
    else:
        reading = "at chance: the interval contains it"
    return f"{what} is {rank1:.3f} (95 % interval {low:.3f} to {high:.3f}), {reading} ({chance:.3f})."


def dataset_size(clips: pd.DataFrame) -> str:
    """How many clips and subjects the loader kept, and how unevenly the clips spread over subjects."""
    per_subject = clips.groupby("subject").size()
    return (
        f"The loader kept {len(clips)} clips of {len(per_subject)} subjects, "
        f"{per_subject.min()} to {per_subject.max()} clips per subject."
    )


def detector(index: pd.DataFrame) -> str:
    """Which face box the cached windows used, as the share of clips per detector outcome."""
    counts = index["detector"].value_counts()
    parts = [f"{name} for {count} of {len(index)} clips" for name, count in counts.items()]
    return "The crop box came from " + ", ".join(parts) + "."


def padding(index: pd.DataFrame) -> str:
    """How many windows reached past their clip and were padded with repeated frames."""
    padded = int(((index["pad_before"] + index["pad_after"]) > 0).sum())
    if not padded:
        return f"All {len(index)} windows fit inside their clips: no frame was repeated."
    return f"{padded} of {len(index)} windows reach past their clip and repeat its first or last frame."


def split_sizes(split: pd.DataFrame) -> str:
    """Clips per part of a split file and how many subjects it excluded."""
    clips = split.groupby("part")["clip_key"].size()
    parts = ", ".join(
        f"{clips[part]} clips in {name}"
        for part, name in (("train", "train"), ("val", "validation"), ("test", "test"))
        if part in clips
    )
    excluded = split.loc[split["part"] == "excluded", "subject"].nunique()
    return f"The split puts {parts}; {excluded or 'no'} subject{'s' if excluded != 1 else ''} excluded."


def learning_curve(history: pd.DataFrame, checkpoint_epoch: int) -> str:
    """Where training accuracy ended and which epoch's checkpoint was evaluated."""
    last = history.iloc[-1]
    sentence = f"Train accuracy ends at {last['train_acc']:.3f} after {int(last['epoch'])} epochs"
    chosen = history[history["epoch"] == checkpoint_epoch]
    if len(chosen) and not pd.isna(chosen["val_acc"].iloc[0]):
        return (
            sentence + f"; the checkpoint of epoch {checkpoint_epoch} (validation accuracy "
            f"{chosen['val_acc'].iloc[0]:.3f}) was evaluated."
        )
    return sentence + f"; the checkpoint of epoch {checkpoint_epoch} was evaluated."


def cmc(curve: np.ndarray) -> str:
    """The rank-1 accuracy and the rank at which every test clip's subject is found."""
    curve = np.asarray(curve, dtype=float)
    full = int(np.argmax(curve >= 1 - 1e-9)) + 1 if (curve >= 1 - 1e-9).any() else None
    sentence = f"The true subject is ranked first for {curve[0]:.3f} of the test clips"
    return sentence + (
        f" and is within the first {full} of {len(curve)} for all of them."
        if full
        else f" and not within the first {len(curve)} for all of them."
    )


def confusion(matrix: np.ndarray, classes) -> str:
    """The most frequent error of a confusion matrix (rows true, columns predicted)."""
    errors = np.array(matrix, dtype=int)
    np.fill_diagonal(errors, 0)
    if not errors.any():
        return "Every test clip is named correctly: the matrix is diagonal."
    true, predicted = np.unravel_index(int(errors.argmax()), errors.shape)
    return (
        f"{int(errors.sum())} test clips are misnamed; the most frequent error names "
        f"{classes[true]}'s clips {classes[predicted]} ({int(errors[true, predicted])} clips)."
    )


def per_subject(table: pd.DataFrame) -> str:
    """How many subjects are always, sometimes and never named correctly (``metrics.per_subject_accuracy``)."""
    never, always = int((table["accuracy"] == 0).sum()), int((table["accuracy"] == 1).sum())
    return f"Of {len(table)} test subjects, {always} are named correctly on every clip and {never} on none."


MEASURES = {"val_rank1": "validation rank-1", "test_rank1": "test rank-1"}  # result columns in words


def best_of(table: pd.DataFrame, value: str, label: str, what: str) -> str:
    """The row with the highest ``value`` (ignoring empty ones), named by its ``label`` column."""
    scored = table.dropna(subset=[value])
    if scored.empty:
        return f"No {what} has a {value}."
    best = scored.loc[scored[value].idxmax()]
    return f"The best {what} is {best[label]} ({MEASURES.get(value, value)} {best[value]:.3f}; {len(scored)} scored)."


def pick_gap(val_pick: Mapping, test_pick: Mapping) -> str:
    """How much choosing the configuration on the test set flatters its test accuracy."""
    gap = test_pick["test_rank1"] - val_pick["test_rank1"]
    return (
        f"Chosen on validation, the grid reaches test rank-1 {val_pick['test_rank1']:.3f}; "
        f"the test-set pick reports {test_pick['test_rank1']:.3f}, {gap:+.3f} from choosing on test alone."
    )


def seed_spread(summary: pd.DataFrame) -> str:
    """The largest range of test rank-1 between seeds of one configuration (``grid.summarize_configurations``)."""
    ranges = summary["test_rank1_max"] - summary["test_rank1_min"]
    if summary["seeds"].max() < 2:
        return "Each configuration ran with one seed: the spread between seeds is not measured."
    return (
        f"The same configuration's test rank-1 varies by up to {ranges.max():.3f} between seeds "
        f"(median range {ranges.median():.3f} over {len(summary)} configurations)."
    )


def ensemble_gain(gain: Mapping) -> str:
    """The ensemble's paired gain over the best single run, read by where its interval lies against 0
    (``mlib.report.claims.side_of``, the reading the Table 3 rule uses)."""
    from mlib.report.claims import side_of

    low, high = gain["gain_ci_low"], gain["gain_ci_high"]
    span = f"{gain['gain']:+.3f} (95 % interval {low:+.3f} to {high:+.3f}, {gain['n_test']} test clips)"
    side = side_of(low, high)
    if side == "above":
        return f"The ensemble chosen on validation beats the single run chosen on validation by {span}."
    if side == "below":
        return f"The ensemble chosen on validation does worse than the single run chosen on validation: {span}."
    return f"The ensemble and the single run cannot be told apart on this test set: the gain is {span}."


def tie_order(spread: pd.DataFrame) -> str:
    """How far the vote of a pair moves under random class numberings (``ensemble.tie_order_pair``)."""
    random = spread.loc[spread["rule"] == "random numbering", "test_rank1"]
    return (
        f"The class numbering alone moves the pair's vote between {random.min():.3f} and {random.max():.3f} "
        f"test rank-1 over {len(random)} random numberings."
    )


def gradcam_claim(verdict: Verdict, pathway: str, region_words: str) -> str:
    """One pathway's Grad-CAM verdict (``gradcam.claim_verdict``) in a sentence: the median clip's lift on the
    moving region against the permutation null and against a uniform map, each with its 95 % interval."""
    found = verdict.numbers

    def lift(value: str, low: str, high: str) -> str:
        return f"{found[value]:.2f} (95 % interval {found[low]:.2f} to {found[high]:.2f})"

    return (
        f"{pathway} pathway: on {region_words}, the median clip's CAM mass is "
        f"{lift('lift_vs_null', 'null_ci_low', 'null_ci_high')} times what the same map puts on other clips' "
        f"regions (the permutation null) and {lift('lift_vs_uniform', 'uniform_ci_low', 'uniform_ci_high')} "
        f"times a uniform map's share, over {found['clips']} clips. This {verdict.verdict} the paper's "
        f"statement that the network looks where the micro-movement is (judged against the null)."
    )


def controls(found: pd.DataFrame) -> str:
    """The verdicts of ``controls.verdicts``, one clause per corpus, with its model check where there is one."""
    return " ".join(
        f"{row.corpus}: {row.verdict}"
        + (f"; {row.model_check}" if getattr(row, "model_check", "") else "")
        + ("" if str(row.verdict).endswith(".") else ".")
        for row in found.itertuples()
    )


def twins_within(found: pd.DataFrame) -> str:
    """Each twins run's rank-1 overall and within its face group (``positive_controls.twins_table``), each read
    against its own chance by its interval (subjects, then clips): appearance alone finds the group, so only
    the within-group number is movement's."""
    if found.empty:
        return "No twins corpus: no identity within a face group to report."

    def versus(value: float, low: float, high: float, chance: float) -> str:
        above = "above" if low > chance else "not above"
        return f"{value:.3f} [{low:.3f}, {high:.3f}] ({above} its chance {chance:.3f})"

    parts = [
        f"{row.corpus} {row.variant}: overall {versus(row.rank1, row.ci_low, row.ci_high, row.chance)}, within "
        f"the face group {versus(row.within_group_rank1, row.within_group_ci_low, row.within_group_ci_high, row.within_group_chance)}"
        for row in found.itertuples()
    ]
    return (
        "Twins, test rank-1 (mean over split seeds; 95 % intervals resample subjects, then clips): "
        + "; ".join(parts)
        + "."
    )


def original_grid(summary: pd.DataFrame) -> str:
    """Where the paper's Table 2 number sits in each original grid (``original.grid_summary``)."""
    parts = [
        f"on {row['database']} it is the run ranked {row['rank of Table 2']} (median run {row['median']:.3f})"
        for _, row in summary.iterrows()
    ]
    return "Where the paper's Table 2 number sits among the grid's test runs: " + "; ".join(parts) + "."


def best_of_n(table: pd.DataFrame) -> str:
    """How much reporting the best of N runs adds over the median run (``original.best_of_n_table``)."""
    parts = [
        f"{row['database']} {row['best run (reported)'] - row['median run']:+.3f} over {row['runs (N)']} runs"
        for _, row in table.iterrows()
    ]
    return "Reporting the best test run instead of the median adds " + ", ".join(parts) + "."


def fusion_pairs(pairs: pd.DataFrame, vote: str = "MacroMajorityVoteCombiner_accuracy") -> str:
    """How often the original's vote of two models beat both members, per database (``fusion-pairs.csv``)."""
    better = pairs[["SlowFast_0_accuracy", "SlowFast_1_accuracy"]].max(axis=1)
    beats = (pairs[vote] > better).groupby(pairs["database"])
    parts = [f"{count} of {len(group)} pairs on {database}" for (database, group), count in zip(beats, beats.sum())]
    return (
        "In the original's own fusion scores the majority vote beats the better of its two models in "
        + "; ".join(parts)
        + "."
    )


def grid_picks(picks: pd.DataFrame) -> str:
    """Our grids' validation pick against the best test pick and the median run (``grid.grid_picks``)."""
    parts = [
        f"the validation pick scores {row['validation pick (test)']:.3f} on test against the best test pick's "
        f"{row['best test pick']:.3f} and the median run's {row['median run']:.3f} ({int(row['runs'])} runs)"
        for _, row in picks.iterrows()
    ]
    return "In our grid" + ("s" if len(parts) > 1 else "") + ", " + "; ".join(parts) + "."


def mean_map_agreement(cams: Mapping[str, np.ndarray], motion_maps: np.ndarray) -> str:
    """Pearson correlation, over pixels, of each pathway's mean CAM (N, T, H, W) with the mean motion energy
    map (N, H, W): whether the network's average attention falls where the clips move on average."""
    motion = motion_maps.mean(axis=0).ravel()
    parts = []
    for pathway, cam in cams.items():
        mean_cam = cam.mean(axis=(0, 1)).ravel()
        if mean_cam.shape != motion.shape or mean_cam.std() == 0 or motion.std() == 0:
            parts.append(f"{pathway}: not comparable")
        else:
            parts.append(f"{pathway} r = {np.corrcoef(mean_cam, motion)[0, 1]:.2f}")
    return (
        "Over pixels, the mean CAM follows the mean motion energy with a correlation of "
        + ", ".join(parts)
        + " (1: the same map; 0: unrelated)."
    )


def _eer(row) -> str:
    return f"{row['eer']:.3f} ({row['eer_low']:.3f} to {row['eer_high']:.3f})"


def unseen_verification(table: pd.DataFrame, corpus: str, verdict_of) -> str:
    """SlowFast's (``clip``) EER on a corpus's unseen people beside the best baseline's, and ``verdict_of(first,
    second)`` (``mlib.openset.unseen.compare_eer``) read out."""
    rows = table[table["corpus"] == corpus].set_index("method")
    baselines = table[(table["corpus"] == corpus) & (table["kind"] == "baseline")]
    best = baselines.loc[baselines["eer"].idxmin(), "method"]
    reading = {
        "better": "a lower EER than",
        "worse": "a higher EER than",
        "tied": "an EER that cannot be told apart (the intervals overlap) from",
    }[verdict_of("clip", best)]
    return (
        f"On {corpus}'s unseen people, SlowFast's embedding verifies with an EER of {_eer(rows.loc['clip'])}, "
        f"{reading} the best hand-crafted baseline, {best}, at {_eer(rows.loc[best])}; its rank-1 among the "
        f"enrolled unseen people is {rows.loc['clip', 'rank1']:.3f}."
    )


def unseen_headline(table: pd.DataFrame, sizes: pd.DataFrame) -> dict[str, str]:
    """The model card's open-set numbers: SlowFast's (``clip``) measures on the first corpus, each as
    ``value (low to high)``, and that corpus's size (``corpus``)."""
    from mlib.openset.unseen import MEASURES

    clip = table[table["method"] == "clip"].iloc[0]
    size = sizes.set_index("corpus").loc[clip["corpus"]]
    found = {name: f"{clip[name]:.3f} ({clip[name + '_low']:.3f} to {clip[name + '_high']:.3f})" for name in MEASURES}
    return found | {"corpus": f"{clip['corpus']}: {int(size['subjects'])} unseen people, {int(clip['folds'])} folds"}


def unseen_controls(table: pd.DataFrame, verdicts: Mapping[str, str]) -> str:
    """Per corpus, the clip's and one frame's (static-apex, where scored) EER on unseen people and the verdict."""
    rows = table.set_index(["corpus", "method"])
    frame = {
        c: f", static-apex {_eer(rows.loc[(c, 'static-apex')])}" if (c, "static-apex") in rows.index else ""
        for c in verdicts
    }
    return " ".join(
        f"{corpus}: clip {_eer(rows.loc[(corpus, 'clip')])}{frame[corpus]}: {verdict}."
        for corpus, verdict in verdicts.items()
    )


def motion_budget(found: Verdict) -> str:
    """The budget study's verdict (``budget.budget_verdict``) with the configuration it names."""
    best, numbers = found.numbers["best"], found.numbers
    if best is None:
        return "The learning-budget study has no finished run."
    return (
        f"On motion-only, SlowFast {found.verdict}: its best configuration here, {best['label']} on "
        f"{best['clips_per_subject']} clips per subject, reaches rank-1 {best['rank1']:.3f} (95 % interval "
        f"{best['ci_low']:.3f} to {best['ci_high']:.3f}; chance {best['chance']:.3f}) after "
        f"{best['minutes']:.1f} minutes of training; the target is {numbers['target']:g} within "
        f"{numbers['cpu_minutes']:g} minutes."
    )
