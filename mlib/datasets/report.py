"""A people-readable report of a loaded database root (``mlib validate`` and the notebooks)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .base import SEVERITIES, LoadResult


def validation_report(result: LoadResult) -> str:
    """Subjects, clips, clips per subject and the problems grouped by severity, each with its file and row."""
    clips = result.clips
    per_subject = Counter(clips["subject"]) if len(clips) else Counter()
    lines = [
        f"{result.dataset} at {result.root}",
        f"  {len(per_subject)} subjects, {len(clips)} clips (apex rule: {result.apex_rule})",
    ]
    if per_subject:
        counts = " ".join(f"{s}:{n}" for s, n in sorted(per_subject.items()))
        single = sorted(s for s, n in per_subject.items() if n < 2)
        lines.append(f"  clips per subject: {counts}")
        if single:
            lines.append(f"  subjects with a single clip (an identification split must drop them): {' '.join(single)}")
    counts = Counter(p.severity for p in result.problems)
    lines.append("  problems: " + (", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"))
    for severity in SEVERITIES:
        found = result.by_severity(severity)
        if not found:
            continue
        lines.append(f"{severity} ({len(found)}):")
        for problem in found:
            where = Path(problem.file).name if problem.row is not None else problem.file
            row = f" row {problem.row}" if problem.row is not None else ""
            lines.append(f"  {where}{row} [{problem.clip_key}]: {problem.message}")
    return "\n".join(lines)
