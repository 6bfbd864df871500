"""People the network never saw (mlib.openset.unseen): the unseen corpus, its folds, fold-mean measures, the
clip-versus-frame rule, the full profile's plan (no training) and the union of caches (mlib.preprocess.union)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlib.core.config import ConfigError, resolve
from mlib.openset import unseen
from mlib.openset.measures import point_measures
from mlib.preprocess.open_set_split import open_set_split, unseen_corpus_split
from mlib.preprocess.splits import SplitError
from mlib.study.runner import unseen_corpus_names
from mlib.synth import corpus_specs
from tests.test_openset_protocol import clip_table


def synth(**over) -> dict:
    return {**resolve()["synth"], **over}


def test_first_unseen_number_skips_the_corpus_and_starts_a_whole_twin_group():
    assert unseen.first_unseen_number(synth(subjects=12, single_clip_subjects=1, twin_group=2)) == 15
    assert unseen.first_unseen_number(synth(subjects=12, single_clip_subjects=0, twin_group=2)) == 13
    assert unseen.first_unseen_number(synth(subjects=12, single_clip_subjects=1, twin_group=3)) == 16


@pytest.mark.parametrize("mode", ["identity", "motion-only", "twins"])
def test_unseen_people_are_the_generators_next_people_not_the_trained_ones(mode):
    cfg = synth(mode=mode, subjects=4, single_clip_subjects=1, clips_per_subject=3)
    specs = unseen.unseen_specs("casme2", cfg, subjects=4, clips=2)
    assert sorted({int(s.subject) for s in specs}) == [7, 8, 9, 10] and len(specs) == 8
    trained = corpus_specs(
        subjects=4,
        clips_per_subject=3,
        single_clip_subjects=1,
        short_clip_fraction=0.0,
        frame_size=(240, 320),
        fps=200,
        mode=mode,
        seed=cfg["seed"],
    )
    wider = corpus_specs(
        subjects=10,
        clips_per_subject=2,
        single_clip_subjects=0,
        short_clip_fraction=0.0,
        frame_size=(240, 320),
        fps=200,
        mode=mode,
        seed=cfg["seed"],
    )
    same = {s.subject: s.face for s in wider}
    assert all(s.face == same[s.subject] for s in specs)  # the same people a larger corpus would hold
    trained_faces = [s.face for s in trained]
    if mode == "motion-only":  # one shared face: only movement tells the new people apart
        assert all(s.face == trained_faces[0] for s in specs)
    else:  # new faces (twins: whole new pairs)
        assert not any(s.face in trained_faces for s in specs)
    assert len({(s.regions, s.amplitude) for s in specs if s.index == 1}) == 4  # each their own movement


def test_unseen_corpus_folds_rotate_who_is_never_enrolled():
    table = clip_table({f"{i:02d}": 6 for i in range(15, 27)})
    folds = [unseen_corpus_split(table, seed=42, fold=f, folds=3, enrol_clips=2, never_enrolled=0.25) for f in range(3)]
    never = []
    for split in folds:
        assert set(split["part"]) == {"enrol", "probe"}
        enrolled = split[split["part"] == "enrol"].groupby("subject").size()
        assert (enrolled == 2).all() and len(enrolled) == 9
        never.append(set(split["subject"]) - set(enrolled.index))
        assert len(never[-1]) == 3
    assert never[0].isdisjoint(never[1]) and never[1].isdisjoint(never[2])  # each fold its own unknown people
    again = unseen_corpus_split(table, seed=42, fold=1, folds=3, enrol_clips=2, never_enrolled=0.25)
    pd.testing.assert_frame_equal(again, folds[1])


def test_unseen_corpus_with_too_few_people_to_enrol_is_refused():
    with pytest.raises(SplitError, match="can be enrolled with 2 clips"):
        unseen_corpus_split(clip_table({"a": 6, "b": 2, "c": 2}), fold=0, folds=2, enrol_clips=2, never_enrolled=0.3)


def crafted_fold(seed: int, separated: bool) -> dict:
    """Four enrolled people (a-d) and one never enrolled (u), three probes each; genuine scores 0.9 when
    ``separated``, else drawn like the impostors'."""
    rng = np.random.default_rng(seed)
    gallery, probes = ["a", "b", "c", "d"], np.repeat(["a", "b", "c", "d", "u"], 3)
    scores = rng.uniform(0, 0.5, (len(probes), 4))
    if separated:
        scores[np.asarray(probes)[:, None] == np.array(gallery)[None, :]] = 0.9
    return {"scores": scores, "probe_subjects": probes, "gallery_subjects": gallery}


