"""mlib: person recognition from facial micro-expressions with SlowFast.

A reproducible study of Kay et al. (2023). Subpackages: ``synth`` (synthetic
corpus), ``datasets`` (CASME II / SAMM / SMIC adapters), ``preprocess`` (face
crop, apex window, cache), ``splits``, ``models``, ``train``, ``metrics``,
``ensemble``, ``grid``, ``gradcam`` and ``plots``. The command line is ``mlib``.
"""

__version__ = "0.1.0"
