"""The book, built from a real run of the study at the `ci` profile, checked in headless Chromium.

This is the end-to-end test: it runs every notebook through papermill (as
`make book PROFILE=ci` does, but into a temporary folder), builds the HTML with
Jupyter Book 1.x, opens the pages in Chromium and asserts that they render with
their figures loaded and their result tables present. Screenshots are kept in
the temporary folder for a person to look at.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [pytest.mark.slow, pytest.mark.browser]

OVERFLOWING_TABLES = """return Array.from(document.querySelectorAll('article table, main table')).filter(t => {
  const box = (t.closest('.output, .cell_output') || t.parentElement).getBoundingClientRect();
  return t.getBoundingClientRect().right > box.right + 1 || t.scrollWidth > t.clientWidth + 1;
}).length"""
BROKEN_LINKS = """return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
  .filter(h => h.startsWith('file:')).map(h => h.split('#')[0])"""
SCROLLING_OUTPUTS = """return Array.from(document.querySelectorAll('div.cell_output pre'))
  .filter(p => p.scrollWidth > p.clientWidth + 1).length"""
STREAM_OUTPUTS = (
    "return document.querySelectorAll('div.cell_output .output.stream, div.cell_output .output.stderr').length"
)
FIGURE_NOTES = """return Array.from(document.querySelectorAll('div.cell_output img')).map(img => {
  let block = img;
  while (block.parentElement && !block.parentElement.classList.contains('cell_output')) block = block.parentElement;
  for (let next = block.nextElementSibling; next; next = next.nextElementSibling) {
    if (next.querySelector('img')) break;
    if (next.textContent.includes('Made by:')) {
      const link = Array.from(next.querySelectorAll('a[href]')).find(a => a.textContent.startsWith('notebooks/'));
      return link ? link.href : 'no link';
    }
  }
  return 'no note';
})"""
BROKEN_IMAGES = "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Run the ci study into a temporary book tree and build its HTML."""
    work = tmp_path_factory.mktemp("book")
    for name in ["_config.yml", "_toc.yml", "_static", "notebooks", "configs"]:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / "book").mkdir()
    for page in (ROOT / "book").glob("*.md"):
        shutil.copy(page, work / "book" / page.name)
    if (ROOT / "book" / "motion-budget").is_dir():  # the committed learning-budget table page 10 reads
        shutil.copytree(ROOT / "book" / "motion-budget", work / "book" / "motion-budget")
    study = subprocess.run(
        [sys.executable, "-m", "mlib.commands.cli", "study", "--profile", "configs/profiles/ci.yaml"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert study.returncode == 0, f"the ci study failed:\n{study.stdout[-4000:]}\n{study.stderr[-4000:]}"
    build = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            ".",
            "--path-output",
            "book",
            "-W",
            "-n",
            "--keep-going",
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"jupyter-book build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return work / "book" / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser, page: Path, shots: Path):
    assert page.is_file(), f"{page} was not built"
    browser.get(page.as_uri())
    shots.mkdir(exist_ok=True)
    browser.save_screenshot(str(shots / f"{page.stem}.png"))
    return browser


def test_index_renders(built_book, browser):
    driver = _open(browser, built_book / "index.html", built_book.parent / "screenshots")
    text = driver.find_element("tag name", "body").text
    assert "micro-expression" in text.lower()
    assert "synthetic" in text.lower()
    assert driver.execute_script(BROKEN_IMAGES) == []


RESULT_PAGES = [
    "01-preprocess-casme2",
    "02-train-casme2",
    "03-baseline-casme2",
    "04-grid-search-casme2",
    "05-ensemble-casme2",
    "06-gradcam-casme2",
    "07-controls",
    "08-original-grid",
    "09-unseen",
    "10-motion-budget",
]


@pytest.mark.parametrize("page", ["00-results", *RESULT_PAGES])
def test_results_pages_have_figures_and_tables(built_book, browser, page):
    driver = _open(browser, built_book / "book" / "executed" / f"{page}.html", built_book.parent / "screenshots")
    assert driver.execute_script(BROKEN_IMAGES) == [], f"{page}: broken images"
    images = driver.execute_script("return document.images.length")
    tables = driver.execute_script("return document.querySelectorAll('table').length")
    assert tables > 0, f"{page}: no result table"
    if page != "00-results":
        assert images > 0, f"{page}: no figure"
        assert driver.execute_script(STREAM_OUTPUTS) == 0, f"{page}: printed log lines or stderr on the page"
    text = driver.find_element("tag name", "body").text
    for word in ["Traceback", "Warning", "NaN"]:
        assert word not in text, f"{page}: {word!r} in the rendered text"
    assert driver.execute_script(OVERFLOWING_TABLES) == 0, f"{page}: a result table scrolls sideways"
    assert driver.execute_script(SCROLLING_OUTPUTS) == 0, f"{page}: an output box scrolls sideways"


def test_each_figure_has_a_provenance_note_linking_its_source_notebook(built_book, browser):
    from mlib.report.results import REPOSITORY_URL

    driver = _open(
        browser, built_book / "book" / "executed" / "02-train-casme2.html", built_book.parent / "screenshots"
    )
    links = driver.execute_script(FIGURE_NOTES)
    assert links, "02-train: no figure"
    for link in links:
        assert link.startswith(f"{REPOSITORY_URL}/blob/HEAD/"), f"02-train: a figure without a provenance link: {link}"
        assert (ROOT / link.removeprefix(f"{REPOSITORY_URL}/blob/HEAD/")).is_file(), f"link to a missing file: {link}"


def test_front_page_verdicts_glue_links_and_archive(built_book, browser):
    from mlib.report import claims

    page = built_book / "book" / "intro.html"
    driver = _open(browser, page, built_book.parent / "screenshots")
    text = driver.find_element("tag name", "body").text
    assert any(verdict in text for verdict in claims.VERDICTS), "the front page has no verdict table"
    assert "::" not in text and "The study checked 5 claims" in text, "a glued number did not render"
    for link in driver.execute_script(BROKEN_LINKS):
        assert Path(link.removeprefix("file://")).exists(), f"front page links to a missing file: {link}"
    archives = [h for h in driver.execute_script(BROKEN_LINKS) if h.endswith("study-results.zip")]
    assert archives, "the front page does not link the results archive"
    import zipfile

    with zipfile.ZipFile(archives[0].removeprefix("file://")) as archive:
        names = archive.namelist()
    assert any(n.endswith("metrics.json") for n in names) and not any(
        n.endswith((".pt", ".npy", ".png")) for n in names
    )


def test_a_table_names_its_run_folders_and_configuration(built_book, browser):
    driver = _open(browser, built_book / "book" / "executed" / "00-results.html", built_book.parent / "screenshots")
    text = driver.find_element("tag name", "body").text
    assert "Made by: " in text and "(configuration " in text, "no provenance note under the results tables"
