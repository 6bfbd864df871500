"""The ``mlib`` command line: one sub-command per step of the study.

Each sub-command lives in its own module, which provides
``add_arguments(parser)`` and ``main(args) -> int``. Modules are imported only
when their command runs, so ``mlib --help`` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "synth": ("mlib.synth.cli", "write a synthetic micro-expression corpus in a real database's layout"),
    "validate": ("mlib.datasets.cli", "check a database root and its annotation spreadsheet; report problems"),
    "prepare": ("mlib.preprocess.cli", "crop faces, cut 64-frame apex windows and cache them"),
    "split": ("mlib.splits", "write train/validation/test split files for a prepared cache"),
    "train": ("mlib.train", "train and evaluate one SlowFast identifier; writes a run folder"),
    "bench": ("mlib.bench", "benchmark training and inference throughput"),
    "grid": ("mlib.grid", "run a grid of training configurations and collect grid.csv"),
    "ensemble": ("mlib.ensemble", "vote over the saved predictions of finished runs"),
    "gradcam": ("mlib.gradcam.cli", "Grad-CAM maps, figures and localisation scores for a run"),
    "baseline": ("mlib.baseline", "the paper's Table 4 baseline: LBP-TOP / LGBP / FHOFO features and an SVM"),
    "study": ("mlib.study", "run the whole study for a profile: the notebooks, executed into the book"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: mlib COMMAND [options]   (mlib COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"mlib: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"mlib {name}", description=help_)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
