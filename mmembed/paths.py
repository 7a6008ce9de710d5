"""Where the course's files live, relative to the repository (never to the current directory)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

IMAGES_DIR = REPO_ROOT / "images"
QUIZ_IMAGE_DIR = IMAGES_DIR / "quiz-image"
TOPK_IMAGE_DIR = IMAGES_DIR / "topk-image"
CAT_IMAGE = IMAGES_DIR / "cat.jpg"

MODELS_DIR = REPO_ROOT / "models"
MINI_DIR = MODELS_DIR / "mini"  # committed
TINY_DIR = MODELS_DIR / "tiny"  # built on first use
STANDINS_DIR = MODELS_DIR / "standins"  # built on first use, one folder per stand-in

DATA_DIR = REPO_ROOT / "data"
COYO_SAMPLE_DIR = DATA_DIR / "coyo-sample"
