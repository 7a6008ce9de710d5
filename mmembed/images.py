"""A folder's picture files in natural order (val_2 before val_10; `picture_files` looks in subfolders too), and
loading them as RGB PIL images."""

import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def natural_key(filename: str) -> list:
    """Sort key that compares runs of digits as numbers and ignores case: val_2 < val_10, a_9 < B_1.

    The one natural order of the course: picture folders and images/MANIFEST.csv are sorted with it.
    """
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", filename)]


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is laid over white, as a viewer shows it."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float pictures: PIL's convert("RGB") would clip to 255 and turn them white.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray((np.clip(values / top, 0, 1) * 255).round().astype(np.uint8), mode="L")
    if image.mode == "P" or image.mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def load_image(path: str | Path) -> Image.Image:
    """Open one picture as RGB, turned upright by its EXIF orientation. Raises OSError if it is not an image."""
    with Image.open(path) as image:
        image.load()  # decode now: a truncated file fails here, not later inside the model
        upright = ImageOps.exif_transpose(image)
        return to_rgb(upright)


def image_files(folder: str | Path) -> list[Path]:
    """The picture files in `folder` (by suffix, hidden files skipped), in natural order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"사진 폴더가 없습니다: {folder}")
    files = [
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    ]
    return sorted(files, key=lambda path: natural_key(path.name))


def picture_files(folder: str | Path) -> list[Path]:
    """Every picture file under `folder`, in subfolders too (by suffix, hidden files and folders skipped),
    in natural order of their paths (quiz-image/val_2 before quiz-image/val_10)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"사진 폴더가 없습니다: {folder}")
    files = [
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(files, key=lambda path: [natural_key(part) for part in path.relative_to(folder).parts])


def load_images(folder: str | Path) -> tuple[list[Image.Image], list[str]]:
    """All readable pictures in `folder` and their file names, in the same natural order.

    A file that cannot be read as a picture is skipped with a warning naming it; the others still load.
    """
    images, names = [], []
    for path in image_files(folder):
        try:
            images.append(load_image(path))
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
            warnings.warn(f"읽을 수 있는 사진이 아니어서 건너뜁니다: {path} ({error})", stacklevel=2)
            continue
        names.append(path.name)
    if not images:
        raise FileNotFoundError(f"{Path(folder)}에 읽을 수 있는 사진이 없습니다")
    return images, names
