"""The solution texts of quizzes 2 and 7, checked against the real default model (needs the hub).

The offline run (`tests/grading/test_nbgrader.py`, MMEMBED_MODEL=mini) proves they reach full marks with `mini`;
here the same texts, read from the nbgrader source notebooks, must also work with the real CLIP that a
student gets online. Skipped automatically where the Hugging Face Hub cannot be reached (conftest.py).
"""

import nbformat
import pytest

import mmembed
from mmembed.paths import QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.online
SOURCE = REPO_ROOT / "solutions" / "quiz_notebooks"


def solution_namespace(notebook: str, grade_id: str) -> dict:
    """Run the solution cell `grade_id` of a source notebook (plain assignments) and return its variables."""
    nb = nbformat.read(SOURCE / notebook, as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    namespace = {}
    exec(cell.source, namespace)  # noqa: S102  (our own solution cell)
    return namespace


def test_quiz2_solution_text_finds_the_dog_heads(real_clip):
    model, processor = real_clip
    text = solution_namespace("quiz2_topk_text.ipynb", "quiz2_answer")["answer_text"]
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    hits = mmembed.search(
        mmembed.embed_texts(text, model, processor), mmembed.embed_images(images, model, processor), names, k=3
    )
    assert {name for name, _ in hits} == {"dog_1.png", "dog_4.png", "dog_7.png"}, hits


def test_quiz7_solution_texts_find_their_pictures(real_clip):
    model, processor = real_clip
    texts = solution_namespace("quiz7_find_pictures.ipynb", "quiz7_answer")["answer_texts"]
    assert len(texts) == 5
    images, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    image_embeddings = mmembed.embed_images(images, model, processor)
    found = {
        name: mmembed.search(mmembed.embed_texts(text, model, processor), image_embeddings, names, k=1)[0][0]
        for name, text in texts.items()
    }
    assert found == {name: name for name in texts}, {name: (texts[name], hit) for name, hit in found.items()}
