"""Build data/coyo-sample/: 200 rows in COYO-700M's schema, one per course picture, for lecture 06 offline.

    python -m tools.build_coyo_sample           # write data/coyo-sample/train.jsonl and README.md
    python -m tools.build_coyo_sample --check   # rebuild in a temporary folder; fail if the committed files differ

Deterministic: the mismatched captions come from a seeded NumPy RandomState, the similarities from the offline
`mini` CLIP on the CPU in float32, rounded to 4 decimals. --check compares those with a tolerance of 0.0001
(the last digit kept may round the other way on another CPU) and everything else exactly. About 15 s on 2 cores.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
import torch
from PIL import Image

import mmembed
from mmembed.coyo import COLUMNS, COYO_ID, SAMPLE_DIR
from mmembed.manifest import read_manifest
from mmembed.paths import REPO_ROOT

SEED = 6  # lecture 06
MISMATCHED_SHARE = 0.25
THRESHOLD = 0.5  # the filter the card and lecture 06 quote: keep rows with clip_similarity_vitb32 > THRESHOLD
DATA_FILE = "train.jsonl"
FLOAT_TOLERANCE = 1e-4
SCHEMA_SOURCE = (
    "the Meta-Attributes table of https://github.com/kakaobrain/coyo-dataset"
    " and the Data Fields table of https://huggingface.co/datasets/kakaobrain/coyo-700m"
)


def pick_texts(captions: list[str], categories: list[str]) -> tuple[list[str], list[bool]]:
    """Each picture's own caption, except a fixed 25% that get the caption of a picture of another category."""
    rng = np.random.RandomState(SEED)
    count = len(captions)
    chosen = sorted(rng.choice(count, size=round(count * MISMATCHED_SHARE), replace=False).tolist())
    texts, mismatched = list(captions), [False] * count
    for row in chosen:
        others = [other for other in range(count) if categories[other] != categories[row]]
        texts[row] = captions[others[rng.randint(len(others))]]
        mismatched[row] = True
    return texts, mismatched


def similarities(images: list[Image.Image], texts: list[str]) -> list[float]:
    """Cosine similarity of each picture with its own text under the offline `mini` CLIP, rounded to 4 decimals."""
    torch.set_num_threads(2)
    model, processor = mmembed.load_clip("mini", device="cpu")
    # fp32 whatever the machine's bf16 support: "auto" precision would change the last digits from CPU to CPU
    image_vectors = mmembed.embed_images(images, model, processor, progress=False, precision="fp32")
    text_vectors = mmembed.embed_texts(texts, model, processor, progress=False, precision="fp32")
    image_vectors, text_vectors = (torch.nn.functional.normalize(v, dim=-1) for v in (image_vectors, text_vectors))
    return [round(float(value), 4) for value in (image_vectors * text_vectors).sum(dim=-1)]


def build_rows() -> tuple[list[dict], list[bool]]:
    pictures = [picture for picture in read_manifest() if picture.path.startswith("quiz-image/")]
    images = [mmembed.load_image(picture.file) for picture in pictures]
    texts, mismatched = pick_texts([p.caption_en for p in pictures], [p.category for p in pictures])
    scores = similarities(images, texts)
    rows = []
    for index, (picture, image, text, score) in enumerate(zip(pictures, images, texts, scores)):
        row = dict.fromkeys(COLUMNS)  # every column, in COYO's order, null unless filled in below
        row.update(
            id=index,
            url=picture.file.relative_to(REPO_ROOT).as_posix(),
            text=text,
            width=image.width,
            height=image.height,
            image_phash=str(imagehash.phash(image)),
            text_length=len(text),
            word_count=len(text.split(" ")),
            clip_similarity_vitb32=score,
        )
        rows.append(row)
    return rows, mismatched


