"""Where the course's files live, relative to the repository (never to the current directory)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = Path(__file__).resolve().parent / "data"  # files mmembed itself needs: BPE merges, query forms

IMAGES_DIR = REPO_ROOT / "images"
QUIZ_IMAGE_DIR = IMAGES_DIR / "quiz-image"
TOPK_IMAGE_DIR = IMAGES_DIR / "topk-image"
CAT_IMAGE = IMAGES_DIR / "cat.jpg"
MANIFEST = IMAGES_DIR / "MANIFEST.csv"  # one row per picture: path, source, licence, captions, category, group
SHORT_TEXTS = IMAGES_DIR / "short_texts.csv"  # category words, in English and Korean
IMAGE_CATALOG = IMAGES_DIR / "catalog.csv"  # the hand-made choices `python -m tools.build_images` draws from

MODELS_DIR = REPO_ROOT / "models"
MINI_DIR = MODELS_DIR / "mini"  # committed
TINY_DIR = MODELS_DIR / "tiny"  # built on first use
STANDINS_DIR = MODELS_DIR / "standins"  # built on first use, one folder per stand-in

DATA_DIR = REPO_ROOT / "data"
COYO_SAMPLE_DIR = DATA_DIR / "coyo-sample"

LECTURES_DIR = REPO_ROOT / "lectures"
# Quizzes 3-6: the reference solution, and the skeleton students get (`python -m tools.make_quiz_skeleton`).
SOLUTION = REPO_ROOT / "solutions" / "quiz_search.py"
SKELETON = REPO_ROOT / "quizzes" / "quiz_search.py"
