"""Embeddings, cosine scores and measures of a tiny run and of a baseline on an open-set split."""

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_runs import train_open_set_run

from mlib.openset import scores as sc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_open_set_run(tmp_path_factory.mktemp("openset_run"))


def test_templates_and_cosine_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    gallery, names = sc.templates(x, ["b", "a", "b"])
    assert names == ["a", "b"]
    np.testing.assert_allclose(gallery, [[0, 1], [1, 0]])
    np.testing.assert_allclose(sc.cosine_scores(np.array([[1.0, 1.0]]), gallery), [[2**-0.5, 2**-0.5]])


def test_the_embedding_is_what_the_classifier_sees(trained):
    from mlib.preprocess import load_clip, load_index
    from mlib.training.train import load_run, predict

    model, plan, classes = load_run(trained["run"])
    rows = load_index(trained["cache"]).iloc[:3]
    clips = np.stack([load_clip(trained["cache"], row) for _, row in rows.iterrows()])
    x = sc.model_embeddings(model, clips, plan, rows)
    assert x.shape == (3, model.classifier().in_features)
    with torch.no_grad():
        logits = model.classifier()(torch.from_numpy(x).float())
    np.testing.assert_allclose(
        torch.softmax(logits, 1).numpy(), predict(model, clips, plan, index_rows=rows), atol=1e-5
    )
    assert len(classes) == 6  # only fold 0's training subjects are classes


def test_run_on_an_open_set_split_gives_scores_measures_and_a_threshold(trained):
    from mlib.preprocess.splits import load_split

    split = load_split(trained["split"])
    out = sc.evaluate_run(trained["run"], trained["split"], n_boot=50, fmr=0.1)
    probes = split[split["part"] == "probe"]
    assert out["scores"].shape == (len(probes), 2)  # 3 unseen subjects, one never enrolled
    assert list(out["probe_keys"]) == list(probes["clip_key"])
    assert set(out["gallery_subjects"]) == set(split.loc[split["part"] == "enrol", "subject"])
    assert np.all(np.abs(out["scores"]) <= 1 + 1e-9)
    impostor = out["validation_impostor"]
    assert (impostor >= out["threshold"]["value"]).mean() <= 0.1
    for key, (low, high) in out["intervals"].items():
        assert low <= high, key


def test_baseline_features_on_the_same_split(trained):
    out = sc.evaluate_baseline(trained["cache"], trained["split"], "lbp-top", n_boot=20)
    assert out["scores"].shape[1] == 2
    assert 0 <= out["measures"]["eer"] <= 1


def test_standardising_uses_the_training_subjects_only():
    split = pd.DataFrame(
        {
            "clip_key": list("abcdef"),
            "subject": ["t", "t", "u", "u", "v", "v"],
            "part": ["train", "val", "enrol", "probe", "enrol", "probe"],
        }
    )
    x = np.array([[10.0, 1.0], [12.0, 3.0], [100.0, 5.0], [100.0, 5.0], [0.0, -5.0], [0.0, -5.0]])
    f = sc.standardiser(x[:2])
    np.testing.assert_allclose(f(x[:2]), [[-1, -1], [1, 1]])
    with pytest.raises(ValueError, match="6 split rows"):
        sc.open_set_scores(x[:5], split)


def test_a_split_whose_unseen_people_the_run_trained_on_is_refused(trained):
    other_fold = trained["split"].with_name(trained["split"].name.replace("fold0", "fold1"))
    with pytest.raises(ValueError, match="were trained on by run"):
        sc.evaluate_run(trained["run"], other_fold, n_boot=5)
