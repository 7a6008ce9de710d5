"""Korean text shows as Hangul, not as tofu boxes: prose in the lectures' screenshots, and plot titles in their
figures. The last two tests show that the same checks do catch tofu: text drawn on purpose as missing-glyph boxes
fails them."""

import base64
import io
from contextlib import nullcontext

import matplotlib
import nbformat
import pytest
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from tests.browser import hangul, lab_runs, lab_ui
from tests.browser import notebook_checks as checks
from tests.lectures.conftest import LECTURES, seconds_limit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("jupyterlab")]

TITLED_LECTURES = [path for path in LECTURES if checks.literal_korean_titles(nbformat.read(path, as_version=4))]
SAMPLE_TEXT = "모달리티와 코사인 유사도를 배웁니다"


def figures_of(cell) -> list[bytes]:
    return [
        base64.b64decode(output.data["image/png"]) for output in cell.outputs if "image/png" in output.get("data", {})
    ]


@pytest.mark.parametrize("lecture", LECTURES, ids=[path.stem for path in LECTURES])
def test_korean_prose_is_drawn_in_hangul(lecture, lab_runs):
    run = lab_runs.of(lecture, seconds_limit(lecture))
    assert run.words, f"{lecture.name}: no Korean prose found in the rendered Markdown"
    verdicts = hangul.prose_verdicts(run.screenshot, run.words)
    print(f"{lecture.name}:", "; ".join(map(str, verdicts)))
    assert not [str(verdict) for verdict in verdicts if not verdict.is_hangul]


@pytest.mark.parametrize("lecture", TITLED_LECTURES, ids=[path.stem for path in TITLED_LECTURES])
def test_korean_plot_titles_are_drawn_in_hangul(lecture, lab_runs):
    run = lab_runs.of(lecture, seconds_limit(lecture))
    verdicts = []
    for title in checks.literal_korean_titles(run.saved):
        figures = figures_of(run.saved.cells[title.cell])
        assert figures, f"{lecture.name}: cell {title.cell} titles a plot {title.text!r} but shows no figure"
        points = hangul.default_points(title.size_setting)
        verdicts.append(
            max((hangul.figure_text_verdict(png, title.text, points) for png in figures), key=lambda v: v.like_korean)
        )
    print(f"{lecture.name}:", "; ".join(map(str, verdicts)))
    assert not [str(verdict) for verdict in verdicts if not verdict.is_hangul]


def test_some_lecture_has_a_literal_korean_plot_title():
    """Otherwise the plot-title check above would check nothing."""
    assert TITLED_LECTURES


def test_the_prose_check_catches_tofu_in_the_browser(browser):
    """The same words, once in the page's normal font and once in a font that draws each syllable as a box."""
    font = base64.b64encode(hangul.box_font()).decode()
    page = lab_runs.new_page(browser)
    try:
        page.set_content(
            f"""<style>@font-face {{font-family: Boxes; src: url(data:font/ttf;base64,{font});}}
            p {{font: 14px sans-serif; margin: 24px;}}</style>
            <div id="hangul"><p>{SAMPLE_TEXT}</p></div>
            <div id="tofu"><p style="font-family: Boxes">{SAMPLE_TEXT}</p></div>"""
        )
        page.evaluate("document.fonts.ready")
        buffer = io.BytesIO(page.screenshot())
        hangul_words = lab_ui.hangul_words(page, "#hangul")
        tofu_words = lab_ui.hangul_words(page, "#tofu")
    finally:
        page.close()
    assert len(hangul_words) == len(tofu_words) == len(SAMPLE_TEXT.split())
    in_hangul, as_boxes = hangul.prose_verdicts(buffer, hangul_words), hangul.prose_verdicts(buffer, tofu_words)
    print("Hangul:", "; ".join(map(str, in_hangul)), "| boxes:", "; ".join(map(str, as_boxes)))
    assert all(verdict.is_hangul for verdict in in_hangul)
    assert not any(verdict.is_hangul for verdict in as_boxes)


def test_the_plot_title_check_catches_tofu():
    """A figure titled in NanumGothic passes; the same figure titled in DejaVu Sans (no Hangul: boxes) does not."""
    points = hangul.default_points("axes.titlesize")

    def figure_titled_in(font_file) -> bytes:
        figure = Figure(figsize=(5, 3), dpi=matplotlib.rcParamsDefault["figure.dpi"])
        axes = figure.add_subplot()
        axes.plot([0, 1, 2], [1, 0, 2])
        axes.set_title(SAMPLE_TEXT, fontproperties=FontProperties(fname=font_file, size=points))
        buffer = io.BytesIO()
        with pytest.warns(UserWarning, match="missing from font") if font_file == hangul.BOX_FONT else nullcontext():
            figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()

    in_hangul = hangul.figure_text_verdict(figure_titled_in(hangul.plot_korean_font()), SAMPLE_TEXT, points)
    as_boxes = hangul.figure_text_verdict(figure_titled_in(hangul.BOX_FONT), SAMPLE_TEXT, points)
    print(f"Hangul: {in_hangul} | boxes: {as_boxes}")
    assert in_hangul.is_hangul
    assert not as_boxes.is_hangul