def test_fold_mean_measures_average_the_folds_and_resample_people():
    folds = [crafted_fold(0, True), crafted_fold(1, False)]
    found = unseen.fold_mean_measures(folds, n_boot=100, seed=0)
    each = [point_measures(f["scores"], f["probe_subjects"], f["gallery_subjects"]) for f in folds]
    for name in unseen.MEASURES:
        assert found["measures"][name] == pytest.approx((each[0][name] + each[1][name]) / 2)
        low, high = found["intervals"][name]
        assert low <= high
    assert found["measures"]["eer"] > 0 and each[0]["eer"] == 0
    perfect = unseen.fold_mean_measures([crafted_fold(0, True), crafted_fold(2, True)], n_boot=50)
    assert perfect["intervals"]["eer"] == (0.0, 0.0) and perfect["measures"]["rank1"] == 1
    assert found["folds"] == 2 and len(found["curves"]["roc"]["fmr"]) > 2
    row = unseen.measures_row("c", "clip", "slowfast", found)
    assert row["eer_low"] == found["intervals"]["eer"][0] and row["folds"] == 2


def eer_table(clip: tuple, frame: tuple) -> pd.DataFrame:
    rows = [
        {"corpus": "c", "method": m, "kind": "slowfast", "eer": e, "eer_low": lo, "eer_high": hi}
        for m, (e, lo, hi) in (("clip", clip), ("static-apex", frame))
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "clip,frame,verdict",
    [
        ((0.05, 0.02, 0.08), (0.30, 0.20, 0.40), unseen.CLIP_BETTER),
        ((0.30, 0.20, 0.40), (0.05, 0.02, 0.08), unseen.FRAME_BETTER),
        ((0.10, 0.05, 0.21), (0.25, 0.20, 0.30), unseen.TIED),  # the intervals overlap
    ],
)
def test_clip_versus_frame_reads_the_eer_intervals(clip, frame, verdict):
    assert unseen.clip_versus_frame(eer_table(clip, frame), "c") == verdict


def test_clip_versus_frame_without_a_frame_variant_is_not_measured():
    table = eer_table((0.1, 0.05, 0.2), (0.1, 0.05, 0.2))
    assert unseen.clip_versus_frame(table[table["method"] == "clip"], "c") == unseen.NOT_MEASURED


def test_the_full_profile_plans_fold_runs_on_each_database_and_their_union():
    cfg = resolve("configs/profiles/full.yaml")
    plan = unseen.plan(cfg, unseen_corpus_names(cfg))
    folds, variants = cfg["split"]["open_set"]["folds"], cfg["unseen"]["variants"]
    assert list(dict.fromkeys(plan["corpus"])) == ["casme2", "samm", "smic", unseen.UNION]
    assert (plan["run"] == "trained").all()
    assert unseen.runs_trained(plan) == 4 * folds * len(variants) and folds >= 2
    assert set(plan["variant"]) == set(variants) >= {"clip", "static-apex", "shuffled", "difference"}


def test_the_default_profile_trains_no_network_for_the_page():
    cfg = resolve("configs/profiles/default.yaml")
    names = unseen_corpus_names(cfg)
    plan = unseen.plan(cfg, names)
    assert names == ["casme2-motion-only", "casme2", "casme2-twins"]
    assert unseen.runs_trained(plan) == 0 and len(plan) == 3 * cfg["split"]["open_set"]["folds"] * 4
    assert "0 networks trained" in unseen.scope(cfg, names)
    with pytest.raises(ConfigError, match="unseen.variants: static-first not in controls.variants"):
        unseen.plan(resolve(cfg, {"unseen.variants": ["clip", "static-first"]}), names)


def test_open_set_settings_are_validated():
    with pytest.raises(ConfigError, match="unseen.variants"):
        resolve(None, {"unseen.variants": ["clip", "sideways"]})
    with pytest.raises(ConfigError, match="unseen.people"):
        resolve(None, {"unseen.people": 2})


