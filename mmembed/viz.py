"""Contact sheets: many pictures with their captions in one grid, to see a whole image set at a glance.

    python -m mmembed viz [FOLDER] [--out sheet.png] [--lang en|ko] [--columns 10]

FOLDER defaults to images/quiz-image; captions come from images/MANIFEST.csv. Korean captions need a font with
Hangul (Debian: fonts-nanum; Windows: Malgun Gothic; macOS: AppleGothic); without one the sheet falls back to
the English captions and says so.
"""

import textwrap
import warnings
from pathlib import Path

from .images import load_images
from .manifest import captions
from .paths import QUIZ_IMAGE_DIR

KOREAN_FONT_NAMES = [
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "AppleGothic",
    "UnDotum",
    "Baekmuk Gulim",
]


def korean_font_name() -> str | None:
    """The name of an installed font that can draw Hangul, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in KOREAN_FONT_NAMES if name in installed), None)


def wrap(caption: str, width: int = 28, max_lines: int = 4) -> str:
    """Break a caption into short lines (keeping its own line breaks) so it fits above a thumbnail."""
    lines = [piece for line in caption.split("\n") for piece in textwrap.wrap(line, width) or [""]]
    return "\n".join(lines[:max_lines])


def contact_sheet(
    images, captions, columns: int = 10, thumb_inches: float = 1.6, font: str | None = None, title: str | None = None
):
    """A matplotlib Figure with the pictures in a grid, each with its caption (wrapped) underneath."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * thumb_inches, rows * thumb_inches * 1.25), squeeze=False
    )
    text_style = {"fontsize": 7}
    if font:
        text_style["fontfamily"] = font
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        ax.imshow(image)
        ax.set_title(wrap(caption), pad=2, **text_style)
    if title:
        figure.suptitle(title, **{**text_style, "fontsize": 12})
    figure.tight_layout()
    return figure


def folder_sheet(folder: str | Path = QUIZ_IMAGE_DIR, lang: str = "en", columns: int = 10):
    """The contact sheet of one image folder, captions (English or Korean) from the manifest."""
    folder = Path(folder)
    images, names = load_images(folder)
    font = None
    if lang == "ko":
        font = korean_font_name()
        if font is None:
            warnings.warn("No Korean font found (install fonts-nanum); showing English captions", stacklevel=2)
            lang = "en"
    known = captions(lang)  # none for a folder outside images/: the sheet shows the file names alone
    labels = [f"{name}\n{known.get((folder / name).resolve(), '')}".rstrip() for name in names]
    return contact_sheet(images, labels, columns=columns, font=font, title=str(folder.name))


if __name__ == "__main__":
    from .moved import command

    command("python -m mmembed.viz", "viz")
