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

BROKEN_IMAGES = "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Run the ci study into a temporary book tree and build its HTML."""
    work = tmp_path_factory.mktemp("book")
    for name in ["_config.yml", "_toc.yml", "notebooks", "configs"]:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / "book").mkdir()
    for page in (ROOT / "book").glob("*.md"):
        shutil.copy(page, work / "book" / page.name)
    study = subprocess.run(
        [sys.executable, "-m", "mlib.cli", "study", "--profile", "configs/profiles/ci.yaml"],
        cwd=work, capture_output=True, text=True,
    )
    assert study.returncode == 0, f"the ci study failed:\n{study.stdout[-4000:]}\n{study.stderr[-4000:]}"
    build = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "--path-output", "book", "-W", "-n",
         "--keep-going"],
        cwd=work, capture_output=True, text=True,
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
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,2000"]:
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


@pytest.mark.parametrize("page", ["00-results", "02-train-casme2", "03-baseline-casme2", "04-grid-search-casme2",
                                  "05-ensemble-casme2", "06-gradcam-casme2"])
def test_results_pages_have_figures_and_tables(built_book, browser, page):
    driver = _open(browser, built_book / "book" / "executed" / f"{page}.html", built_book.parent / "screenshots")
    assert driver.execute_script(BROKEN_IMAGES) == [], f"{page}: broken images"
    images = driver.execute_script("return document.images.length")
    tables = driver.execute_script("return document.querySelectorAll('table').length")
    assert tables > 0, f"{page}: no result table"
    if page != "00-results":
        assert images > 0, f"{page}: no figure"
    assert "Traceback" not in driver.find_element("tag name", "body").text
