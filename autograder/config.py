"""What the grader checks and how many points each check is worth (one place to read or change)."""

from pathlib import Path

from mmembed.grading import GRADING_MODEL
from mmembed.paths import QUIZ_IMAGE_DIR as IMAGE_DIR
from mmembed.paths import REPO_ROOT, SKELETON, SOLUTION

CHILD_SCRIPT = Path(__file__).resolve().parent / "inside" / "child.py"
# GRADING_MODEL (mini, unless the instructor changes it) lives in mmembed.grading: the quiz notebooks read it too.
__all__ = ["CHILD_SCRIPT", "GRADING_MODEL", "IMAGE_DIR", "REPO_ROOT", "SKELETON", "SOLUTION"]

DEFAULT_TIMEOUT = 300  # seconds for one child process when no reference run says better (the self-check)
# The class's time limit comes from the reference run on the same machine: max(MIN_TIMEOUT, TIMEOUT_FACTOR × it).
MIN_TIMEOUT = 30
TIMEOUT_FACTOR = 10
DEFAULT_MEMORY_GB = 2  # memory one student's processes may hold (a cgroup: shared memory and tmpfs count)
# The address-space rlimit of each process, at least this (torch reserves far more virtual memory than it uses):
# the only memory limit where no cgroup can be made.
MIN_ADDRESS_SPACE_GB = 6

N_IMAGES = 200
EMBED_DIM = 512
MIN_COSINE = 0.99  # a row agrees with the reference when their cosine similarity is above this

# Extra queries besides the submission's QUERY. Only their texts live here: the right answers are found by
# running the reference solution with the grading model, and are never shown to students.
# Each names a thing that is in the pictures exactly once (so any good model has a true answer), and mini's
# top-1 is that picture by a clear margin (cosine lead over the runner-up: hammer 0.13, strawberry 0.19, toolbox 0.16).
HIDDEN_QUERIES = ["a hammer", "a strawberry", "a toolbox"]

# name -> points. The order here is the order of the report.
POINTS = {
    "load_images": 2,
    "embed_images_shape": 1,
    "embed_images_values": 2,
    "embed_text_shape": 1,
    "embed_text_values": 1,
    "search_top1_query": 1,
    **{f"search_top1_hidden_{i + 1}": 1 for i in range(len(HIDDEN_QUERIES))},
    "main_output": 1,
}
MAX_SCORE = sum(POINTS.values())

TITLES = {
    "load_images": "퀴즈 3 load_images: 사진 200장, val_0..val_199 순서, RGB",
    "embed_images_shape": "퀴즈 4 embed_images: 모양 (200, 512)",
    "embed_images_values": "퀴즈 4 embed_images: 값이 정답과 같음 (행마다 코사인 > 0.99)",
    "embed_text_shape": "퀴즈 5 embed_text: 모양 (1, 512)",
    "embed_text_values": "퀴즈 5 embed_text: 값이 정답과 같음 (코사인 > 0.99)",
    "search_top1_query": "퀴즈 6 search_top1: QUERY의 Top-1",
    **{
        f"search_top1_hidden_{i + 1}": f"퀴즈 6 search_top1: 숨은 문장 {i + 1}의 Top-1"
        for i in range(len(HIDDEN_QUERIES))
    },
    "main_output": "main(): 네 줄 출력",
}