@pytest.fixture(scope="module")
def layout_caches(tmp_path_factory):
    """Tiny synthetic corpora in the CASME II, SAMM and SMIC layouts, each prepared at two face sizes."""
    from mlib.datasets import load_dataset
    from mlib.preprocess import prepare_cache
    from tests.tiny_caches import write_layout_corpora

    base = tmp_path_factory.mktemp("union")
    roots = write_layout_corpora(
        base / "data", subjects=3, clips_per_subject=3, frame_size=(96, 128), short_clip_fraction=0.0, seed=0
    )
    caches = {}
    for size in (32, 48):
        caches[size] = {
            name: prepare_cache(
                load_dataset(name, root).clips,
                base / "cache",
                dataset=name,
                root=root,
                window=8,
                face_size=size,
                workers=1,
                progress=False,
            )
            for name, root in roots.items()
        }
    return base, caches


def test_union_of_three_databases_keeps_their_people_apart(layout_caches):
    from mlib.preprocess import load_clip, load_index
    from mlib.preprocess.union import union_cache

    base, caches = layout_caches
    union = union_cache(caches[32], base / "cache")
    index = load_index(union)
    parts = {name: load_index(cache) for name, cache in caches[32].items()}
    assert len(index) == sum(len(p) for p in parts.values())
    assert index["subject"].nunique() == sum(p["subject"].nunique() for p in parts.values())
    assert {s.split("-")[0] for s in index["subject"]} == {"casme2", "samm", "smic"}
    row = index[index["clip_key"] == f"samm-{parts['samm']['clip_key'].iloc[0]}"].iloc[0]
    np.testing.assert_array_equal(load_clip(union, row), load_clip(caches[32]["samm"], parts["samm"].iloc[0]))
    assert union_cache(caches[32], base / "cache") == union  # the same parts, the same union
    folds = [open_set_split(index, fold=f, folds=3, val_size=0.2) for f in range(3)]
    unseen_people = [set(s.loc[s["part"].isin(("enrol", "probe")), "subject"]) for s in folds]
    assert set().union(*unseen_people) == set(index["subject"])  # folds over the union's subjects


def test_union_of_caches_prepared_differently_is_refused_in_one_line(layout_caches):
    from mlib.preprocess.union import UnionError, union_cache

    base, caches = layout_caches
    mixed = {"casme2": caches[32]["casme2"], "samm": caches[48]["samm"]}
    with pytest.raises(UnionError, match=r"face_size 48 differs from .*casme2.*'s 32; prepare every database") as err:
        union_cache(mixed, base / "cache")
    assert "\n" not in str(err.value)
    with pytest.raises(UnionError, match="two or more"):
        union_cache({"casme2": caches[32]["casme2"]}, base / "cache")


def test_the_page_figures_draw_every_method_and_corpus():
    from mlib.plots.openset import control_eer_figure, roc_det_figure

    found = unseen.fold_mean_measures([crafted_fold(1, False), crafted_fold(2, True)], n_boot=20)
    curves = {("c", m): found["curves"] for m in ("clip", "lbp-top")}
    fig = roc_det_figure(curves, ["clip", "lbp-top"], "c")
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]  # two methods and the chance / EER diagonal
    rows = pd.DataFrame(
        [unseen.measures_row(corpus, m, "slowfast", found) for corpus in ("c", "d") for m in ("clip", "static-apex")]
    )
    fig = control_eer_figure(rows)
    assert [ax.get_title() for ax in fig.axes] == ["c", "d"]
    shown = unseen.shown_measures(rows)
    assert (
        shown.loc[0, "eer"] == f"{found['measures']['eer']:.3f} ({found['intervals']['eer'][0]:.3f} to "
        f"{found['intervals']['eer'][1]:.3f})"
    )


