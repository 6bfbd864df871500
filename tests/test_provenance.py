"""Every page states its data the same way: synthetic, real, or unknown."""

from tiny_caches import write_tiny_cache

from mlib.report.provenance import cache_banner, data_banner


def test_banner_says_synthetic_real_or_unknown():
    assert data_banner(True, "casme2").startswith("**Data: SYNTHETIC** (casme2, written by `mlib synth`)")
    assert data_banner(False, "samm, smic").startswith("**Data: REAL** (samm, smic)")
    assert data_banner(None, "smic").startswith("**Data: origin unknown** (smic)")


def test_cache_banner_reads_the_caches_root(tmp_path):
    cache = write_tiny_cache(tmp_path, subjects=2, clips_per_subject=1, window=2, side=8)
    assert cache_banner(cache) == data_banner(None, "casme2")  # the tiny cache names no root
