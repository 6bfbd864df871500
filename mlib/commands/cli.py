"""The ``mlib`` command line: one sub-command per step of the study.

Each sub-command lives in its own module of this package (``mlib.commands.<name>``), which provides
``add_arguments(parser)`` and ``main(args) -> int``; only this layer parses arguments. Every command that
reads settings takes ``--profile`` and ``--set`` (``mlib.commands.options``: defaults <- profile <- --set
<- the command's own flags); ``FROM_INPUTS`` read theirs from their inputs instead (a cache and split, a
run folder, a gallery, bench files), so they take neither. Modules are imported only
when their command runs, so ``mlib --help`` does not pay for importing torch.

Bad input and a bad environment are the user's to fix, so they get one line,
``mlib <command>: <file>: <problem>``, never a traceback (``--debug`` shows it):
the project's own error types (any exception class defined in ``mlib``:
ConfigError, DatasetError, DataError, SplitError, PrepareError, TrainingError,
GridError, EnsembleError, BaselineError, ...), ``ValueError`` (unparseable
files: pandas, JSON, YAML), ``OSError`` (missing files, permissions, a path
that is a file, a full disk). An error with an ``exit_code`` exits with it (``mlib
identify``'s kinds of bad input), any other with 1. Ctrl-C exits 130 and a closed pipe
(``mlib split ... | head -1``) 141, the shell's codes for those signals.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

EXIT_ERROR = 1
FROM_INPUTS = ("baseline", "enroll", "identify", "cost")
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

COMMANDS = {
    "synth": ("mlib.commands.synth", "write a synthetic micro-expression corpus in a real database's layout"),
    "validate": ("mlib.commands.validate", "check a database root and its annotation spreadsheet; report problems"),
    "prepare": ("mlib.commands.prepare", "crop faces, cut 64-frame apex windows and cache them"),
    "split": ("mlib.commands.split", "write train/validation/test split files for a prepared cache"),
    "train": ("mlib.commands.train", "train and evaluate one SlowFast identifier; writes a run folder"),
    "bench": ("mlib.commands.bench", "benchmark training and inference throughput"),
    "grid": ("mlib.commands.grid", "run a grid of training configurations and collect grid.csv"),
    "ensemble": ("mlib.commands.ensemble", "vote over the saved predictions of finished runs"),
    "gradcam": ("mlib.commands.gradcam", "Grad-CAM maps, figures and localisation scores for a run"),
    "baseline": ("mlib.commands.baseline", "the paper's Table 4 baseline: LBP-TOP / LGBP / FHOFO features and an SVM"),
    "enroll": ("mlib.commands.enroll", "add people a run never saw to a gallery from their clips (frames or video)"),
    "identify": ("mlib.commands.identify", "rank a gallery's people for a clip, or answer unknown"),
    "study": ("mlib.commands.study", "run the whole study for a profile: the notebooks, executed into the book"),
    "cost": ("mlib.commands.cost", "the performance page: GPU-hours of the full study from mlib bench files"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        "usage: mlib [--debug] COMMAND [options]   (mlib COMMAND --help for its options;",
        "       --debug shows the traceback of an error)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def is_input_error(exc: BaseException) -> bool:
    """An error the user can fix from its message: the project's own, an unreadable file, an OS refusal."""
    import yaml

    return isinstance(exc, (ValueError, OSError, yaml.YAMLError)) or (
        isinstance(exc, Exception) and type(exc).__module__.split(".")[0] == "mlib"
    )


def error_line(command: str, exc: BaseException) -> str:
    """``mlib <command>: <file>: <problem>`` for an input error."""
    if isinstance(exc, OSError) and exc.strerror:
        where = "".join(f"{name}: " for name in (exc.filename, exc.filename2) if name is not None)
        return f"mlib {command}: {where}{exc.strerror}"
    text = str(exc).strip() or type(exc).__name__
    return f"mlib {command}: {text}"


def _close_stdout_quietly() -> None:
    """After a closed pipe, point stdout at /dev/null so flushing it at exit raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    try:
        if not argv or argv[0] in {"-h", "--help"}:
            print(_usage())
            sys.stdout.flush()
            return 0
        if argv[0] not in COMMANDS:
            print(f"mlib: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
            return 2
        return _handled(argv[0], argv[1:], debug)
    except BrokenPipeError:
        _close_stdout_quietly()
        return EXIT_BROKEN_PIPE


def _handled(name: str, rest: list[str], debug: bool) -> int:
    """Run command ``name``; an input error or Ctrl-C becomes one line and an exit status."""
    try:
        return _run(name, rest)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"mlib {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as exc:
        if not is_input_error(exc):
            raise
        if debug:
            traceback.print_exc()
        print(error_line(name, exc), file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_ERROR)


def _run(name: str, rest: list[str]) -> int:
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"mlib {name}", description=help_)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    result = int(module.main(args) or 0)
    sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
    return result


if __name__ == "__main__":
    sys.exit(main())
