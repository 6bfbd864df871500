"""``mlib synth``: write a synthetic micro-expression corpus in a real database's layout.

Defaults come from the ``synth`` section of ``mlib/defaults.yaml``; the frame
rate is the imitated database's (CASME II and SAMM 200 fps, SMIC 100 fps).
``--positive-controls`` writes nothing at ``--out`` but measures what the
motion-only and twins corpora make learnable at several ``motion_identity``
values (``mlib.experiments.positive_controls.report``), working under ``--out``, with the
``--profile`` given or else the book's default profile.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mlib.commands.options import add_profile_options, resolved
from mlib.core import config
from mlib.synth.inventory import INVENTORIES
from mlib.synth.layouts import LAYOUTS, MANIFEST
from mlib.synth.render import MODES

SYNTH_KEYS = (
    "mode",
    "subjects",
    "clips_per_subject",
    "single_clip_subjects",
    "short_clip_fraction",
    "frame_size",
    "seed",
    "inventory",
    "motion_identity",
    "twin_group",
    "session_signature",
)
FLAGS = {"layout": "synth.layout", **{key: f"synth.{key}" for key in SYNTH_KEYS}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    synth = config.load_defaults()["synth"]
    add_profile_options(parser)
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        help=f"which database's on-disk layout to imitate (default {synth['layout']})",
    )
    parser.add_argument("--out", required=True, help="the corpus root folder to write")
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="identity: each subject its own face; motion-only: one shared face; "
        "twins: one face per group of --twin-group subjects",
    )
    parser.add_argument(
        "--motion-identity",
        type=float,
        help="0..1: how strongly clips follow their subject's movement habits "
        f"(0 = not at all, 1 = fully; default {synth['motion_identity']})",
    )
    parser.add_argument(
        "--twin-group", type=int, help=f"twins mode: subjects sharing one face (default {synth['twin_group']})"
    )
    parser.add_argument(
        "--session-signature",
        action=argparse.BooleanOptionalAction,
        help="give each subject its own wall tint and illumination (synth.session_signature)",
    )
    parser.add_argument("--subjects", type=int)
    parser.add_argument("--clips-per-subject", type=int)
    parser.add_argument("--single-clip-subjects", type=int)
    parser.add_argument("--short-clip-fraction", type=float)
    parser.add_argument("--frame-size", type=int, nargs=2, metavar=("H", "W"))
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--inventory",
        choices=INVENTORIES,
        help=f"a real database's subjects and clip names (mlib.synth.inventory); default {synth['inventory']}",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes rendering clips (default 2)")
    parser.add_argument(
        "--positive-controls",
        action="store_true",
        help="instead of one corpus, print the positive controls' rank-1 for the motion-only and "
        "twins modes at motion_identity 0, 0.5, 1 (corpora and caches under --out)",
    )


def main(args: argparse.Namespace) -> int:
    from mlib.synth.layouts import write_configured_corpus

    if args.positive_controls:
        from mlib.experiments.positive_controls import report

        # the profile whose synth, prepare and split sections apply; default: the book's default profile
        args.profile = args.profile or "configs/profiles/default.yaml"
        report(resolved(args, FLAGS), args.out, workers=args.workers)
        return 0
    synth = resolved(args, FLAGS)["synth"]
    synth_cfg = {key: synth[key] for key in SYNTH_KEYS}
    layout, (height, width) = synth["layout"], synth["frame_size"]
    out = Path(args.out)
    previous = (out / MANIFEST).read_text() if (out / MANIFEST).is_file() else None
    started = time.perf_counter()
    try:
        specs = write_configured_corpus(out, layout, synth_cfg, workers=args.workers)
    except ValueError as exc:
        print(f"mlib synth: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    frames = sum(s.n_frames for s in specs)
    subjects = len({s.subject for s in specs})
    if previous is not None and previous == (out / MANIFEST).read_text():
        print(f"{out}: already holds this corpus ({layout}, seed {synth['seed']}); nothing written ({seconds:.1f} s)")
    else:
        print(
            f"{out}: wrote {len(specs)} clips of {subjects} subjects, {frames} frames "
            f"{height}x{width} at {LAYOUTS[layout].fps} fps in the {layout} layout, "
            f"annotation {LAYOUTS[layout].adapter.annotation}, truth in synth_truth/ ({seconds:.1f} s)"
        )
    return 0
