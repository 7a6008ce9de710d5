"""mmembed: what the lectures, quizzes and autograder of the multimodal embeddings course share."""

from .cache import embed_folder
from .embedding import embed_images, embed_texts
from .images import load_image, load_images
from .models import load_clip, pick_device
from .precision import resolve_precision
from .search import cosine_similarity_matrix, search, top_k
from .standins import course_model

__all__ = [
    "load_clip",
    "pick_device",
    "course_model",
    "load_image",
    "load_images",
    "embed_images",
    "embed_texts",
    "embed_folder",
    "resolve_precision",
    "cosine_similarity_matrix",
    "top_k",
    "search",
]
