"""The way into every command that reads settings: ``--profile``, ``--set``, and flags that are settings.

A command's configuration is resolved once, in one order: the defaults tree
(``mlib/defaults.yaml``) <- ``--profile`` <- ``--set KEY=VALUE`` <- the
command's own flags that were given. Each such flag is a shortcut for one
dotted key (``--dataset`` is ``data.dataset``); a flag left out leaves the
profile's value, so a flag never silently resets a profile. The result is
validated by the rules table like any other configuration and handed on whole.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from mlib.core import config


def add_profile_options(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--profile`` and ``--set``, the same on every command."""
    parser.add_argument(
        "--profile",
        default=default,
        metavar="PROFILE",
        help="a profile (a YAML file, or a shipped profile's name: ci, default, full) merged over "
        "mlib/defaults.yaml" + (f" (default {default})" if default else ""),
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set model.alpha=8 (repeatable)",
    )


def resolved(args: argparse.Namespace, flags: Mapping[str, str] = {}) -> dict:
    """The configuration of this invocation; ``flags`` maps an argument's ``dest`` to the dotted key it sets."""
    given = {key: getattr(args, dest) for dest, key in flags.items() if getattr(args, dest) is not None}
    return config.resolve(config.resolve(args.profile, args.overrides), given)


def default_of(key: str) -> object:
    """A dotted key's value in the defaults tree, for a flag's help text."""
    section, _, name = key.partition(".")
    return config.load_defaults()[section][name]
