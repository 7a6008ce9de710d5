"""Is Korean text drawn as Hangul, or as tofu (the empty box drawn for a character that no font has)?

What was drawn is compared with two references drawn here: the same text in the expected Korean font, and the same
text in DejaVu Sans, which has no Hangul, so each syllable becomes its missing-glyph box. Drawn text must look
like the first, and clearly more than like the second.

- Prose in the browser: a word's box cut from the screenshot. The browser and Pillow place glyphs a little
  differently, so both are trimmed to their ink and scaled to one size before they are correlated.
- A matplotlib figure: the title is looked for in the figure's PNG by normalised cross-correlation, drawn by
  matplotlib itself at the figure's dpi, which draws it pixel for pixel as the kernel did.
"""

import copy
import io
import math
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from fontTools import subset
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from skimage.feature import match_template
from skimage.filters import gaussian

from mmembed.texts import HANGUL_SYLLABLES

# The font that draws boxes: matplotlib's own DejaVu Sans, present wherever matplotlib is.
BOX_FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
# Drawn text "is Hangul" when it resembles the Korean rendering at least this much, and by this margin more than
# the box rendering. Measured here: words in Chromium 0.75-0.98 like Hangul and below 0.1 like boxes, the same
# words in boxes the other way round; plot titles 0.9-1.0 like Hangul.
MIN_RESEMBLANCE = 0.6
MARGIN = 0.3


def has_hangul(font_file: Path) -> bool:
    cmap = TTFont(font_file, lazy=True).getBestCmap()
    return all(syllable in cmap for syllable in (0xAC00, 0xD55C, 0xD7A3))


