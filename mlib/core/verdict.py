"""One shape for every verdict the study states: the outcome, the evidence in words, the page, the numbers.

Every rule that turns evidence into a verdict (the paper's claims in
``mlib.report.claims``, the controls' in ``mlib.experiments.controls``, the
motion features' in ``mlib.experiments.baseline``, the learning budget's in
``mlib.experiments.budget``, Grad-CAM's in ``mlib.gradcam.summary``) returns a :class:`Verdict` and declares its outcomes
with :func:`rule`, so a test can reach each outcome from crafted evidence and a
rule cannot answer anything it did not declare.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """A rule's answer: the outcome, the evidence in words, the book page it is shown on (relative to
    ``book/``; empty where the caller is the page) and the numbers the evidence quotes (for tables and takeaways)."""

    verdict: str
    evidence: str
    page: str = ""
    numbers: Mapping[str, object] = field(default_factory=dict)


def rule(*outcomes: str, registry: dict[str, Callable[..., Verdict]] | None = None):
    """Declare a rule's outcomes (``function.OUTCOMES``), refuse an undeclared one at run time, and register
    the rule by name in ``registry`` when one is given."""

    def register(function):
        @functools.wraps(function)
        def checked(*args, **kwargs) -> Verdict:
            found = function(*args, **kwargs)
            if found.verdict not in outcomes:
                raise ValueError(f"{function.__name__} returned {found.verdict!r}, not one of {outcomes}")
            return found

        checked.OUTCOMES = outcomes
        if registry is not None:
            registry[function.__name__] = checked
        return checked

    return register
