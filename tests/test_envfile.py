"""The conda environment is derived from requirements.txt, which agrees with constraints.txt."""

from pathlib import Path

from mlib.core import envfile

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_is_derived_from_requirements():
    expected = envfile.render(ROOT / "requirements.txt")
    assert (ROOT / "environment.yml").read_text() == expected, "run `make environment.yml`"


def test_requirements_agree_with_constraints():
    pins = dict(line.split("==") for line in envfile.requirements(ROOT / "constraints.txt"))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    for req in envfile.requirements(ROOT / "requirements.txt"):
        name, version = req.split("==")
        assert pins.get(name.lower()) == version, f"{name}: requirements.txt and constraints.txt disagree"
