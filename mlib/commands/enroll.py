"""``mlib enroll``: add people a run never saw to a gallery from their clips (``mlib.openset.gallery``)."""

from __future__ import annotations

import argparse
import sys


def entry(text: str) -> tuple[str, str]:
    """``SUBJECT=PATH`` -> ``(subject, path)``."""
    subject, sep, path = text.partition("=")
    if not sep or not subject or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SUBJECT=PATH")
    return subject, path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished run folder (its best checkpoint embeds the clips)")
    parser.add_argument("--out", required=True, help="the gallery .npz (made if absent, else added to)")
    parser.add_argument(
        "--fmr",
        type=float,
        default=0.01,
        help="false-match rate on the training subjects' validation clips that fixes the unknown "
        "threshold of a new gallery (default 0.01)",
    )
    parser.add_argument(
        "entries",
        nargs="+",
        type=entry,
        metavar="SUBJECT=PATH",
        help="a clip of a subject: a folder of frames or a video file (mp4, avi)",
    )


def main(args: argparse.Namespace) -> int:
    from mlib.openset.gallery import enroll

    if not 0 <= args.fmr <= 1:
        raise ValueError(f"--fmr {args.fmr}: expected a rate in [0, 1]")
    path, notes = enroll(args.run, args.out, args.entries, fmr=args.fmr)
    for note in notes:
        print(f"mlib enroll: {note}", file=sys.stderr)
    print(f"{path}: {len(args.entries)} clip(s) enrolled ({', '.join(sorted({s for s, _ in args.entries}))})")
    return 0
