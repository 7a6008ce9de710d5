"""The course website in the system Chromium: every page loads with all it asks for, Korean prose is drawn as
Hangul (in NanumGothic, the site's font), every figure shows, and every link between pages (lectures, glossary,
the next and previous lecture) leads to a page that exists, at an anchor that exists."""

import functools
import http.server
import threading
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

from tests.browser import hangul, lab_ui
from tests.browser.lab_runs import new_page
from tools.build_site import lecture_names

pytestmark = [pytest.mark.browser, pytest.mark.site, pytest.mark.slow]

# Links, images and anchors of a page, as the browser resolved them.
PAGE_PARTS = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  images: [...document.querySelectorAll('div.body img')].map(img => ({
    src: img.src, loaded: img.complete && img.naturalWidth > 0, alt: img.alt,
  })),
  ids: [...document.querySelectorAll('[id]')].map(element => element.id),
  formulas: document.querySelectorAll('mjx-container svg').length,
  raw_tex: /\\\\(frac|mathbf|cdot)/.test([...document.querySelectorAll('div.body :is(p, li)')]
    .filter(element => !element.closest('.cell_input, .cell_output, pre')).map(element => element.innerText).join(' ')),
})"""


@pytest.fixture(scope="module")
def served(site):
    """The built site on a local HTTP server: its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def visits(browser, served, artifacts):
    """{page name: what loading it showed}: each page once, in one tab, with what it requested."""
    page = new_page(browser)
    failed, outside = [], []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(served) else None)
    names = ["index.html", *(name.removesuffix(".ipynb") + ".html" for name in lecture_names()), "용어집.html"]
    seen = {}
    try:
        for name in names:
            response = page.goto(urljoin(served, name))
            page.evaluate("document.fonts.ready")
            page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            screenshot = artifacts / f"site-{name.removesuffix('.html')}.png"
            page.screenshot(path=screenshot, full_page=True)
            seen[name] = {
                "status": response.status,
                **page.evaluate(PAGE_PARTS),
                "words": lab_ui.hangul_words(page, "div.body", limit=8),
                "screenshot": screenshot,
            }
    finally:
        page.close()
    return {"pages": seen, "failed": failed, "outside": outside, "base": served}


def test_every_page_loads_and_asks_nothing_of_the_internet(visits):
    assert {name: seen["status"] for name, seen in visits["pages"].items() if seen["status"] != 200} == {}
    assert visits["failed"] == []
    assert visits["outside"] == []  # no web font, script or style from elsewhere: the site works offline


def test_korean_prose_is_drawn_in_hangul(visits):
    for name, seen in visits["pages"].items():
        assert seen["words"], f"{name}: no Korean prose found"
        verdicts = hangul.prose_verdicts(seen["screenshot"], seen["words"])
        assert not [str(verdict) for verdict in verdicts if not verdict.is_hangul], name


def test_every_figure_shows(visits):
    for name, seen in visits["pages"].items():
        broken = [image["src"] for image in seen["images"] if not image["loaded"]]
        assert broken == [], name
    lectures = [name for name in visits["pages"] if name[:2].isdigit()]
    assert all(visits["pages"][name]["images"] for name in lectures), "every lecture page shows a figure"


def test_formulas_are_drawn(visits):
    """MathJax (the site's own copy) turns every $...$ into a drawing: no TeX source is left in the text."""
    pages = visits["pages"]
    assert [name for name, seen in pages.items() if seen["raw_tex"]] == []
    assert pages["02_cosine_similarity.html"]["formulas"] > 0  # 02 defines cosine similarity with a formula


def test_links_between_pages_resolve(visits):
    pages, base = visits["pages"], visits["base"]
    ids = {name: set(seen["ids"]) for name, seen in pages.items()}
    broken = []
    for name, seen in pages.items():
        for link in seen["links"]:
            target, anchor = urldefrag(link)
            if not target.startswith(base):
                continue  # a link out of the site (a paper, a repository): not followed offline
            target_name = unquote(urlparse(target).path.removeprefix(urlparse(base).path)) or "index.html"
            if target_name.endswith(("genindex.html", "search.html")) or target_name.startswith("_static/"):
                continue
            if target_name not in pages or (anchor and anchor not in ids[target_name]):
                broken.append((name, link))
    assert broken == []
    lecture_pages = [name for name in pages if name[:2].isdigit()]
    linked = {name: {unquote(urldefrag(link)[0]) for link in pages[name]["links"]} for name in lecture_pages}
    for earlier, later in zip(lecture_pages, lecture_pages[1:]):
        assert urljoin(base, later) in linked[earlier], f"{earlier} does not lead on to {later}"
    glossary = urljoin(base, "용어집.html")
    assert [name for name in lecture_pages if glossary not in linked[name]] == []
