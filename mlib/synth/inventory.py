"""Synthetic corpora with a real database's clip inventory (``synth.inventory``).

With an inventory, the generator writes the subjects and clips of the
database's coding sheet: the original code's split list for that database
(``mlib/paper/reference/kay2023_original/``, read from
``KayTuval/PersonRecognition_using_Facial_MicroExpressions`` at commit
7b05a76f967174ab89765d3463ff915a349b5cac, ``Output/classes/...``) plus the
sheet rows that list lacks (``SHEET_ONLY``): CASME II 26 subjects / 255 clips
(254 listed), SAMM 29 / 159 (153 listed), SMIC 16 / 164 (157 listed). The
protocol ``kay2023-original`` then assigns every listed clip as the original did
and puts the others in its ``unlisted`` part, as on the real sheets; ``kay2023``
meets the sheets' counts per subject. Only names and counts are real: faces, timings (onset, apex, offset,
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
        raise ValueError(
            f"synth.inventory {setting!r} needs the {setting} layout; got layout {layout!r} "
            "(use inventory 'original' to take each layout's own inventory)"
        )
    return name


SHEET_ONLY = {
    # CASME2-coding-20140508.xlsx has 255 rows; the original's list lacks this one. The original dropped sheet
    # row 29 ("the value '/' in ApexFrame") and SAMM rows 125 and 132 ("Apex is smaller then Onset or bigger the
    # Offset"): ``_drop_problematic_rows`` in MicroExpressionsCode/datasets/DatasetsUtils.py at 7b05a76.
    "casme2": [("04", "EP12_01f")],
    # SAMM_Micro_FACS_Codes_v2.xlsx has 159 rows: the list lacks the four single-clip subjects (the original
    # dropped subjects with fewer than two clips) and the two clips whose apex lies outside onset..offset.
    # The single-clip subjects' clip names are not in any file we hold: ``<subject>_1_1`` stands in for them.
    "samm": [
        ("023", "023_1_1"),
        ("024", "024_1_1"),
        ("028", "028_4_1"),
        ("031", "031_1_1"),
        ("032", "032_3_1"),
        ("036", "036_1_1"),
    ],
    # SMIC-HS-E has 164 clips (negative 70, positive 51, surprise 43); the list has 157 (65, 51, 41). Six
    # names are the gaps in the list's numbering (s3_ne_03, s3_ne_20, s4_ne_05, s4_ne_06 and s9_sur_02 are
    # also the SMIC-HS clips other studies report missing from their downloads). The seventh, a surprise
    # clip, cannot be known from the list: s20_sur_06 (after the list's last surprise clip of s20) stands in.
    "smic": [
        ("01", "s1_ne_02"),
        ("03", "s3_ne_03"),
        ("03", "s3_ne_20"),
        ("04", "s4_ne_05"),
        ("04", "s4_ne_06"),
        ("09", "s9_sur_02"),
        ("20", "s20_sur_06"),
    ],
}
"""Per database, the ``(subject id, clip name)`` rows of its coding sheet that the original's list lacks."""


def inventory(name: str) -> list[tuple[str, list[str]]]:
    """``[(subject id, [clip names])]`` of database ``name``'s coding sheet (the original's list and
    ``SHEET_ONLY``), subjects and clips in natural order."""
    from mlib.paper.original import original_split_list

    listed = original_split_list(name)
    rows = list(zip(listed["subject"], listed["clip"])) + SHEET_ONLY[name]
    subjects = sorted({s for s, _ in rows}, key=natural_key)
    return [(s, sorted((c for t, c in rows if t == s), key=natural_key)) for s in subjects]


def generator_counts(name: str) -> dict:
    """The ``corpus_specs`` counts that cover inventory ``name``: its subjects, each with the largest count
    (``restrict`` then keeps each subject's own count, one clip for a single-clip subject)."""
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
