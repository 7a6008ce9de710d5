"""COYO-700M for lecture 06: the real dataset on the hub, or its 200-row local sample in the same schema.

    from datasets import load_dataset
    stream = load_dataset(course_dataset(), split="train", streaming=True)

The same call works with both: `course_dataset()` returns the hub id or the local folder data/coyo-sample.
"""

from .notes import say
from .paths import COYO_SAMPLE_DIR, REPO_ROOT
from .zoo.hub import OFFLINE_ENV, hub_reachable, offline_requested

COYO_ID = "kakaobrain/coyo-700m"
SAMPLE_DIR = COYO_SAMPLE_DIR
SAMPLE_FILE = SAMPLE_DIR / "train.jsonl"

# COYO-700M's columns in order, with the types its card gives (Spark names: long = int64, integer = int32,
# float = float32). Source: the "Meta-Attributes" table of github.com/kakaobrain/coyo-dataset README.md
# and the "Data Fields" table of the hub card huggingface.co/datasets/kakaobrain/coyo-700m.
COLUMNS = {
    "id": "int64",
    "url": "string",
    "text": "string",
    "width": "int32",
    "height": "int32",
    "image_phash": "string",
    "text_length": "int32",
    "word_count": "int32",
    "num_tokens_bert": "int32",
    "num_tokens_gpt": "int32",
    "num_faces": "int32",
    "clip_similarity_vitb32": "float32",
    "clip_similarity_vitl14": "float32",
    "nsfw_score_opennsfw2": "float32",
    "nsfw_score_gantman": "float32",
    "watermark_score": "float32",
    "aesthetic_score_laion_v2": "float32",
}


def sample_rows() -> int:
    with open(SAMPLE_FILE, encoding="utf-8") as file:
        return sum(1 for line in file if line.strip())


def course_dataset(hub_id: str = COYO_ID) -> str:
    """What lecture 06 passes to `datasets.load_dataset`: the hub id, or the local sample when offline."""
    if offline_requested():
        reason = f"{OFFLINE_ENV}=1"
    elif hub_reachable():
        return hub_id
    else:
        reason = "Hugging Face Hub에 연결할 수 없습니다"
    where = SAMPLE_DIR.relative_to(REPO_ROOT).as_posix()
    say(f"{reason}: {hub_id} 대신 로컬 표본({sample_rows()}행, {where})을 씁니다.", once=False)
    return str(SAMPLE_DIR)
