"""``mlib synth``: write a synthetic micro-expression corpus in a real database's layout.

Defaults come from the ``synth`` section of ``mlib/defaults.yaml``; the frame
rate is the imitated database's (CASME II and SAMM 200 fps, SMIC 100 fps).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mlib import config

from .inventory import INVENTORIES
from .layouts import LAYOUTS, MANIFEST


def add_arguments(parser: argparse.ArgumentParser) -> None:
    synth = config.load_defaults()["synth"]
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default=synth["layout"],
                        help=f"which database's on-disk layout to imitate (default {synth['layout']})")
    parser.add_argument("--out", required=True, help="the corpus root folder to write")
    parser.add_argument("--mode", choices=("identity", "motion-only"), default=synth["mode"],
                        help="identity: each subject its own face; motion-only: one shared face")
    parser.add_argument("--subjects", type=int, default=synth["subjects"])
    parser.add_argument("--clips-per-subject", type=int, default=synth["clips_per_subject"])
    parser.add_argument("--single-clip-subjects", type=int, default=synth["single_clip_subjects"])
    parser.add_argument("--short-clip-fraction", type=float, default=synth["short_clip_fraction"])
    parser.add_argument("--frame-size", type=int, nargs=2, metavar=("H", "W"), default=synth["frame_size"])
    parser.add_argument("--seed", type=int, default=synth["seed"])
    parser.add_argument("--inventory", choices=INVENTORIES, default=synth["inventory"],
                        help="a real database's subjects and clip names (mlib.synth.inventory); default "
                             f"{synth['inventory']}")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering clips (default 2)")


def main(args: argparse.Namespace) -> int:
    from .layouts import write_configured_corpus

    synth_cfg = {
        "mode": args.mode, "subjects": args.subjects, "clips_per_subject": args.clips_per_subject,
        "single_clip_subjects": args.single_clip_subjects, "short_clip_fraction": args.short_clip_fraction,
        "frame_size": list(args.frame_size), "seed": args.seed, "inventory": args.inventory,
    }
    out = Path(args.out)
    previous = (out / MANIFEST).read_text() if (out / MANIFEST).is_file() else None
    started = time.perf_counter()
    try:
        specs = write_configured_corpus(out, args.layout, synth_cfg, workers=args.workers)
    except ValueError as exc:
        print(f"mlib synth: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    frames = sum(s.n_frames for s in specs)
    subjects = len({s.subject for s in specs})
    if previous is not None and previous == (out / MANIFEST).read_text():
        print(f"{out}: already holds this corpus ({args.layout}, seed {args.seed}); nothing written ({seconds:.1f} s)")
    else:
        print(f"{out}: wrote {len(specs)} clips of {subjects} subjects, {frames} frames "
              f"{args.frame_size[0]}x{args.frame_size[1]} at {LAYOUTS[args.layout].fps} fps in the {args.layout} layout, "
              f"annotation {LAYOUTS[args.layout].adapter.annotation}, truth in synth_truth/ ({seconds:.1f} s)")
    return 0
