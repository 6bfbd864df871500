"""``mlib prepare``: load a database root, crop faces, cut apex windows, cache them.

Clips the loader reports errors for are skipped and listed; if no clip is
left the command refuses to run. Frame files that do not follow the layout's
naming (stray copies such as ``img115 (2).jpg``) are ignored, never read as
frames. The flags are the ``data`` and ``prepare`` keys of the defaults tree and
are validated by ``mlib.core.config`` before any work. Prints the cache folder and
frames/s.
"""

from __future__ import annotations

import argparse
import sys

from mlib.core import config
from mlib.core.config import load_defaults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mlib.datasets import DATASETS
    from mlib.datasets.window import ORIGINAL_PROTOCOLS, PAD_SETTINGS

    defaults = load_defaults()
    data, prepare = defaults["data"], defaults["prepare"]
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="which database layout to read")
    parser.add_argument("--root", required=True, help="the database root (real or synthetic)")
    parser.add_argument("--cache-dir", default=prepare["cache_dir"], help="parent folder of cache folders")
    parser.add_argument("--face-size", type=int, default=prepare["face_size"], help="face side in pixels (default: the paper's per database)")
    parser.add_argument("--window", type=int, default=prepare["window"], help="frames per clip around the apex")
    parser.add_argument("--margin", type=float, default=prepare["margin"], help="margin around the face box, fraction of its side")
    parser.add_argument("--pad", default=prepare["pad"], choices=PAD_SETTINGS,
                        help="padding of clips shorter than the window (mlib.datasets.window rule 3); protocol: "
                             f"end for --split-protocol kay2023 or kay2023-original, else symmetric; default {prepare['pad']}")
    parser.add_argument("--split-protocol", default=defaults["split"]["protocol"], choices=["half", *ORIGINAL_PROTOCOLS],
                        help=f"the split protocol the cache is for (decides --pad protocol); default {defaults['split']['protocol']}")
    parser.add_argument("--apex-rule", default=data["apex_rule"], choices=["annotated", "midpoint"])
    parser.add_argument("--cropped", action="store_true", default=data["cropped"], help="the database's already-cropped release: no face detection")
    parser.add_argument("--workers", type=int, default=prepare["workers"], help="processes decoding and cropping clips")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from mlib.datasets import DatasetError, load_dataset
    from mlib.preprocess.cache import run_prepare
    from mlib.datasets.window import pad_rule

    config.resolve(None, {
        "data": {"dataset": args.dataset, "apex_rule": args.apex_rule},
        "prepare": {"window": args.window, "face_size": args.face_size, "margin": args.margin, "workers": args.workers,
                    "pad": args.pad}, "split": {"protocol": args.split_protocol},
    })  # fmt: skip
    try:
        loaded = load_dataset(args.dataset, args.root, apex_rule=args.apex_rule, cropped=args.cropped)
    except DatasetError as exc:
        print(f"mlib prepare: {exc}", file=sys.stderr)
        return 1
    errors = loaded.by_severity("error")  # the adapter has already left these clips out of the table
    clips = loaded.clips
    if errors:
        print(f"skipping {len(errors)} annotation row(s)/clip(s) with errors:")
        for problem in errors:
            where = f"{problem.file}" + (f" row {problem.row}" if problem.row else "")
            print(f"  {problem.clip_key or '-'}: {problem.message} ({where})")
    if clips.empty:
        print(f"mlib prepare: no usable clip in {args.root} (every clip has errors; run mlib validate)", file=sys.stderr)
        return 1
    result = run_prepare(
        clips, args.cache_dir, dataset=args.dataset, root=args.root, window=args.window,
        face_size=args.face_size, margin=args.margin, cropped=args.cropped, apex_rule=args.apex_rule,
        pad=pad_rule(args.pad, args.split_protocol), workers=args.workers, progress=not args.no_progress,
    )  # fmt: skip
    if result.was_complete:
        print(f"cache already complete ({result.clips} clips); nothing to do")
    else:
        if result.recomputed:
            print(f"{len(result.recomputed)} cached clip(s) made again because their source frames changed: "
                  f"{', '.join(result.recomputed)}")
        print(f"prepared {result.clips - result.reused} clip(s), kept {result.reused} already cached: "
              f"{result.frames} frames in {result.seconds:.1f} s ({result.frames_per_second:.1f} frames/s)")
    if result.fallbacks:
        print(f"{len(result.fallbacks)} clip(s) used the fallback face box (detector = fallback; listed above)")
    print(result.path)
    return 0
