"""Result-like numbers in prose come from result files (glue) or from mlib.paper, never typed by hand.

Scanned: book/*.md and the markdown cells of notebooks/*.py. A result-like
number is a percentage (``87.4 %``), a decimal (``0.874``) or a typed count: an
integer counting something the data decides (``26 runs``, ``3 test subjects``,
``59 of the 64``; ``COUNTED`` lists the nouns), not a label (``Table 2``,
``rank-1``, ``R50``). It passes when it
is inside a glue role (``{glue:text}`...```), in code (inline ``...`` or a
fenced block), a link, a version (``Python 3.11``) or a section number, one of the paper's numbers from ``mlib.paper`` (as a fraction or
a percentage, with any rounding the paper's two decimals allow), or listed in
the page's allow-list: an HTML comment ``<!-- not results: 0.25, 1.5 (why) -->`` (in a
notebook, a markdown line ``# <!-- not results: ... -->``) naming numbers that
are settings, sizes or versions in the method text. The comment renders as
nothing, and it keeps the exception beside the number it excuses. A page that is
itself generated from result files (its first line ``<!-- generated from result
files by COMMAND ... -->``, with a test that checks it is current, as
``book/performance.md`` has in tests/test_bench.py) types no number by hand and is skipped.
"""

import re
from pathlib import Path

import jupytext
import pytest

from mlib import paper

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(?=\s?%))(\s?%)?(?![\w.]*\d)")
CODE = re.compile(r"```.*?```|`[^`]+`", re.S)
GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
GENERATED = re.compile(r"\A<!-- generated from result files by ")
ALLOW = re.compile(r"<!--\s*not results:([^>]*)-->")
COUNTED = (
    "runs?|subjects?|clips?|seeds?|splits?|settings?|pairs?|minutes?|seconds?|hours?|corpora|corpus|classes|"
    "identities|people|persons?|configurations?|models?|files?|rows?|videos?|recordings?|members?|frames?"
)
COUNT = re.compile(
    r"(?<![\w.,-])(?<!Table )(?<!Tables )(?<!Figure )(?<!section )(\d+)"
    r"(?:\s+of\s+(?:the\s+|all\s+)?\d+|\s+(?:(?!the\b|and\b|per\b|over\b)[a-zA-Z-]{3,}\s+)?"
    rf"(?:{COUNTED})\b)"
)
LINK = re.compile(r"\]\([^)]*\)|https?://\S+|arXiv \S+|(?:Python |version |v)\d+(\.\d+)+|[Ss]ections? \d+(\.\d+)*")


def _paper_values() -> set[str]:
    values = set()
    for table in (paper.TABLE2_RANK1, paper.TABLE3_RANK1, paper.BASELINE_SAEED2021_RANK1, paper.TABLE4_OURS_RANK1):
        for fraction in table.values():
            for digits in (0, 1, 2):
                values.add(
                    f"{100 * fraction:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{100 * fraction:.0f}"
                )
                values.add(f"{100 * fraction:.{digits}f}")
            values.update({f"{fraction}", f"{fraction:.3f}", f"{fraction:.2f}"})
    for setting in paper.TABLE1.values():
        values.update(str(v) for v in setting.values())
    return values


def typed_numbers(text: str) -> list[str]:
    """The result-like numbers in ``text`` that are neither glued, code, links, the paper's, nor allow-listed."""
    allowed = {number for found in ALLOW.findall(text) for number in re.findall(r"\d+(?:\.\d+)?", found.split("(")[0])}
    prose = LINK.sub(" ", GLUE.sub(" ", CODE.sub(" ", ALLOW.sub(" ", text))))
    known = _paper_values() | allowed
    found = [match.group(0).strip() for match in NUMBER.finditer(prose) if match.group(1) not in known]
    counts = COUNT.finditer(re.sub(r"\s+", " ", prose))
    return found + [match.group(0) for match in counts if match.group(1) not in allowed]


def _pages() -> list[tuple[str, str]]:
    pages = [
        (str(p.relative_to(ROOT)), p.read_text())
        for p in sorted((ROOT / "book").glob("*.md"))
        if not GENERATED.match(p.read_text())
    ]
    for source in sorted((ROOT / "notebooks").glob("*.py")):
        cells = jupytext.read(source).cells
        pages.append((str(source.relative_to(ROOT)), "\n\n".join(c.source for c in cells if c.cell_type == "markdown")))
    return pages


def test_only_the_generated_performance_page_is_skipped():
    skipped = {p.name for p in (ROOT / "book").glob("*.md") if GENERATED.match(p.read_text())}
    assert skipped == {"performance.md"}


def test_the_scanner_finds_typed_results_and_passes_glued_paper_and_allowed_ones():
    assert typed_numbers("ours reached 73.5 % and a lift of 1.84") == ["73.5 %", "1.84"]
    assert typed_numbers("ours reached {glue:text}`x::rank1:s` and `0.25` in code") == []
    assert typed_numbers("the paper's 89.61 % (Table 2) and 87.4 %") == []
    assert typed_numbers("a face size of 0.5 <!-- not results: 0.5 (a setting, not 1.5) -->") == []
    assert typed_numbers("1.5 <!-- not results: 0.5 (a setting, not 1.5) -->") == ["1.5"]
    assert typed_numbers("see [here](https://x.org/a/1.5) and arXiv 2306.13907") == []
    assert typed_numbers("Python 3.11, section 4.3.2; `split(test_size=0.5,\n seed=4)`") == []


def test_the_scanner_finds_typed_counts_and_passes_labels_glued_and_allowed_ones():
    assert typed_numbers("a grid of 26 runs over 3 test\n  subjects; 59 of the 64 frames") == [
        "26 runs",
        "3 test subjects",
        "59 of the 64",
    ]
    assert typed_numbers("Table 1 configuration, Table 3 pair, rank-1 per feature set, R50 runs") == []
    assert typed_numbers("{glue:text}`x::runs:s` runs and `26 runs` in code") == []
    assert typed_numbers("windows of 64 frames <!-- not results: 64 (the window, a setting) -->") == []


@pytest.mark.parametrize("name,text", _pages(), ids=[name for name, _ in _pages()])
def test_prose_types_no_result_number(name, text):
    found = typed_numbers(text)
    assert not found, (
        f"{name}: result-like numbers typed in prose: {found}; glue them from a result file, "
        "quote mlib.paper, or list a setting in <!-- not results: ... -->"
    )
