"""``mlib identify``: who in a gallery is this clip? Ranked candidates, or "unknown" (``mlib.openset.gallery``)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gallery", required=True, help="a gallery .npz written by mlib enroll")
    parser.add_argument("--run", help="the run to search with (default: the gallery's; another one is refused)")
    parser.add_argument("--top", type=int, default=5, help="candidates shown (default 5)")
    parser.add_argument("clip", help="a folder of frames or a video file (mp4, avi)")


def main(args: argparse.Namespace) -> int:
    from mlib.openset.gallery import identify

    found = identify(args.gallery, args.clip, args.run)
    if found["note"]:
        print(f"mlib identify: {found['note']}", file=sys.stderr)
    print(
        f"{args.clip}: candidates by cosine score (unknown below {found['threshold']:.4f}, "
        f"the threshold at FMR {found['fmr']:g} on the training subjects' validation clips)"
    )
    for rank, (subject, score) in enumerate(found["ranked"][: max(args.top, 1)], start=1):
        print(f"{rank:>4}  {subject}  {score:.4f}")
    print(f"answer: {found['answer']}")
    return 0
