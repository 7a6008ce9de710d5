"""Rebuild the course image set (cat.jpg, topk-image/, quiz-image/, MANIFEST.csv) from open-licensed sources.

    python -m tools.build_images [--out DIR]

Sources are pinned Debian packages (fetched with `apt-get download`, checked against their sha256, unpacked
with `dpkg-deb -x`, cached in $MMEMBED_IMAGE_SOURCES or ~/.cache/mmembed-image-sources) and the pictures
bundled with scikit-image (pinned version, files checked by sha256). The per-picture choices (source file,
background, size, captions, category, group) are in `images/catalog.csv`.

The output is deterministic: fixed sizes, fixed JPEG quality, no EXIF or timestamps, fixed order, and the only
randomness (background crops, the quiz order, the stars in space) comes from seeded generators. Running it
twice, or on another machine with the same pinned versions, gives the same bytes.
"""

import argparse
import csv
import hashlib
import os
import random
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from mmembed.images import natural_key
from mmembed.paths import IMAGE_CATALOG, IMAGES_DIR

# Debian bookworm packages: name -> (version, sha256 of the .deb). Only these exact files are used.
DEBIAN_PACKAGES = {
    "tuxpaint-stamps-default": ("2022.06.04-1", "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"),
    "openclipart-png": ("1:0.18+dfsg-19", "f07f1545a2970c2cf3fa339bc2405da1a95cf2b1827bfa05bf73eb1c20291c02"),
    "mate-backgrounds": ("1.26.0-1", "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04"),
    "plasma-workspace-wallpapers": ("4:5.27.5-2", "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b"),
}
SCIKIT_IMAGE_VERSION = "0.26.0"

# Where each source keeps its pictures, inside the unpacked package.
SOURCE_ROOTS = {
    "tuxpaint-stamps-default": "usr/share/tuxpaint/stamps",
    "openclipart-png": "usr/share/openclipart/png",
    "mate-backgrounds": "usr/share/backgrounds/mate",
    "plasma-workspace-wallpapers": "usr/share/wallpapers",
}
LICENSES = {
    "tuxpaint-stamps-default": "GPL-2.0-or-later",
    "openclipart-png": "public-domain",
    "mate-backgrounds": "GPL-2.0-or-later",
    "plasma-workspace-wallpapers": "LGPL-3.0",
    "scikit-image": "CC0-1.0",
}
# KDE wallpapers are LGPL-3.0 except these (see each wallpaper's metadata.json).
CC_BY_SA_WALLPAPERS = ("Volna/",)
# scikit-image pictures that are public domain rather than CC0 (see LICENSES.md).
SCIKIT_IMAGE_PUBLIC_DOMAIN = {"astronaut.png", "rocket.jpg", "hubble_deep_field.jpg"}

# Scenery that cut-outs are laid on: (package, file inside its root).
BACKGROUNDS = {
    "meadow": ("mate-backgrounds", "nature/GreenMeadow.jpg"),
    "dune": ("mate-backgrounds", "nature/Dune.jpg"),
    "road": ("mate-backgrounds", "nature/Storm.jpg"),
    "table": ("mate-backgrounds", "nature/Wood.jpg"),
    "leaves": ("mate-backgrounds", "nature/RainDrops.jpg"),
    "leaf": ("mate-backgrounds", "nature/Blinds.jpg"),
    "water": ("mate-backgrounds", "nature/Aqua.jpg"),
    "forest": ("plasma-workspace-wallpapers", "Path/contents/images/1920x1080.jpg"),
    "sky": ("plasma-workspace-wallpapers", "Kite/contents/images/1280x1024.jpg"),
    "beach": ("plasma-workspace-wallpapers", "Volna/contents/images/5120x2880.jpg"),
}
# Backgrounds with a floor: the object stands on it (lower in the frame, with a soft shadow).
GROUND_BACKGROUNDS = {"meadow", "dune", "road", "table", "forest", "beach"}

