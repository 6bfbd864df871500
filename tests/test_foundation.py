"""The configuration tree, atomic writes and the derived conda environment."""

from pathlib import Path

import numpy as np
import pytest

from mlib import config, envfile, io

ROOT = Path(__file__).resolve().parents[1]


def test_overrides_are_typed_and_validated():
    cfg = config.resolve(overrides=["model.alpha=8", "train.lr=1e-2", "train.bf16=true"])
    assert cfg["model"]["alpha"] == 8
    assert cfg["train"]["lr"] == pytest.approx(0.01)
    assert cfg["train"]["bf16"] is True
    assert config.load_defaults()["model"]["alpha"] == 4


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.alpah=8", "unknown configuration key 'model.alpah'"),
        ("model.alpha=eight", "model.alpha: expected int"),
        ("train.crop_scale=[0.5, high]", r"train.crop_scale\[1\]: expected float"),
        ("study.datasets=casme2", "study.datasets: expected a list"),
        ("model", "expected key.sub=value"),
    ],
)
def test_bad_overrides_are_refused(override, message):
    with pytest.raises(config.ConfigError, match=message):
        config.resolve(overrides=[override])


def test_profile_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(config.ConfigError, match="bad.yaml: not valid YAML"):
        config.resolve(bad)
    with pytest.raises(config.ConfigError, match="missing.yaml: no such"):
        config.resolve(tmp_path / "missing.yaml")


def test_config_hash_is_stable_and_sensitive():
    a = config.resolve()
    assert config.config_hash(a) == config.config_hash(config.resolve())
    assert config.config_hash(a) != config.config_hash(config.resolve(overrides=["model.alpha=8"]))


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path):
    target = tmp_path / "result.json"
    io.write_json(target, {"rank1": 0.5})
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text().strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_write_npy_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    io.write_npy(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), array)


def test_environment_yml_is_derived_from_requirements():
    expected = envfile.render(ROOT / "requirements.txt")
    assert (ROOT / "environment.yml").read_text() == expected, "run `make environment.yml`"


def test_requirements_agree_with_constraints():
    pins = dict(line.split("==") for line in envfile.requirements(ROOT / "constraints.txt"))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    for req in envfile.requirements(ROOT / "requirements.txt"):
        name, version = req.split("==")
        assert pins.get(name.lower()) == version, f"{name}: requirements.txt and constraints.txt disagree"
