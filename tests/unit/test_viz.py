"""Contact sheets of the course pictures, as the lectures and `python -m mmembed viz` draw them."""

import matplotlib

matplotlib.use("Agg")

from PIL import Image  # noqa: E402

from mmembed.paths import TOPK_IMAGE_DIR  # noqa: E402
from mmembed.viz import folder_sheet, wrap  # noqa: E402
from tests.helpers import run_python  # noqa: E402


def test_wrap_keeps_line_breaks_and_limits_lines():
    assert wrap("dog_0.png\na photo of a grey and white husky dog standing on grass", width=20).split("\n") == [
        "dog_0.png",
        "a photo of a grey",
        "and white husky dog",
        "standing on grass",
    ]
    assert len(wrap("word " * 50, width=10, max_lines=3).split("\n")) == 3


def test_folder_sheet_shows_every_picture_with_its_caption():
    figure = folder_sheet(TOPK_IMAGE_DIR, columns=5)
    shown = [ax for ax in figure.axes if ax.images]
    assert len(shown) == 9
    assert shown[0].get_title().startswith("dog_0.png\na photo of a grey")


def test_a_folder_outside_the_course_shows_file_names(tmp_path):
    for name in ("b.png", "a.png"):
        Image.new("RGB", (32, 32), "red").save(tmp_path / name)
    figure = folder_sheet(tmp_path, columns=2)
    assert [ax.get_title() for ax in figure.axes if ax.images] == ["a.png", "b.png"]


def test_command_line_writes_a_png(tmp_path):
    result = run_python(
        ["-m", "mmembed", "viz", str(TOPK_IMAGE_DIR), "--out", str(tmp_path / "sheet.png"), "--columns", "3"]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {tmp_path / 'sheet.png'}\n"
    with Image.open(tmp_path / "sheet.png") as sheet:
        assert sheet.width > 200 and sheet.height > 200