COMPOSITE_SIZE = (320, 240)  # quiz and dog pictures made from cut-outs
SCENE_SIZE = (400, 300)  # whole photographs used as they are
JPEG_QUALITY = 90
QUIZ_ORDER_SEED = 2024
DEFAULT_FILL = 0.78  # how much of the frame a cut-out fills (its longer side, relative to the frame)


# ---------------------------------------------------------------- sources


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "mmembed-image-sources"
    return Path(os.environ.get("MMEMBED_IMAGE_SOURCES", default))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def deb_filename(package: str, version: str) -> str:
    return f"{package}_{version.replace(':', '%3a')}_all.deb"


def fetch_deb(package: str, cache: Path) -> Path:
    """The pinned .deb in the cache, downloaded with apt-get if missing; its sha256 is checked."""
    version, expected = DEBIAN_PACKAGES[package]
    deb = cache / deb_filename(package, version)
    if not deb.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"downloading {package}={version}")
        result = subprocess.run(
            ["apt-get", "download", f"{package}={version}"], cwd=cache, capture_output=True, text=True
        )
        if result.returncode != 0 or not deb.exists():
            raise RuntimeError(
                f"apt-get download {package}={version} failed (run `apt-get update` first?):\n{result.stderr.strip()}"
            )
    actual = sha256_of(deb)
    if actual != expected:
        raise RuntimeError(f"{deb} has sha256 {actual}, expected {expected}; delete it and rerun")
    return deb


def unpack(package: str, cache: Path) -> Path:
    """The unpacked contents of the pinned package (unpacked once, then reused)."""
    version, expected = DEBIAN_PACKAGES[package]
    target = cache / "unpacked" / f"{package}_{expected[:12]}"
    if not (target / ".complete").exists():
        deb = fetch_deb(package, cache)
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
        (target / ".complete").write_text(version)
    return target / SOURCE_ROOTS[package]


def scikit_image_file(name: str) -> Path:
    import skimage
    import skimage.data

    if skimage.__version__ != SCIKIT_IMAGE_VERSION:
        raise RuntimeError(f"scikit-image {SCIKIT_IMAGE_VERSION} is pinned, found {skimage.__version__}")
    return Path(skimage.data.__file__).parent / name


