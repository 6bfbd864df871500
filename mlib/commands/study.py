"""``mlib study``: the command line of :mod:`mlib.study.runner`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlib.commands.options import add_profile_options
from mlib.core import config as mconfig
from mlib.study import notebooks
from mlib.study.runner import EXECUTED_DIR, REAL_FOLDERS, StudyRunner, check_real_data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser, default="configs/profiles/default.yaml")
    parser.add_argument("--data-root", help="real data: the folder holding CASME2/, SAMM/ and SMIC/")
    parser.add_argument("--executed", default=str(EXECUTED_DIR), help="where executed notebooks go")
    parser.add_argument("--check", action="store_true", help="only check that the GPU and the databases are there")
    parser.add_argument("--force", action="store_true", help="execute every notebook even if up to date")


class StudyError(ValueError):
    """Study input that cannot run (a ``--data-root`` that is not real data); the message names it."""


def check_data_root(data_root: str | Path, cfg: dict, profile: str | Path) -> None:
    """``--data-root`` means real data: refused, in one line, with a synthetic profile (which would write
    a generated corpus into the folder named as the real databases) and when it is not a folder."""
    if cfg["study"]["data"] != "real":
        raise StudyError(
            f"--data-root {data_root}: names real data, but {profile} is a synthetic profile "
            f"(study.data: {cfg['study']['data']}); use a real-data profile "
            "(configs/profiles/full.yaml) or leave --data-root out"
        )
    root = Path(data_root)
    if not root.is_dir():
        raise StudyError(
            f"--data-root {root}: {'a file' if root.exists() else 'no such folder'}; "
            "expected the folder holding CASME2/, SAMM/ and SMIC/"
        )


def main(args: argparse.Namespace) -> int:
    """Every failure is one line starting ``mlib study:`` (input errors through ``mlib.commands.cli``)."""
    overrides = list(args.overrides)
    if args.data_root:
        check_data_root(args.data_root, mconfig.resolve(Path(args.profile), overrides), args.profile)
        overrides += [f"study.roots.{name}={Path(args.data_root) / folder}" for name, folder in REAL_FOLDERS.items()]
    study = StudyRunner(Path(args.profile), overrides, Path(args.executed), force=args.force)
    if args.check:
        missing = check_real_data(study.cfg)
        for line in missing:
            print(f"missing: {line}", file=sys.stderr)
        if missing:
            print("Put each database under the data root as book/reproduce.md shows, then rerun.", file=sys.stderr)
            return 1
        print("GPU and databases found.")
        return 0
    try:
        executed = study.run()
    except notebooks.NotebookFailed as exc:
        print(f"mlib study: {exc}", file=sys.stderr)
        return 1
    print(f"[study {study.name}] {len(executed)} notebooks in {args.executed}; manifest {study.results / 'study.json'}")
    return 0
