"""The site in a real headless browser (Debian's chromium + chromedriver), used as a person would:
the landing page loads without console errors, the porting matrix shows the merged results of two
columns, filters narrow the rows, a source framework shows the verified calls, a detail view opens
and shows its plot. Screenshots go to $INITSPEC_SCREENSHOTS (default: the test's tmp dir).

The fake results carry, besides what the engine writes, the fields other parts of the suite add
(neutral, conditions, promises, recipe: see CONTRACT), in the shape those parts write them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import write_run
from site_data import CALL, CONCEPTS, annotate, recipe, second_column

from initspec import cli, engine, results

# Debian's packages (.ci/run installs them); the variables point elsewhere, e.g. to check the skip
CHROMIUM = os.environ.get("INITSPEC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INITSPEC_CHROMEDRIVER", "/usr/bin/chromedriver")
missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
if missing:
    pytest.skip(f"no headless browser: {', '.join(missing)} missing (apt-get install chromium "
                "chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install '.[test]')")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(fake_spec, fake_adapter_class, tmp_path_factory) -> Path:
    adapter = fake_adapter_class()
    plan = engine.build_plan(fake_spec, adapter, dtypes=["float32", "bfloat16"],
                             resolution=0.1)
    raw = tmp_path_factory.mktemp("raw")
    paths = results.write([engine.evaluate(plan, c, adapter) for c in plan.cells], plan, raw,
                          sha="0" * 40)
    directory = tmp_path_factory.mktemp("results")
    for path in paths:
        run = json.loads(results.read_text(path))
        other = second_column(run)
        for r in (run, other):
            annotate(r)
        recipe(other)
        write_run(directory / path.name, run)
        write_run(directory / path.name.replace("fake-", "fake2-"), other)
    out = tmp_path_factory.mktemp("reports")
    assert cli.main(["report", "--results", str(directory),
                     "--out", str(out / "COMPATIBILITY.md")]) == 0
    return out / "site"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    directory = Path(os.environ.get("INITSPEC_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="initspec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser, site: Path, fragment: str = "") -> None:
    browser.get("about:blank")  # a fresh page: a fragment-only change would keep the filters
    browser.get((site / "index.html").as_uri() + fragment)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def _rows(browser) -> list[str]:
    return [r.get_attribute("data-concept")
            for r in browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")]


def _problems(browser) -> list[dict]:
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def test_landing_page_shows_the_merged_matrix(browser, site, shots):
    _open(browser, site)
    browser.save_screenshot(str(shots / "1-matrix.png"))
    assert _problems(browser) == []
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#matrix thead th")]
    assert heads == ["Concept", "fake", "fake2"]  # both results columns, merged
    assert _rows(browser) == sorted(CONCEPTS.values())
    dense = browser.find_element(By.CSS_SELECTOR, '#matrix tr[data-concept="dense.kernel"]')
    assert dense.text.count("VarianceScaling(1/3, fan_in, uniform)") == 2
    assert "docs drift" in dense.text  # fake's promise is rejected while the cell conforms
    marks = dense.find_elements(By.CSS_SELECTOR, "a.mark")
    assert [m.get_attribute("title") for m in marks] == ["pass", "pass"]
    he = browser.find_element(By.CSS_SELECTOR, '#matrix tr[data-concept="init.he_normal"]')
    assert [m.get_attribute("title") for m in he.find_elements(By.CSS_SELECTOR, "a.mark")] == [
        "fail", "fail"]
    embedding = browser.find_element(By.CSS_SELECTOR, '#matrix tr[data-concept="embedding"]')
    assert "off-by-default" in embedding.text


def test_filters_narrow_the_rows(browser, site, shots):
    _open(browser, site)
    browser.find_element(By.ID, "f-text").send_keys("dense")
    assert _rows(browser) == ["dense.bias", "dense.kernel"]
    browser.save_screenshot(str(shots / "2-filter-text.png"))
    browser.find_element(By.ID, "f-text").clear()
    browser.execute_script("document.getElementById('f-text')"
                           ".dispatchEvent(new Event('input'))")
    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("fail")
    assert _rows(browser) == ["init.he_normal"]
    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("")
    browser.find_element(By.ID, "f-drift").click()
    assert _rows(browser) == ["dense.kernel"]
    browser.find_element(By.ID, "f-drift").click()
    browser.find_element(By.CSS_SELECTOR, '#f-frameworks input[value="fake2"]').click()
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#matrix thead th")]
    assert heads == ["Concept", "fake"]
    Select(browser.find_element(By.ID, "f-dtype")).select_by_value("bfloat16")
    assert len(_rows(browser)) == len(CONCEPTS)
    assert _problems(browser) == []


def test_source_framework_shows_the_verified_call(browser, site, shots):
    _open(browser, site)
    Select(browser.find_element(By.ID, "f-source")).select_by_value("fake")
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#matrix thead th")]
    assert heads == ["Concept", "fake (source)", "fake2"]
    dense = browser.find_element(By.CSS_SELECTOR, '#matrix tr[data-concept="dense.kernel"]')
    call = dense.find_element(By.CSS_SELECTOR, "code.call")
    assert call.text == CALL
    browser.save_screenshot(str(shots / "3-source.png"))
    # no recipe was generated for the other concepts: nothing is claimed there
    bias = browser.find_element(By.CSS_SELECTOR, '#matrix tr[data-concept="dense.bias"]')
    assert bias.find_elements(By.CSS_SELECTOR, "code.call") == []
    # the recipe's own detail: what it reproduces, the call, and that a run verified it
    dense.find_elements(By.CSS_SELECTOR, "td a.mark")[1].click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "view-detail").is_displayed())
    page = browser.find_element(By.ID, "view-detail").text
    assert "Porting recipe: fake → fake2" in page and "verified by this run" in page
    assert CALL in page and "one initializer per layer" in page


def test_detail_view_opens_and_shows_its_plot(browser, site, shots):
    _open(browser, site)
    link = browser.find_element(By.CSS_SELECTOR,
                                '#matrix tr[data-concept="dense.kernel"] td a.mark')
    link.click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "view-detail").is_displayed())
    assert not browser.find_element(By.ID, "view-matrix").is_displayed()
    title = browser.find_element(By.ID, "detail-title").text
    assert "Dense.weight" in title
    plot = browser.find_element(By.ID, "detail-plot")
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return arguments[0].complete", plot))
    assert browser.execute_script("return arguments[0].naturalWidth", plot) > 300
    page = browser.find_element(By.ID, "view-detail").text
    for text in ("VarianceScaling(1/3, fan_in, uniform)", "He et al. 2015", "drift",
                 "variance", "fake.seed(", "fake.py: Dense.reset"):
        assert text in page, text
    browser.save_screenshot(str(shots / "4-detail.png"))
    assert _problems(browser) == []
    # an exact cell has no evidence, and says so instead of showing a broken image
    _open(browser, site, "#cells")
    browser.find_element(By.ID, "f-text").send_keys("Dense.bias")
    browser.find_element(By.CSS_SELECTOR, "#cells tbody tr td a.mark").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "detail-noplot"))
    assert browser.find_elements(By.ID, "detail-plot") == []


def test_cell_list_and_back_navigation(browser, site, shots):
    _open(browser, site, "#cells")
    count = browser.find_element(By.ID, "cells-count").text
    total = len(browser.find_elements(By.CSS_SELECTOR, "#cells tbody tr"))
    assert count.startswith(f"{total} cells match") and total > 20
    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("error")
    rows = browser.find_elements(By.CSS_SELECTOR, "#cells tbody tr")
    assert rows and all("Broken.weight" in r.text for r in rows)
    browser.save_screenshot(str(shots / "5-cells.png"))
    rows[0].find_element(By.CSS_SELECTOR, "a.mark").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "view-detail").is_displayed())
    assert "RuntimeError: kernel exploded" in browser.find_element(By.ID, "view-detail").text
    browser.back()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "view-cells").is_displayed())
    assert _problems(browser) == []
