"""The configuration tree: defaults, profiles and overrides, validated once."""

import pytest

from mlib.core import config


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


def test_dotted_and_nested_overrides_resolve_alike():
    dotted = config.resolve(overrides={"model.alpha": 8, "run.cache": "cache/x", "study.roots": {"samm": "s"}})
    nested = config.resolve(
        overrides={"model": {"alpha": 8}, "run": {"cache": "cache/x"}, "study": {"roots": {"samm": "s"}}}
    )
    assert dotted == nested == config.resolve(overrides=["model.alpha=8", "run.cache=cache/x", "study.roots.samm=s"])
    assert dotted["study"]["roots"]["casme2"] == config.load_defaults()["study"]["roots"]["casme2"]
    assert config.dotted_overrides(["train.lr=1e-2", "grid.seeds=[0, 1]"]) == {"train.lr": 0.01, "grid.seeds": [0, 1]}
    with pytest.raises(config.ConfigError, match="unknown configuration key 'model.alpah'"):
        config.resolve(overrides={"model.alpah": 8})


@pytest.mark.parametrize("old, new", sorted(config.MOVED_KEYS.items()))
def test_an_old_key_in_a_profile_names_its_new_key(old, new, tmp_path):
    section, key = old.split(".")
    profile = tmp_path / "mine.yaml"
    profile.write_text(f"{section}:\n  {key}: 1\n")
    with pytest.raises(config.ConfigError) as caught:
        config.resolve(profile)
    assert str(caught.value) == f"{old} is now {new}: rename it (one section per concern, mlib/defaults.yaml)"
    assert config.resolve(overrides={new: config.resolve()[new.split(".")[0]][new.split(".")[1]]})  # the new key exists