@cache
def browser_korean_font() -> Path:
    """The font fontconfig gives Korean text, which is where Chromium on Linux draws Hangul from."""
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run([fc_match, "--format=%{file}", "sans-serif:lang=ko"], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout and has_hangul(Path(found.stdout)):
            return Path(found.stdout)
    return plot_korean_font()


@cache
def plot_korean_font() -> Path:
    """The font `import koreanize_matplotlib` gives the lectures' plots (NanumGothic)."""
    import koreanize_matplotlib  # noqa: F401  (registers NanumGothic with matplotlib)

    return Path(font_manager.findfont(font_manager.FontProperties(family="NanumGothic"), fallback_to_default=False))


@dataclass(frozen=True)
class Verdict:
    text: str
    like_korean: float  # resemblance to the text drawn in the Korean font
    like_boxes: float  # resemblance to the text drawn as missing-glyph boxes

    @property
    def is_hangul(self) -> bool:
        return self.like_korean >= MIN_RESEMBLANCE and self.like_korean >= self.like_boxes + MARGIN

    def __str__(self):
        return f"{self.text!r}: like Hangul {self.like_korean:.2f}, like boxes {self.like_boxes:.2f}"


def ink(image: Image.Image) -> np.ndarray:
    """0 where the picture is white, 1 where it is black (dark text on a light background)."""
    if image.mode in ("RGBA", "LA", "P"):
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return 1.0 - np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def trimmed(picture: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    rows, columns = np.nonzero(picture > threshold)
    if rows.size == 0:
        return picture[:0, :0]
    return picture[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]


def resemblance(drawn: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of two pictures of text, each trimmed to its ink, the reference scaled to the drawn one."""
    drawn, reference = trimmed(drawn), trimmed(reference)
    if drawn.size == 0 or reference.size == 0 or drawn.std() == 0:
        return 0.0
    scaled = Image.fromarray(np.uint8(reference * 255)).resize((drawn.shape[1], drawn.shape[0]), Image.BILINEAR)
    scaled = np.asarray(scaled, dtype=np.float64) / 255.0
    if scaled.std() == 0:
        return 0.0
    # A stroke the browser puts between two pixels is one pixel to Pillow: blur both by about a pixel.
    drawn, scaled = gaussian(drawn, sigma=1), gaussian(scaled, sigma=1)
    return float(np.corrcoef(drawn.ravel(), scaled.ravel())[0, 1])


def drawn_by_pillow(text: str, font_file: Path, size_px: float) -> np.ndarray:
    font = ImageFont.truetype(str(font_file), size=size_px)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 8, bottom - top + 8), 255)
    ImageDraw.Draw(image).text((4 - left, 4 - top), text, font=font, fill=0)
    return ink(image)


def prose_verdict(word_image: Image.Image, text: str, size_px: float) -> Verdict:
    """How a word cut from a screenshot compares with the word in the browser's Korean font and as boxes."""
    drawn = ink(word_image)
    return Verdict(
        text,
        like_korean=resemblance(drawn, drawn_by_pillow(text, browser_korean_font(), size_px)),
        like_boxes=resemblance(drawn, drawn_by_pillow(text, BOX_FONT, size_px)),
    )


def word_image(screenshot: Image.Image, word: dict) -> Image.Image:
    """The word's box in the screenshot (a pixel more above and below, where strokes may reach)."""
    box = (
        math.floor(word["x"]),
        math.floor(word["y"]) - 1,
        math.ceil(word["x"] + word["width"]),
        math.ceil(word["y"] + word["height"]) + 1,
    )
    return screenshot.crop(box)


def prose_verdicts(screenshot, words: list[dict]) -> list[Verdict]:
    """A verdict for each word (as lab_ui.hangul_words gives them) of a screenshot (a path or a file object)."""
    with Image.open(screenshot) as picture:
        return [prose_verdict(word_image(picture, word), word["text"], word["font_size"]) for word in words]


def drawn_by_matplotlib(text: str, font_file: Path, points: float, dpi: float) -> np.ndarray:
    figure = Figure(dpi=dpi)
    figure.text(0, 0, text, fontproperties=font_manager.FontProperties(fname=font_file, size=points))
    buffer = io.BytesIO()
    text_settings = {key: value for key, value in matplotlib.rcParamsDefault.items() if key.startswith("text.")}
    with warnings.catch_warnings(), matplotlib.rc_context(text_settings):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # the boxes are the point
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.02, facecolor="white")
    return trimmed(ink(Image.open(buffer)), threshold=0.02)


def best_match(picture: np.ndarray, template: np.ndarray) -> float:
    if template.shape[0] > picture.shape[0] or template.shape[1] > picture.shape[1] or template.std() == 0:
        return 0.0
    return float(np.nan_to_num(match_template(picture, template)).max())


def default_points(size_setting: str) -> float:
    """matplotlib's default size in points for a font-size setting such as "axes.titlesize" ("large")."""
    value = matplotlib.rcParamsDefault[size_setting]
    if isinstance(value, str):
        return font_manager.font_scalings[value] * matplotlib.rcParamsDefault["font.size"]
    return float(value)


def figure_text_verdict(png: bytes, text: str, points: float) -> Verdict:
    """How well `text` at `points` is found in a figure drawn in the Korean font, and drawn as boxes."""
    image = Image.open(io.BytesIO(png))
    dpi = round(image.info.get("dpi", (matplotlib.rcParamsDefault["figure.dpi"],))[0])
    picture = ink(image)
    return Verdict(
        text,
        like_korean=best_match(picture, drawn_by_matplotlib(text, plot_korean_font(), points, dpi)),
        like_boxes=best_match(picture, drawn_by_matplotlib(text, BOX_FONT, points, dpi)),
    )


def box_font() -> bytes:
    """A font file that draws every Hangul syllable as DejaVu Sans's missing-glyph box: tofu on purpose.

    A browser falls back to another font for a character its font lacks; to make it draw the box, this font
    claims the syllables and maps them to a copy of the box (glyph 0 itself would mean "missing" again).
    """
    font = TTFont(BOX_FONT)
    options = subset.Options()
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's time stamps, which the subsetter does not know
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    font["glyf"]["tofu"] = copy.deepcopy(font["glyf"][".notdef"])
    font["hmtx"].metrics["tofu"] = font["hmtx"].metrics[".notdef"]
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap.update(dict.fromkeys(HANGUL_SYLLABLES, "tofu"))
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()
