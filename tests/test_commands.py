"""One way in: every command that reads settings takes --profile and --set; only mlib.commands parses arguments."""

import argparse
import ast
import importlib

import pytest

from mlib.commands import cli
from mlib.core import imports


@pytest.mark.parametrize("name", [n for n in cli.COMMANDS if n not in cli.FROM_INPUTS])
def test_every_command_that_reads_settings_takes_profile_and_set(name):
    parser = argparse.ArgumentParser()
    importlib.import_module(cli.COMMANDS[name][0]).add_arguments(parser)
    options = {o for action in parser._actions for o in action.option_strings}
    assert {"--profile", "--set"} <= options


def test_a_flag_that_is_a_setting_does_not_reset_the_profile(tmp_path):
    from mlib.commands import split

    profile = tmp_path / "mine.yaml"
    profile.write_text("split:\n  seed: 7\n  val_size: 0.3\n")
    parser = argparse.ArgumentParser()
    split.add_arguments(parser)
    args = parser.parse_args(["--cache", "c", "--profile", str(profile), "--set", "split.seed=8", "--val-size", "0.2"])
    from mlib.commands.options import resolved

    got = resolved(args, split.FLAGS)["split"]
    assert (got["seed"], got["val_size"], got["protocol"]) == (8, 0.2, "half")  # --set over profile, flag over --set


def test_only_the_commands_layer_imports_argparse():
    found = []
    for path in imports.PACKAGE_DIR.rglob("*.py"):
        if path.parent.name == "commands":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "argparse" in names:
                found.append(str(path.relative_to(imports.PACKAGE_DIR)))
    assert found == []
