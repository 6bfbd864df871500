"""Which data a page's numbers come from, said the same way on every page.

Every notebook states, right after its configuration, whether its data is the
synthetic corpus of ``mlib synth`` (drawn faces, no real person: the numbers
test the method and the code, not the paper's claims) or a licensed database.
"""

from __future__ import annotations

from pathlib import Path

from mlib.preprocess.cache_settings import cache_is_synthetic, read_cache_settings


def data_banner(synthetic: bool | None, dataset: str) -> str:
    """The page's one-line data statement (Markdown); ``synthetic=None`` when it cannot be told."""
    if synthetic is None:
        return (
            f"**Data: origin unknown** ({dataset}): the cache names no database root that exists here, "
            "so whether its faces are real cannot be told."
        )
    if synthetic:
        return (
            f"**Data: SYNTHETIC** ({dataset}, written by `mlib synth`): drawn faces with programmed "
            "micro-movements, no real person. The numbers test the method and the code, not the paper's claims."
        )
    return (
        f"**Data: REAL** ({dataset}): licensed databases; their frames are biometric data and are not "
        "published here unless the licence allows."
    )


def cache_banner(cache: str | Path) -> str:
    """``data_banner`` for a prepared cache, from the settings it recorded."""
    return data_banner(cache_is_synthetic(cache), read_cache_settings(cache).get("dataset", "unknown"))