class Sources:
    """Finds source files by (package, path) and opens them, unpacking each package once."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.roots = {}
        self.backgrounds = {}

    def path(self, package: str, original: str) -> Path:
        if package == "scikit-image":
            return scikit_image_file(original)
        if package not in self.roots:
            self.roots[package] = unpack(package, self.cache)
        return self.roots[package] / original

    def open_background(self, package: str, original: str) -> Image.Image:
        """A scenery photo, opened once and kept (shrunk to at most 1920 px wide to save time)."""
        if (package, original) not in self.backgrounds:
            image = self.open(package, original).convert("RGB")
            while image.width > 1920:
                image = image.reduce(2)
            self.backgrounds[package, original] = image
        return self.backgrounds[package, original]

    def open(self, package: str, original: str) -> Image.Image:
        with Image.open(self.path(package, original)) as image:
            image.load()
            return image.copy()


# ---------------------------------------------------------------- drawing


def crop_to_aspect(
    image: Image.Image, size: tuple[int, int], anchor: tuple[float, float], zoom: float = 1.0
) -> Image.Image:
    """Cut the largest region of the frame's aspect ratio (made `zoom` times smaller) at `anchor` (0..1, 0..1)
    and resize it to `size`."""
    width, height = image.size
    aspect = size[0] / size[1]
    crop_w = min(width, height * aspect) / zoom
    crop_h = crop_w / aspect
    left = anchor[0] * (width - crop_w)
    top = anchor[1] * (height - crop_h)
    box = tuple(round(v) for v in (left, top, left + crop_w, top + crop_h))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS, box=box)


def seeded_random(*keys: str) -> random.Random:
    return random.Random(zlib.crc32("/".join(keys).encode("utf-8")))


def plain_background(colour: str, size: tuple[int, int]) -> Image.Image:
    """A studio-like backdrop: the colour at the top, a little darker towards the bottom."""
    top = np.array(hex_colour(colour), dtype=np.float64)
    shade = np.linspace(1.0, 0.82, size[1])[:, None, None]
    pixels = np.broadcast_to(top * shade, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")


def hex_colour(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def starry_background(size: tuple[int, int], key: str) -> Image.Image:
    """Black space with a few hundred faint stars at seeded places."""
    rng = seeded_random("stars", key)
    image = Image.new("RGB", size, (4, 5, 12))
    draw = ImageDraw.Draw(image)
    for _ in range(size[0] * size[1] // 400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        level = rng.randrange(60, 230)
        draw.point((x, y), fill=(level, level, min(255, level + 20)))
    return image


def scene_background(sources: Sources, name: str, size: tuple[int, int], key: str) -> Image.Image:
    """A seeded crop of a named scenery photo, slightly blurred so the object in front stands out."""
    package, original = BACKGROUNDS[name]
    rng = seeded_random("background", key)
    anchor, zoom = (rng.uniform(0.1, 0.9), rng.uniform(0.3, 0.7)), rng.uniform(1.0, 1.4)
    if name == "sky":  # zoom into the clouds on the left, away from the kite
        anchor, zoom = (rng.uniform(0.0, 0.1), rng.uniform(0.1, 0.6)), rng.uniform(2.2, 2.6)
    if name == "water":  # keep the splashing drop on the right out of the frame
        anchor, zoom = (rng.uniform(0.0, 0.15), rng.uniform(0.2, 0.8)), rng.uniform(1.6, 1.9)
    scene = crop_to_aspect(sources.open_background(package, original), size, anchor, zoom)
    return scene.filter(ImageFilter.GaussianBlur(1.5))


def make_background(sources: Sources, spec: str, size: tuple[int, int], key: str) -> Image.Image:
    if spec.startswith("#"):
        return plain_background(spec, size)
    if spec == "space":
        return starry_background(size, key)
    return scene_background(sources, spec, size, key)


def trim_to_content(cutout: Image.Image) -> Image.Image:
    """The cut-out as RGBA, cropped to its visible pixels."""
    cutout = cutout.convert("RGBA")
    alpha = cutout.getchannel("A").point(lambda a: 255 if a > 8 else 0)
    box = alpha.getbbox()
    return cutout.crop(box) if box else cutout


def drop_shadow(canvas: Image.Image, base_x: int, base_y: int, width: int) -> Image.Image:
    """Darken a soft ellipse where the object meets the ground."""
    mask = Image.new("L", canvas.size, 0)
    half_w, half_h = width * 0.45, max(3, width * 0.06)
    ImageDraw.Draw(mask).ellipse((base_x - half_w, base_y - half_h, base_x + half_w, base_y + half_h), fill=110)
    mask = mask.filter(ImageFilter.GaussianBlur(max(2, width // 25)))
    return Image.composite(Image.new("RGB", canvas.size, (0, 0, 0)), canvas, mask)


def composite(cutout: Image.Image, background: Image.Image, fill: float, on_ground: bool, flip: bool) -> Image.Image:
    """Lay the cut-out on the background: scaled to `fill` of the frame, centred, or standing on the ground."""
    cutout = trim_to_content(cutout)
    if flip:
        cutout = ImageOps.mirror(cutout)
    frame_w, frame_h = background.size
    scale = min(fill * frame_w / cutout.width, fill * frame_h / cutout.height)
    size = (max(1, round(cutout.width * scale)), max(1, round(cutout.height * scale)))
    cutout = cutout.resize(size, Image.Resampling.LANCZOS)
    left = (frame_w - size[0]) // 2
    if on_ground:
        top = round(frame_h * 0.93) - size[1]
        background = drop_shadow(background, frame_w // 2, top + size[1] - 2, size[0])
    else:
        top = (frame_h - size[1]) // 2
    canvas = background.convert("RGBA")
    canvas.alpha_composite(cutout, (left, top))
    return canvas.convert("RGB")


def whole_picture(image: Image.Image, max_side: int = 480) -> Image.Image:
    """A photograph used as it is: RGB, shrunk only if its longer side exceeds max_side."""
    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return image


def render(sources: Sources, row: dict, key: str) -> Image.Image:
    """One picture from its catalog row."""
    original = sources.open(row["source"], row["original"])
    background = row["background"]
    if background == "scene":  # a whole wallpaper photo, cropped to 4:3
        return crop_to_aspect(original, SCENE_SIZE, (0.5, 0.5))
    if background == "none":  # a photo used as it is
        return whole_picture(original)
    fill = float(row["fill"]) if row["fill"] else DEFAULT_FILL
    on_ground = background in GROUND_BACKGROUNDS
    return composite(
        original, make_background(sources, background, COMPOSITE_SIZE, key), fill, on_ground, flip=row["flip"] == "yes"
    )


# ---------------------------------------------------------------- writing


def save(image: Image.Image, path: Path) -> None:
    """Write without metadata: same pixels, same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        image.save(path, format="PNG", optimize=False, compress_level=9)
    else:
        image.save(path, format="JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", optimize=True, progressive=False)


