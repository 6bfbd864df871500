"""Synthetic corpora with a real database's clip inventory (``synth.inventory``).

With an inventory, the generator writes the subjects and clips of the original
code's split list for that database (``mlib/reference/kay2023_original/``, read
from ``KayTuval/PersonRecognition_using_Facial_MicroExpressions`` at commit
7b05a76f967174ab89765d3463ff915a349b5cac, ``Output/classes/...``): the same
subject ids, clip names and clips per subject (CASME II 26 subjects / 254 clips,
SAMM 25 / 153, SMIC 16 / 157). The protocol ``kay2023-original`` then assigns
every clip as the original did, and ``kay2023`` meets the same counts per
subject. Only names and counts are real: faces, timings (onset, apex, offset,
clip lengths), moving regions and emotions stay synthetic. A SMIC clip name
carries an emotion code (``s1_ne_01``); the annotation's Emotion column follows
the name, while ``synth_truth`` keeps the rendered emotion.

The generator draws ``subjects = len(inventory subjects)`` with
``clips_per_subject = the largest count`` and keeps, per subject, as many clips
as the inventory lists (``restrict``); the k-th generated subject takes the
k-th inventory subject in natural order, its clips in natural order.
"""

from __future__ import annotations

from mlib.datasets.base import natural_key

INVENTORIES = ("none", "original", "casme2", "samm", "smic")
"""``synth.inventory`` values: none (the settings' own counts), original (the inventory of the database
whose layout is written), or one database, which must then be the layout written."""


def inventory_name(setting: str, layout: str) -> str | None:
    """The database whose inventory a corpus in ``layout`` takes, or None for ``none``."""
    if setting not in INVENTORIES:
        raise ValueError(f"synth.inventory {setting!r}: expected one of {', '.join(INVENTORIES)}")
    if setting == "none":
        return None
    name = layout if setting == "original" else setting
    if name != layout:
        raise ValueError(f"synth.inventory {setting!r} needs the {setting} layout; got layout {layout!r} "
                         "(use inventory 'original' to take each layout's own inventory)")
    return name


def inventory(name: str) -> list[tuple[str, list[str]]]:
    """``[(subject id, [clip names])]`` of database ``name``, subjects and clips in natural order."""
    from mlib.splits import original_split_list

    listed = original_split_list(name)
    subjects = sorted(set(listed["subject"]), key=natural_key)
    return [(s, sorted(listed.loc[listed["subject"] == s, "clip"], key=natural_key)) for s in subjects]


def generator_counts(name: str) -> dict:
    """The ``corpus_specs`` counts that cover inventory ``name``: its subjects, each with the largest count."""
    clips = inventory(name)
    return {"subjects": len(clips), "clips_per_subject": max(len(c) for _, c in clips), "single_clip_subjects": 0}


def restrict(specs: list, name: str) -> tuple[list, dict[tuple[str, int], tuple[str, str]]]:
    """Keep as many clips per subject as inventory ``name`` lists; return them with their names,
    ``{(spec.subject, spec.index): (subject id, clip name)}`` (for ``layouts.write_corpus``)."""
    clips = inventory(name)
    numbers = sorted({s.subject for s in specs}, key=natural_key)
    if len(numbers) != len(clips):
        raise ValueError(f"inventory {name}: {len(clips)} subjects, but the specs hold {len(numbers)}")
    by_number = dict(zip(numbers, clips))
    kept = [s for s in specs if s.index <= len(by_number[s.subject][1])]
    names = {(s.subject, s.index): (by_number[s.subject][0], by_number[s.subject][1][s.index - 1]) for s in kept}
    if len(kept) != sum(len(c) for _, c in clips):
        raise ValueError(f"inventory {name}: the specs hold too few clips for some subjects")
    return kept, names