def test_takeaways_read_the_table():
    from mlib.report import takeaways

    table = eer_table((0.05, 0.02, 0.08), (0.30, 0.20, 0.40)).assign(rank1=0.9)
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    {
                        "corpus": "c",
                        "method": "lgbp",
                        "kind": "baseline",
                        "eer": 0.2,
                        "eer_low": 0.15,
                        "eer_high": 0.25,
                        "rank1": 0.5,
                    },
                    {
                        "corpus": "c",
                        "method": "fhofo",
                        "kind": "baseline",
                        "eer": 0.4,
                        "eer_low": 0.3,
                        "eer_high": 0.5,
                        "rank1": 0.3,
                    },
                ]
            ),
        ],
        ignore_index=True,
    )
    said = takeaways.unseen_verification(table, "c", lambda a, b: unseen.compare_eer(table, "c", a, b))
    assert said == (
        "On c's unseen people, SlowFast's embedding verifies with an EER of 0.050 (0.020 to 0.080), a "
        "lower EER than the best hand-crafted baseline, lgbp, at 0.200 (0.150 to 0.250); its rank-1 among "
        "the enrolled unseen people is 0.900."
    )
    table = table.assign(
        folds=3,
        **{f"{m}{end}": 0.5 for m in unseen.MEASURES[1:-1] for end in ("", "_low", "_high")},
        rank1_low=0.8,
        rank1_high=1.0,
    )
    glued = takeaways.unseen_headline(table, pd.DataFrame([{"corpus": "c", "subjects": 12}]))
    assert glued["eer"] == "0.050 (0.020 to 0.080)" and glued["rank1"] == "0.900 (0.800 to 1.000)"
    assert glued["corpus"] == "c: 12 unseen people, 3 folds" and set(glued) == {*unseen.MEASURES, "corpus"}
    verdicts = {"c": unseen.clip_versus_frame(table, "c")}
    assert takeaways.unseen_controls(table, verdicts) == (
        f"c: clip 0.050 (0.020 to 0.080), static-apex 0.300 (0.200 to 0.400): {unseen.CLIP_BETTER}."
    )


@pytest.mark.slow
def test_real_data_path_trains_each_fold_on_each_database_and_their_union(tmp_path):
    """``study.data: real`` on two tiny generated databases (CASME II and SAMM layouts): every variant trained on
    every fold's training subjects, on each database and on their union, and scored on the fold's unseen people."""
    from mlib.datasets import load_dataset
    from mlib.preprocess import prepare_cache
    from mlib.synth.layouts import LAYOUTS, write_corpus

    roots, caches = {}, {}
    for layout in ("casme2", "samm"):
        specs = corpus_specs(
            subjects=6,
            clips_per_subject=4,
            single_clip_subjects=0,
            short_clip_fraction=0.0,
            frame_size=(96, 128),
            fps=LAYOUTS[layout].fps,
            seed=3,
        )
        roots[layout] = write_corpus(tmp_path / layout, layout, specs, workers=1, progress=False)
        caches[layout] = prepare_cache(
            load_dataset(layout, roots[layout]).clips,
            tmp_path / "cache",
            dataset=layout,
            root=roots[layout],
            window=16,
            face_size=32,
            workers=1,
            progress=False,
        )
    cfg = resolve(
        None,
        {
            "study": {"data": "real", "datasets": ["casme2", "samm"], "roots": {k: str(v) for k, v in roots.items()}},
            "controls": {"variants": ["clip"]},
            "unseen": {
                "variants": ["clip"],
                "features": ["lbp-top"],
                "bootstrap": 20,
                "union": True,
                "union_face_size": 32,
            },
            "prepare": {"window": 16, "cache_dir": str(tmp_path / "cache"), "workers": 1},
            "split": {"val_size": 0.25, "open_set": {"folds": 2}},
            "model": {"frames": 8, "size": 32, "width": 8},
            "train": {"epochs": 1, "batch_size": 6, "device": "cpu", "warmup_epochs": 0},
        },
    )
    names = unseen_corpus_names(cfg)
    assert names == ["casme2", "samm", unseen.UNION]
    corpora = {
        name: {
            "cache": str(caches[name]),
            "runs_dir": str(tmp_path / name / "runs"),
            "mode": "identity",
            "overrides": {"data.dataset": name},
        }
        for name in ("casme2", "samm")
    }
    corpora[unseen.UNION] = {
        "union_of": ["casme2", "samm"],
        "runs_dir": str(tmp_path / "union" / "runs"),
        "mode": "identity",
        "overrides": {},
    }
    table, sizes, curves = unseen.evaluate(cfg, corpora, tmp_path / "out")
    assert list(table["corpus"]) == ["casme2", "casme2", "samm", "samm", unseen.UNION, unseen.UNION]
    assert list(table["method"]) == ["clip", "lbp-top"] * 3 and (table["folds"] == 2).all()
    assert list(sizes["subjects"]) == [6, 6, 12] and sizes["first_subject"].isna().all()
    for name in names:  # one run per fold, on that fold's training subjects only
        runs = sorted((tmp_path / name / "runs").iterdir())
        assert len(runs) == 2
    assert unseen.runs_trained(unseen.plan(cfg, names)) == 6
