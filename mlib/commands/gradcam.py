"""``mlib gradcam``: Grad-CAM maps, localisation scores and figures for a finished run.

Prints the summary (lifts against a uniform map), the permutation-null table and
the figures written; real faces go to the private folder unless published.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlib.commands.options import add_profile_options, resolved
from mlib.core.config import POSITIVE, ConfigError, check_flag
from mlib.gradcam.maps import PATHWAYS
from mlib.gradcam.runner import TARGET_RULES, gradcam_for_run
from mlib.gradcam.summary import null_summary, summarize
from mlib.plots.gradcam import write_figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser)
    parser.add_argument("run_dir", help="a finished run folder (mlib train)")
    parser.add_argument("--cache", help="the prepared cache (default: the run's run.cache)")
    parser.add_argument("--part", default="test", choices=("test", "val"))
    parser.add_argument("--clips", nargs="*", help="clip_keys to explain (default: all of the part)")
    parser.add_argument(
        "--target", choices=TARGET_RULES, help="explain the true identity or the predicted one (gradcam.target)"
    )
    parser.add_argument("--pathway", choices=("both", *PATHWAYS), help="gradcam.pathway")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="result folder (default: <run_dir>/gradcam-<part>-<target>)")
    parser.add_argument("--synth-root", help="synthetic corpus root for the truth (default: the cache's root)")
    parser.add_argument(
        "--figures", default="4", help="clips drawn as strips, curves and GIFs: a number >= 1, or 'all' (default 4)"
    )
    parser.add_argument(
        "--private-dir", default="private/gradcam", help="git-ignored folder for figures that show real faces"
    )
    parser.add_argument(
        "--publish-faces",
        action="store_true",
        help="write real subjects' frames to --out; only where the database licence allows it for that subject",
    )
    parser.add_argument("--no-progress", action="store_true")


def figure_count(text: str) -> int | None:
    """``--figures``: a count >= 1, or ``all`` (None); anything else is refused before any map is computed."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise ConfigError(f"--figures: {text!r} is not allowed; allowed: a whole number >= 1 or 'all'") from None
    return check_flag("--figures", count, POSITIVE)


def main(args: argparse.Namespace) -> int:
    settings = resolved(args, {"target": "gradcam.target", "pathway": "gradcam.pathway"})["gradcam"]
    figures = figure_count(args.figures)
    result = gradcam_for_run(
        args.run_dir,
        args.cache,
        part=args.part,
        clips=args.clips or None,
        target=settings["target"],
        pathway=settings["pathway"],
        batch_size=args.batch_size,
        device=args.device,
        out=args.out,
        synth_root=args.synth_root,
        progress=not args.no_progress,
    )
    private = Path(args.private_dir) / Path(args.run_dir).name
    written = write_figures(
        result,
        clips=len(result.clips) if figures is None else figures,
        publish_faces=args.publish_faces,
        private_dir=private,
    )
    print(summarize(result.scores).to_string(index=False))
    print("\nlift against a uniform map and against the permutation null (other clips' regions), 95 % bootstrap CI:")
    print(null_summary(result.scores).to_string(index=False))
    print(
        f"mlib gradcam: {len(result.clips)} clips of {result.run_dir} ({'synthetic' if result.synthetic else 'REAL'} data)"
        f" -> {result.out}; {len(written)} figures"
    )
    for path in written:
        print(f"  {path}")
    return 0
