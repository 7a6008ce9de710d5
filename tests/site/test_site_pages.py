"""The website's pages: one per lecture and the glossary, each lecture with its offline outputs and the note that
says where they come from; and, being student material, no answer and no text written for maintainers."""

import re
from html.parser import HTMLParser

import nbformat
import pytest

from autograder import config
from tests.edition.test_developer_text import developer_text_hits
from tests.edition.test_no_answers import (
    found,
    quiz2_answers,
    quiz7_descriptions,
    quiz7_telling_captions,
    solution_lines,
)
from tests.lectures.conftest import LECTURES
from tools.build_site import OFFLINE_NOTE

pytestmark = [pytest.mark.site, pytest.mark.slow]


class PageText(HTMLParser):
    """The text a reader sees (no scripts or styles), and the images' sources."""

    def __init__(self):
        super().__init__()
        self.parts, self.images, self._hidden = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def read_page(path) -> PageText:
    page = PageText()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def page_texts(site) -> dict[str, str]:
    return {path.name: " ".join("".join(read_page(path).parts).split()) for path in sorted(site.glob("*.html"))}


def test_every_lecture_and_the_glossary_have_a_page(site, lecture_pages):
    missing = [stem for stem, page in lecture_pages.items() if not page.is_file()]
    assert missing == []
    assert (site / "용어집.html").is_file()
    front = (site / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{stem}.html"' in front for stem in lecture_pages), "the front page lists every lecture"


def test_each_lecture_page_says_its_outputs_are_offline_and_shows_them(lecture_pages, page_texts):
    note = re.sub(r"[*`>]", "", OFFLINE_NOTE).split(":", 1)[1].strip()[:40]
    for stem, page in lecture_pages.items():
        assert note in page_texts[page.name], f"{stem}: no offline note"
        images = read_page(page).images
        assert any(image.get("src", "").endswith(".png") for image in images), f"{stem}: no figure"


def test_no_answer_on_the_site(page_texts):
    """What the student edition must not hold, the site must not either: solutions, hidden queries, quiz 2's
    answers, quiz 7's captions beyond the pictures' names and the descriptions that measure quiz 7."""
    assert found(page_texts, ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN_QUERIES"]) == []
    lectures = "\n".join(cell.source for path in LECTURES for cell in nbformat.read(path, as_version=4).cells)
    assert found(page_texts, [line for line in solution_lines() if line not in lectures]) == []
    assert found(page_texts, quiz7_telling_captions()) == []  # a bare name ("트럼펫") is no answer: see there
    assert found(page_texts, quiz7_descriptions()) == []
    # the shortest Korean answers ("개 얼굴") are also words of the dogs' own captions, which pages may print
    assert found(page_texts, [text for text in quiz2_answers() if len(text) > 6]) == []
    together = [name for name, text in page_texts.items() if all(q in text for q in config.HIDDEN_QUERIES)]
    assert together == []


def test_no_developer_text_on_the_site(page_texts):
    """Text written for maintainers stays off the site, as it stays out of the lectures."""
    assert {name: hits for name, text in page_texts.items() if (hits := developer_text_hits(text))} == {}
