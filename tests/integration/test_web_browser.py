"""The web pages in real headless Chromium (Debian's chromium + chromium-driver, Selenium),
served by a real `docflow serve`, with a real worker and a private Redis.

Set DOCFLOW_TEST_SCREENSHOTS=docs/screenshots to refresh the README's screenshots.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasks.store import Store, open_store
from tests.conftest import REPO, WorkerProcess, docflow_env, wait_until
from tests.fixtures.browser import headless_chromium
from tests.integration.web_support import Corpus, fill
from workers.broker import EmbeddedRedis, free_port

pytestmark = pytest.mark.integration

UPLOAD = (
    "Harbour cranes idle in Rotterdam\n\nROTTERDAM\n\nDock workers in Rotterdam stopped "
    "the zeppelinfrost cranes on Tuesday, the port authority said.\n"
)


@dataclass
class Site:
    url: str
    store: Store
    corpus: Corpus
    tmp: Path
    shots: Path


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except OSError:
        return 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A store with the corpus, a worker, and `docflow serve` on a free port."""
    tmp = tmp_path_factory.mktemp("browser")
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()
    data = tmp / "data"
    data.mkdir()
    store = open_store(f"sqlite:///{data / 'docflow.db'}")
    corpus = fill(store)
    port = free_port()
    env = docflow_env(data, redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    worker = WorkerProcess(env, tmp / "worker.log", name="browser")
    log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _get(url + "/api/status") == 200, timeout=30), (
            tmp / "serve.log"
        ).read_text()
        assert worker.ready(timeout=60), worker.log()[-2000:]
        shots = Path(os.environ.get("DOCFLOW_TEST_SCREENSHOTS", tmp / "shots"))
        shots.mkdir(parents=True, exist_ok=True)
        yield Site(url, store, corpus, tmp, shots)
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        worker.stop()
        store.close()
        redis.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    driver = headless_chromium(site.tmp)
    try:
        yield driver
    finally:
        driver.quit()


def css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def follow(driver: Any, element: Any) -> None:
    """Click a link or button and wait until the next page has replaced this one."""
    from selenium.webdriver.support.ui import WebDriverWait

    # a mark on this page's window: gone once another document has loaded (a stale-element
    # wait can race Chromium's own node bookkeeping and fail with an inspector error)
    driver.execute_script("window.__docflowOld = true")
    element.click()
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script(
            "return window.__docflowOld === undefined && document.readyState === 'complete'"
        )
    )


def hit_ids(driver: Any) -> list[str]:
    links = all_css(driver, "#results .hit h2 a")
    return [a.get_attribute("href").rsplit("/", 1)[-1] for a in links]


def test_a_reader_searches_clicks_a_facet_and_narrows_the_dates(site: Site, browser: Any) -> None:
    # Given the search page (every document, newest first, with facets)
    browser.get(site.url + "/")
    assert len(hit_ids(browser)) >= 5 and all_css(browser, "#facet-months a")
    browser.save_screenshot(str(site.shots / "search.png"))
    # When the reader searches for a name
    box = css(browser, "input[name=q]")
    box.send_keys("Fidan")
    follow(browser, css(browser, "form.search button"))
    # Then the seed story is a hit, its snippet highlighted, and facets are shown
    assert site.corpus.seed in hit_ids(browser)
    assert all_css(browser, "#results .snippet mark")
    # When a facet value is clicked (the story's dateline, then one of its entities)
    follow(browser, css(browser, "#facet-datelines a"))
    # Then the filter shows as a chip and the story is still a hit
    assert "dateline: ankara" in css(browser, ".chips").text
    assert hit_ids(browser) == [site.corpus.seed]
    entity = css(browser, "#facet-entities a")
    value = entity.get_attribute("href").rsplit("entity=", 1)[-1]
    follow(browser, entity)
    assert "entity: " in css(browser, ".chips").text and value in browser.current_url
    assert hit_ids(browser) == [site.corpus.seed]
    # When the date range is narrowed to a month without the story
    browser.execute_script("arguments[0].value = '2025-01-01'", css(browser, "[name=date_from]"))
    browser.execute_script("arguments[0].value = '2025-01-31'", css(browser, "[name=date_to]"))
    follow(browser, css(browser, "form.search button"))
    # Then nothing matches; and around the story's day it matches again
    assert "No documents match" in css(browser, "#results").text
    browser.execute_script("arguments[0].value = '2025-03-01'", css(browser, "[name=date_from]"))
    browser.execute_script("arguments[0].value = '2025-03-31'", css(browser, "[name=date_to]"))
    follow(browser, css(browser, "form.search button"))
    assert site.corpus.seed in hit_ids(browser)


def test_a_document_shows_its_entities_highlighted_and_links_to_an_entity_page(
    site: Site, browser: Any
) -> None:
    # When the seed document is opened
    browser.get(f"{site.url}/documents/{site.corpus.seed}")
    # Then each mention is highlighted, people and places in different colours
    person = css(browser, "#text a.ent-PERSON[href='/entities/PERSON%3Ahakan-fidan']")
    place = css(browser, "#text a.ent-GPE")
    assert person.text == "Hakan Fidan"
    assert person.value_of_css_property("background-color") != place.value_of_css_property(
        "background-color"
    )
    browser.save_screenshot(str(site.shots / "document.png"))
    # And a stored <script> stays text on its page
    browser.get(f"{site.url}/documents/{site.corpus.hostile}")
    assert "<script>alert(1)</script>" in css(browser, "#text").text
    assert browser.execute_script("return document.scripts.length") == 0
    # When the entity is clicked
    browser.get(f"{site.url}/documents/{site.corpus.seed}")
    follow(browser, css(browser, "#text a.ent-PERSON[href='/entities/PERSON%3Ahakan-fidan']"))
    # Then its page shows its name, a chart of its documents and co-mentioned entities
    assert "Hakan Fidan" in css(browser, "#entity-name").text
    assert all_css(browser, "svg rect.bar")
    assert all_css(browser, "#co-mentioned a")
    browser.save_screenshot(str(site.shots / "entity.png"))


def test_an_uploaded_file_is_processed_and_becomes_searchable(site: Site, browser: Any) -> None:
    story = site.tmp / "rotterdam.txt"
    story.write_text(UPLOAD, encoding="utf-8")
    # When a file is uploaded from the upload page
    browser.get(site.url + "/upload")
    css(browser, "input[type=file]").send_keys(str(story))
    follow(browser, css(browser, "#upload button"))
    # Then its document page says it was taken, and it is indexed by the worker
    assert "File taken" in css(browser, "#notice").text
    page = browser.current_url
    assert wait_until(
        lambda: browser.get(page) or css(browser, "#status").text == "indexed", timeout=60
    ), css(browser, "#status").text
    # And a search for one of its words finds it
    browser.get(site.url + "/?q=zeppelinfrost")
    assert hit_ids(browser) == [page.rsplit("/", 1)[-1].split("?")[0]]


def test_the_pipeline_page_shows_counts_failures_and_a_retry_button(
    site: Site, browser: Any
) -> None:
    browser.get(site.url + "/pipeline")
    assert "indexed" in css(browser, "#counts").text
    assert "workers" in css(browser, "#pace").text
    failures = css(browser, "#failures").text
    assert "ParseError: no body <script>alert(1)</script>" in failures
    assert all_css(browser, "#failures form button")
    assert css(browser, "meta[http-equiv=refresh]").get_attribute("content") == "5"
    browser.save_screenshot(str(site.shots / "pipeline.png"))
