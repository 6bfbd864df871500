"""The synthetic micro-expression corpus that stands in for the licensed databases.

``render`` draws clips in memory (faces in ``faces``, motion in ``dynamics``);
``layouts`` writes them in a real database's on-disk layout.
"""

from .render import ClipSpec, SynthClip, corpus_specs, render_clip

__all__ = ["ClipSpec", "SynthClip", "corpus_specs", "render_clip"]
