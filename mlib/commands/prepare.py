"""``mlib prepare``: load a database root, crop faces, cut apex windows, cache them.

Clips the loader reports errors for are skipped and listed; if no clip is
left the command refuses to run. Frame files that do not follow the layout's
naming (stray copies such as ``img115 (2).jpg``) are ignored, never read as
frames. The flags are shortcuts for ``data``, ``prepare`` and ``split`` keys
(``mlib.commands.options``); the configuration is resolved and validated once, before any work,
and handed whole to ``mlib.preprocess.cache.prepare_settings``. Prints the cache folder and
frames/s.
"""

from __future__ import annotations

import argparse
import sys

from mlib.commands.options import add_profile_options, default_of, resolved

FLAGS = {
    "dataset": "data.dataset",
    "root": "data.root",
    "apex_rule": "data.apex_rule",
    "cropped": "data.cropped",
    "cache_dir": "prepare.cache_dir",
    "face_size": "prepare.face_size",
    "window": "prepare.window",
    "margin": "prepare.margin",
    "pad": "prepare.pad",
    "workers": "prepare.workers",
    "split_protocol": "split.protocol",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mlib.datasets import DATASETS
    from mlib.datasets.window import ORIGINAL_PROTOCOLS, PAD_SETTINGS

    add_profile_options(parser)
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="which database layout to read (data.dataset)")
    parser.add_argument(
        "--root", help=f"the database root, real or synthetic (data.root, default {default_of('data.root')})"
    )
    parser.add_argument(
        "--cache-dir",
        help=f"parent folder of cache folders (prepare.cache_dir, default {default_of('prepare.cache_dir')})",
    )
    parser.add_argument(
        "--face-size", type=int, help="face side in pixels (prepare.face_size; default: the paper's per database)"
    )
    parser.add_argument(
        "--window",
        type=int,
        help=f"frames per clip around the apex (prepare.window, default {default_of('prepare.window')})",
    )
    parser.add_argument(
        "--margin", type=float, help="margin around the face box, fraction of its side (prepare.margin)"
    )
    parser.add_argument(
        "--pad",
        choices=PAD_SETTINGS,
        help="padding of clips shorter than the window (prepare.pad, mlib.datasets.window rule 3); protocol: "
        f"end for --split-protocol kay2023 or kay2023-original, else symmetric; default {default_of('prepare.pad')}",
    )
    parser.add_argument(
        "--split-protocol",
        choices=["half", *ORIGINAL_PROTOCOLS],
        help=f"the split protocol the cache is for (split.protocol; decides --pad protocol); default {default_of('split.protocol')}",
    )
    parser.add_argument("--apex-rule", choices=["annotated", "midpoint"], help="data.apex_rule")
    parser.add_argument(
        "--cropped",
        action="store_true",
        default=None,
        help="the database's already-cropped release: no face detection (data.cropped)",
    )
    parser.add_argument("--workers", type=int, help="processes decoding and cropping clips (prepare.workers)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from mlib.datasets import DatasetError, load_dataset
    from mlib.preprocess.cache import prepare_settings, run_prepare

    cfg = resolved(args, FLAGS)
    data = cfg["data"]
    try:
        loaded = load_dataset(data["dataset"], data["root"], apex_rule=data["apex_rule"], cropped=data["cropped"])
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
        print(
            f"mlib prepare: no usable clip in {data['root']} (every clip has errors; run mlib validate)",
            file=sys.stderr,
        )
        return 1
    result = run_prepare(clips, cfg["prepare"]["cache_dir"], **prepare_settings(cfg), progress=not args.no_progress)
    if result.was_complete:
        print(f"cache already complete ({result.clips} clips); nothing to do")
    else:
        if result.recomputed:
            print(
                f"{len(result.recomputed)} cached clip(s) made again because their source frames changed: "
                f"{', '.join(result.recomputed)}"
            )
        print(
            f"prepared {result.clips - result.reused} clip(s), kept {result.reused} already cached: "
            f"{result.frames} frames in {result.seconds:.1f} s ({result.frames_per_second:.1f} frames/s)"
        )
    if result.fallbacks:
        print(f"{len(result.fallbacks)} clip(s) used the fallback face box (detector = fallback; listed above)")
    print(result.path)
    return 0