def filter_figures(rows: list[dict], mismatched: list[bool]) -> dict:
    scores = np.array([row["clip_similarity_vitb32"] for row in rows])
    bad = np.array(mismatched)
    kept = scores > THRESHOLD
    return {
        "mismatched": int(bad.sum()),
        "true": int((~bad).sum()),
        "mismatched_removed": int((bad & ~kept).sum()),
        "true_kept": int((~bad & kept).sum()),
        "true_range": (scores[~bad].min(), np.median(scores[~bad]), scores[~bad].max()),
        "mismatched_range": (scores[bad].min(), np.median(scores[bad]), scores[bad].max()),
    }


def card(figures: dict) -> str:
    features = "\n".join(f"  - name: {name}\n    dtype: {dtype}" for name, dtype in COLUMNS.items())
    no_model = ("num_", "nsfw_", "watermark", "aesthetic")
    null_columns = ", ".join(f"`{name}`" for name in COLUMNS if name.startswith(no_model))
    low, median, high = figures["true_range"]
    bad_low, bad_median, bad_high = figures["mismatched_range"]
    why = ""
    if bad_high <= THRESHOLD < low:  # say why this threshold only when it is true of the data
        why = (
            f", which keeps every true pair (any threshold from {bad_high:.4f} up to {low:.4f}"
            " splits the rows the same way)"
        )
    return f"""---
license: other
pretty_name: COYO-700M course sample
configs:
- config_name: default
  data_files:
  - split: train
    path: {DATA_FILE}
dataset_info:
  features:
{features}
---

# COYO-700M course sample (200 rows)

A stand-in for [{COYO_ID}](https://huggingface.co/datasets/{COYO_ID}) that lecture 06 streams when the
Hugging Face Hub cannot be reached. It has COYO-700M's 17 columns in the same order, with the types COYO's
card gives (long = int64, integer = int32, float = float32; source: {SCHEMA_SOURCE}), so the same code runs on both:

```python
from datasets import load_dataset
stream = load_dataset("data/coyo-sample", split="train", streaming=True)
clean = stream.filter(lambda row: row["clip_similarity_vitb32"] > {THRESHOLD})
```

The floats are float32 (COYO's card says `float`), so Python may show 0.801 as 0.8009999990463257.
It is **not** a part of COYO-700M: each row is one of the course's 200 pictures in `images/quiz-image/`
(listed, with their sources and licenses, in `images/MANIFEST.csv`). Generated by
`python -m tools.build_coyo_sample`; `--check` verifies that this folder is current.

## How each column was made

| column | in this sample |
|---|---|
| `id` | the row number, 0-199 (COYO: a Spark `monotonically_increasing_id()`) |
| `url` | **a path, not a URL**: the picture's file relative to the repository root, e.g. `images/quiz-image/val_0.JPEG` |
| `text` | the picture's English caption (`caption_en` in the manifest), except in 25% of the rows: see below |
| `width`, `height` | the picture's real size in pixels, read with Pillow (after EXIF orientation) |
| `image_phash` | a real 64-bit DCT perceptual hash of the picture, 16 hex digits, computed by `imagehash.phash` (grayscale, 32x32 Lanczos, 2-D DCT, top-left 8x8 against its median) |
| `text_length` | `len(text)`, in characters |
| `word_count` | the number of words separated by spaces, `len(text.split(" "))` |
| `clip_similarity_vitb32` | **not ViT-B/32's similarity**: the cosine similarity between the picture and `text` under the course's offline `mini` CLIP (`models/mini`), rounded to 4 decimals; see below |
| `clip_similarity_vitl14` | null: no ViT-L/14 is available offline |
| {null_columns} | null: the models COYO used (BERT and GPT-2 tokenizers, SCRFD, OpenNSFW2, GantMan/NSFW, Kakao Brain's watermark model, LAION-Aesthetics-Predictor-V2) do not ship with the course, and no other model stands in for them under their names |

### Mismatched alt-texts

Web alt-texts often do not describe their picture. To imitate that, a fixed 25% of the rows
({figures["mismatched"]} of {figures["mismatched"] + figures["true"]}: `numpy.random.RandomState({SEED}).choice(200, 50, replace=False)`)
carry the caption of another picture, drawn with the same generator among the pictures of other categories; the other
{figures["true"]} rows carry their own caption. Nothing in the data marks which rows are mismatched, as in the real web.

### `clip_similarity_vitb32` and the filter

The values come from `mini`, a small CLIP trained in this repository **on the course pictures, these 200
among them, and their captions**. True pairs therefore score far higher than CLIP ViT-B/32 scores web pairs (LAION-2B keeps those
above 0.28): here they range from {low:.4f} to {high:.4f} (median {median:.4f}); the mismatched rows range from
{bad_low:.4f} to {bad_high:.4f} (median {bad_median:.4f}). A threshold chosen for this sample does not carry
over to the real column.

With the filter `clip_similarity_vitb32 > {THRESHOLD}`{why}:
**{figures["mismatched_removed"]} of the {figures["mismatched"]} mismatched rows are removed and
{figures["true_kept"]} of the {figures["true"]} true rows are kept.**

## License

The pictures' own licenses apply (see `images/MANIFEST.csv`); COYO-700M itself is CC-BY-4.0.
"""


