"""Contact sheets: many pictures with their captions in one grid, to see a whole image set at a glance.

    python -m mmembed.viz [FOLDER] [--out sheet.png] [--lang en|ko] [--columns 10]

FOLDER defaults to images/quiz-image; captions come from images/MANIFEST.csv. Korean captions need a font with
Hangul (Debian: fonts-nanum; Windows: Malgun Gothic; macOS: AppleGothic); without one the sheet falls back to
the English captions and says so.
"""

import argparse
import textwrap
import warnings
from pathlib import Path

import matplotlib

from .images import load_images
from .manifest import read_manifest
from .paths import IMAGES_DIR, QUIZ_IMAGE_DIR

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


def manifest_captions(lang: str = "en") -> dict[str, str]:
    """{path relative to images/: caption} from the manifest."""
    return {picture.path: getattr(picture, f"caption_{lang}") for picture in read_manifest()}


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
    try:
        captions_by_path = manifest_captions(lang=lang)
        relative = folder.resolve().relative_to(IMAGES_DIR.resolve())
        keys = [(relative / name).as_posix().removeprefix("./") for name in names]
        captions = [f"{name}\n{captions_by_path.get(key, '')}" for name, key in zip(names, keys)]
    except (FileNotFoundError, ValueError):  # a folder outside images/ or no manifest: file names only
        captions = names
    return contact_sheet(images, captions, columns=columns, font=font, title=str(folder.name))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Draw all pictures of a folder with their captions.")
    parser.add_argument("folder", nargs="?", default=QUIZ_IMAGE_DIR, type=Path)
    parser.add_argument("--out", type=Path, default=Path("sheet.png"), help="PNG to write (default sheet.png)")
    parser.add_argument("--lang", choices=["en", "ko"], default="en")
    parser.add_argument("--columns", type=int, default=10)
    args = parser.parse_args(argv)
    matplotlib.use("Agg")
    figure = folder_sheet(args.folder, lang=args.lang, columns=args.columns)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
