"""Loading folders of pictures: order, every image mode, broken files and bad folders."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

from mmembed.images import load_image, load_images, natural_key


def test_natural_order(tmp_path):
    for i in [10, 2, 0, 1, 11, 3]:
        Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(tmp_path / f"val_{i}.JPEG")
    images, names = load_images(tmp_path)
    assert names == ["val_0.JPEG", "val_1.JPEG", "val_2.JPEG", "val_3.JPEG", "val_10.JPEG", "val_11.JPEG"]
    # the pictures come in the same order as the names
    reds = [image.getpixel((4, 4))[0] for image in images]
    assert reds == sorted(reds)


def test_natural_key_is_case_insensitive():
    assert sorted(["B_1.png", "a_10.png", "a_9.png"], key=natural_key) == ["a_9.png", "a_10.png", "B_1.png"]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")  # pure red in CMYK
    image = load_image(tmp_path / "cmyk.jpg")
    assert image.mode == "RGB" and image.size == (30, 20)
    r, g, b = image.getpixel((15, 10))
    assert r > 200 and g < 60 and b < 60


def test_palette_png_with_transparency_is_laid_on_white(tmp_path):
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 255] + [0, 0, 0] * 255)  # index 0 is blue ...
    image.info["transparency"] = 0  # ... and fully transparent
    image.save(tmp_path / "palette.png")
    loaded = load_image(tmp_path / "palette.png")
    assert loaded.mode == "RGB"
    assert loaded.getpixel((5, 5)) == (255, 255, 255)


def test_rgba_and_grayscale_alpha(tmp_path):
    Image.new("RGBA", (6, 6), (255, 0, 0, 255)).save(tmp_path / "opaque.png")
    Image.new("LA", (6, 6), (0, 0)).save(tmp_path / "clear.png")
    assert load_image(tmp_path / "opaque.png").getpixel((1, 1)) == (255, 0, 0)
    assert load_image(tmp_path / "clear.png").getpixel((1, 1)) == (255, 255, 255)


def test_16_bit_png_keeps_its_shades(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 16).reshape(16, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    pixels = np.asarray(load_image(tmp_path / "deep.png"))
    assert pixels.shape == (16, 64, 3) and pixels.dtype == np.uint8
    assert pixels.min() == 0 and pixels.max() == 255
    assert len(np.unique(pixels[..., 0])) > 200  # a real ramp, not clipped to white


def test_one_pixel_image(tmp_path):
    Image.new("L", (1, 1), 128).save(tmp_path / "dot.png")
    image = load_image(tmp_path / "dot.png")
    assert image.mode == "RGB" and image.size == (1, 1) and image.getpixel((0, 0)) == (128, 128, 128)


def test_exif_orientation_is_honoured(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    image.save(tmp_path / "phone.jpg", exif=exif)
    assert Image.open(tmp_path / "phone.jpg").size == (40, 20)
    assert load_image(tmp_path / "phone.jpg").size == (20, 40)


def test_unreadable_files_are_skipped_with_a_warning_naming_them(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "val_0.JPEG")
    (tmp_path / "val_1.JPEG").write_bytes(b"this is not a picture")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buffer, "JPEG")
    (tmp_path / "val_2.JPEG").write_bytes(buffer.getvalue()[:300])  # truncated
    Image.new("RGB", (8, 8)).save(tmp_path / "val_3.png")
    (tmp_path / "notes.txt").write_text("not an image and not pretending to be one")
    with pytest.warns(UserWarning) as caught:
        images, names = load_images(tmp_path)
    assert names == ["val_0.JPEG", "val_3.png"] and len(images) == 2
    messages = " ".join(str(w.message) for w in caught)
    assert "val_1.JPEG" in messages and "val_2.JPEG" in messages and "notes.txt" not in messages


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        load_images(tmp_path / "no-such-folder")


def test_empty_folder_names_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        load_images(tmp_path / "empty")


def test_folder_of_only_broken_files_is_an_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG broken")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FileNotFoundError, match="읽을 수 있는 사진이 없습니다"):
            load_images(tmp_path)