def read_catalog() -> list[dict]:
    with open(IMAGE_CATALOG, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def output_paths(rows: list[dict]) -> list[str]:
    """Each catalog row's output path. Quiz pictures get val_0..val_N-1 in a seeded shuffled order, so the
    quiz set is mixed like a real validation set while the catalog stays grouped by category."""
    quiz = [i for i, row in enumerate(rows) if row["target"] == "quiz"]
    order = list(range(len(quiz)))
    random.Random(QUIZ_ORDER_SEED).shuffle(order)
    paths = [row["target"] for row in rows]
    for val_index, catalog_index in zip(order, quiz):
        paths[catalog_index] = f"quiz-image/val_{val_index}.JPEG"
    return paths


MANIFEST_COLUMNS = [
    "path",
    "source",
    "original",
    "license",
    "caption_en",
    "caption_ko",
    "category",
    "style",
    "background",
    "group",
]


def file_license(package: str, original: str) -> str:
    if package == "scikit-image" and original in SCIKIT_IMAGE_PUBLIC_DOMAIN:
        return "public-domain"
    if package == "plasma-workspace-wallpapers" and original.startswith(CC_BY_SA_WALLPAPERS):
        return "CC-BY-SA-4.0"
    return LICENSES[package]


def license_of(row: dict) -> str:
    """SPDX-style licence of the picture: its own source's and, for a composite, the background photo's."""
    licenses = [file_license(row["source"], row["original"])]
    if row["background"] in BACKGROUNDS:
        licenses.append(file_license(*BACKGROUNDS[row["background"]]))
    return " AND ".join(dict.fromkeys(licenses))


def background_source(spec: str) -> str:
    if spec in BACKGROUNDS:
        package, original = BACKGROUNDS[spec]
        return f"{package}:{original}"
    return {"none": "", "scene": ""}.get(spec, "plain colour" if spec.startswith("#") else spec)


def write_manifest(rows: list[dict], paths: list[str], out: Path) -> None:
    entries = sorted(zip(paths, rows), key=lambda entry: natural_key(entry[0]))
    with open(out / "MANIFEST.csv", "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for path, row in entries:
            writer.writerow(
                [
                    path,
                    row["source"],
                    row["original"],
                    license_of(row),
                    row["caption_en"],
                    row["caption_ko"],
                    row["category"],
                    row["style"],
                    background_source(row["background"]),
                    row["group"],
                ]
            )


def build(out: Path) -> None:
    rows = read_catalog()
    paths = output_paths(rows)
    sources = Sources(cache_dir())
    for path, row in zip(paths, rows):
        save(render(sources, row, key=f"{row['source']}:{row['original']}:{path}"), out / path)
    write_manifest(rows, paths, out)
    print(f"wrote {len(rows)} pictures and MANIFEST.csv to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES_DIR, help="output folder (default: images/)")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
