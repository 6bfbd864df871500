"""The paper's reported numbers are typed in ``mlib/paper/__init__.py`` only; pages and code read them from there.

A ``.md`` page of the book cannot run code, so it names the paper's tables and
points to the results page, which prints them with ``mlib.paper.reported_tables``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlib import paper

ROOT = Path(__file__).resolve().parents[1]
ACCURACIES = [paper.TABLE2_RANK1, paper.TABLE3_RANK1, paper.BASELINE_SAEED2021_RANK1, paper.TABLE4_OURS_RANK1]


def written_forms() -> set[str]:
    """Each reported accuracy as a percentage (``89.61``, ``87.4``) and as the fraction typed in mlib/paper/__init__.py."""
    values = {v for table in ACCURACIES for v in table.values()}
    return {f"{100 * v:.2f}".rstrip("0").rstrip(".") for v in values} | {repr(v) for v in values}


def typed_numbers(text: str) -> list[str]:
    """The paper's numbers found in ``text``, as whole numbers (``89.61`` but not ``189.61`` or ``89.615``)."""
    return [form for form in sorted(written_forms()) if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", text)]


def scanned_files() -> list[Path]:
    files = [
        *ROOT.glob("book/*.md"),
        *ROOT.glob("notebooks/*.py"),
        *(p for p in (ROOT / "mlib").rglob("*") if p.suffix in {".py", ".md", ".yaml"}),
    ]
    return sorted(p for p in files if p != ROOT / "mlib" / "paper" / "__init__.py")


def test_the_scanner_finds_a_typed_number_and_ignores_longer_ones():
    assert typed_numbers("the paper reports 89.61 % on SAMM") == ["89.61"]
    assert typed_numbers("SMIC 94.95 %") == ["94.95"]  # not also 94.9
    assert typed_numbers("189.61, 89.615, 0.89612 and 71.480") == []


def test_the_paper_numbers_are_typed_only_in_mlib_paper():
    assert len(scanned_files()) > 20  # the book, the notebooks and the package were found
    found = {str(p.relative_to(ROOT)): typed_numbers(p.read_text(errors="replace")) for p in scanned_files()}
    assert {path: numbers for path, numbers in found.items() if numbers} == {}


@pytest.mark.parametrize(
    "title, row, column, text",
    [
        (
            "Paper, Table 2: rank-1 accuracy, single SlowFast",
            "SlowFast",
            "SAMM",
            f"{100 * paper.TABLE2_RANK1['samm']:.2f} %",
        ),
        (
            "Paper, Table 3: SMIC, rank-1 accuracy",
            "SlowFast",
            "vote of the two",
            f"{100 * paper.TABLE3_RANK1['ensemble']:.1f} %",
        ),
        (
            "Paper, Table 4 (excerpt): the micro-expression baseline",
            "Kay et al. (2023): SlowFast (SMIC: ensemble)",
            "SMIC",
            f"{100 * paper.TABLE4_OURS_RANK1['smic']:.2f} %",
        ),
    ],
)
def test_reported_tables_print_the_paper_numbers_as_the_paper_does(title, row, column, text):
    table = paper.reported_tables()[title]
    assert table.columns[0] == "model" and table.set_index("model").loc[row, column] == text