def build(folder: Path) -> dict:
    rows, mismatched = build_rows()
    figures = filter_figures(rows, mismatched)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row, ensure_ascii=False) + "\n" for row in rows]
    (folder / DATA_FILE).write_text("".join(lines), encoding="utf-8", newline="\n")
    (folder / "README.md").write_text(card(figures), encoding="utf-8", newline="\n")
    return figures


def first_difference(committed: Path, rebuilt: Path) -> str | None:
    """A sentence naming the first row and column (or card line) that differs, or None."""
    if not (committed / DATA_FILE).is_file():
        return f"{committed / DATA_FILE} is missing"
    old = (committed / DATA_FILE).read_text(encoding="utf-8").splitlines()
    new = (rebuilt / DATA_FILE).read_text(encoding="utf-8").splitlines()
    for number, (old_line, new_line) in enumerate(zip(old, new)):
        old_row, new_row = json.loads(old_line), json.loads(new_line)
        if list(old_row) != list(new_row):
            return f"row {number}: columns {list(old_row)} != {list(new_row)}"
        for column, value in new_row.items():
            before = old_row[column]
            if isinstance(value, float) and isinstance(before, float):
                if abs(value - before) <= FLOAT_TOLERANCE + 1e-9:
                    continue
            if value != before:
                return f"row {number}, column {column}: committed {before!r}, rebuilt {value!r}"
    if len(old) != len(new):
        return f"{DATA_FILE}: committed {len(old)} rows, rebuilt {len(new)}"
    old_card = []
    if (committed / "README.md").is_file():
        old_card = (committed / "README.md").read_text(encoding="utf-8").splitlines()
    new_card = (rebuilt / "README.md").read_text(encoding="utf-8").splitlines()
    for number, (old_line, new_line) in enumerate(zip(old_card, new_card), start=1):
        if old_line != new_line:
            return f"README.md line {number}: committed {old_line!r}, rebuilt {new_line!r}"
    if len(old_card) != len(new_card):
        return f"README.md: committed {len(old_card)} lines, rebuilt {len(new_card)}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coyo-sample-") as temporary:
        folder = Path(temporary) if args.check else SAMPLE_DIR
        figures = build(folder)
        difference = first_difference(SAMPLE_DIR, folder) if args.check else None
    print(
        f"clip_similarity_vitb32 > {THRESHOLD}: {figures['mismatched_removed']} of {figures['mismatched']} mismatched rows "
        f"removed, {figures['true_kept']} of {figures['true']} true rows kept ({time.monotonic() - started:.1f} s)"
    )
    where = SAMPLE_DIR.relative_to(REPO_ROOT).as_posix()
    if difference:
        sys.exit(f"{where} is out of date: {difference}. Rebuild it with python -m tools.build_coyo_sample")
    print(f"{where} is current." if args.check else f"Wrote {where}/{DATA_FILE} and {where}/README.md")


if __name__ == "__main__":
    main()
