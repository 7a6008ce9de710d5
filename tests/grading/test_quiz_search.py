"""quiz_search.py: the reference solution works and agrees with mmembed; the student skeleton is generated from it."""

import importlib.util
import inspect

import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.paths import QUIZ_IMAGE_DIR
from tests.helpers import REPO_ROOT, run_python

SOLUTION = REPO_ROOT / "solutions" / "quiz_search.py"
SKELETON = REPO_ROOT / "quizzes" / "quiz_search.py"
TOOL = REPO_ROOT / "tools" / "make_quiz_skeleton.py"
QUERIES = ["a red car", "a musical instrument", "빨간 자동차"]  # besides QUERY: the grader also uses others


def import_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = import_file(TOOL, "make_quiz_skeleton")
solution = import_file(SOLUTION, "quiz_search_solution")
skeleton = import_file(SKELETON, "quiz_search_skeleton")


def expected_lines(top1):
    return [
        "Total 200 images are loaded!",
        "Image Embedding's shape: (200, 512)",
        "Text Embedding's shape: (1, 512)",
        f"Top-1: {top1}",
    ]


# --- the skeleton is the solution with its answers taken out -------------------------------------------------


def test_skeleton_is_generated_from_the_solution():
    expected = tool.make_skeleton(SOLUTION.read_text(encoding="utf-8"))
    assert SKELETON.read_text(encoding="utf-8") == expected, "run: python -m tools.make_quiz_skeleton"
    assert "SOLUTION" not in expected and "HINT" not in expected
    assert expected.count("raise NotImplementedError(") == 4


@pytest.mark.slow  # two fresh processes
def test_check_mode_fails_on_a_stale_skeleton(tmp_path):
    assert run_python([str(TOOL), "--check"]).returncode == 0
    stale = tmp_path / "quiz_search.py"
    stale.write_text(SKELETON.read_text(encoding="utf-8").replace("A zebra", "A horse"), encoding="utf-8")
    result = run_python([str(TOOL), "--check", "--skeleton", str(stale)])
    assert result.returncode == 1 and "out of date" in result.stderr


def test_make_skeleton_keeps_indentation_and_rejects_broken_regions():
    source = "def f():\n    ### BEGIN SOLUTION\n    # HINT: f를 쓰세요\n    return 1\n    ### END SOLUTION\n"
    assert tool.make_skeleton(source) == 'def f():\n    # TODO\n    raise NotImplementedError("f를 쓰세요")\n'
    long_hint = source.replace("f를 쓰세요", "아주 " * 50 + '"따옴표"')
    assert tool.make_skeleton(long_hint) == (
        "def f():\n    # TODO\n    raise NotImplementedError(\n        '" + "아주 " * 50 + '"따옴표"\'\n    )\n'
    )
    for broken in (
        source.replace("    ### END SOLUTION\n", ""),
        source.replace("# HINT: ", "# "),
        "x = 1\n### END SOLUTION\n",
    ):
        with pytest.raises(ValueError):
            tool.make_skeleton(broken)


def public_names(module):
    return {
        name: value for name, value in vars(module).items() if not name.startswith("_") and not inspect.ismodule(value)
    }


def test_skeleton_keeps_every_public_name_and_signature():
    solved, student = public_names(solution), public_names(skeleton)
    assert solved.keys() == student.keys()
    assert {"IMAGE_DIR", "QUERY", "load_images", "embed_images", "embed_text", "search_top1", "main"} <= solved.keys()
    for name, value in solved.items():
        if inspect.isfunction(value) and value.__module__ == solution.__name__:
            assert inspect.signature(student[name]) == inspect.signature(value), name
            assert inspect.getdoc(student[name]) == inspect.getdoc(value), name
        else:
            assert student[name] == value, name
    assert inspect.getsource(skeleton.main) == inspect.getsource(solution.main)
    assert solution.IMAGE_DIR == QUIZ_IMAGE_DIR


def test_skeleton_fails_with_the_korean_hint(offline_env):
    result = run_python([str(SKELETON)], env=offline_env)
    assert result.returncode != 0 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("NotImplementedError: load_images를 완성하세요")


# --- the solution prints the four lines and agrees with mmembed -----------------------------------------------


@pytest.fixture(scope="module")
def mini_top1(mini):
    """What mmembed's own search finds for QUERY with mini: the answer the solution must print."""
    model, processor = mini
    images, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    image_embeddings = mmembed.embed_images(images, model, processor, progress=False)
    return mmembed.search(mmembed.embed_texts(solution.QUERY, model, processor), image_embeddings, names, k=1)[0][0]


@pytest.mark.xdist_group("test_quiz_search-mini-top1")  # one worker embeds the 200 pictures for mini_top1, once
@pytest.mark.parametrize(
    "model_env",
    [
        # Both are the whole solution run as a student runs it (16 CPU seconds each): in make test only, while
        # make test-fast keeps the solution's functions checked against mmembed's in this process.
        pytest.param(None, id="fallback-from-another-cwd", marks=pytest.mark.slow),
        pytest.param("mini", id="mini", marks=pytest.mark.slow),
    ],
)
def test_solution_prints_the_four_lines_offline(model_env, mini_top1, offline_env, tmp_path):
    if model_env:
        offline_env["MMEMBED_MODEL"] = model_env
    cwd = tmp_path if model_env is None else REPO_ROOT  # IMAGE_DIR is found from the file, not the cwd
    result = run_python([str(SOLUTION)], env=offline_env, cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected_lines(mini_top1)
    if model_env is None:
        assert "오프라인 대체 모델 'mini'" in result.stderr


def test_load_images_matches_mmembed():
    images, names = solution.load_images()
    expected_images, expected_names = mmembed.load_images(QUIZ_IMAGE_DIR)
    assert names == expected_names and names[:3] == ["val_0.JPEG", "val_1.JPEG", "val_2.JPEG"]
    assert all(image.mode == "RGB" for image in images)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(images, expected_images))


@pytest.fixture(scope="module", params=["tiny", "mini"])
def model_and_images(request):
    model, processor = request.getfixturevalue(request.param)  # the session's tiny or mini
    images, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    return model, processor, images, names


def test_solution_functions_agree_with_mmembed(model_and_images):
    model, processor, images, names = model_and_images
    image_embeddings = solution.embed_images(images, model, processor)
    expected = mmembed.embed_images(images, model, processor, progress=False, precision="fp32")  # as the solution
    assert image_embeddings.shape == (200, 512) and isinstance(image_embeddings, torch.Tensor)
    assert F.cosine_similarity(image_embeddings, expected).min() > 0.999

    for query in [solution.QUERY, *QUERIES]:
        text_embedding = solution.embed_text(query, model, processor)
        expected_text = mmembed.embed_texts(query, model, processor, precision="fp32")
        assert text_embedding.shape == (1, 512)
        assert F.cosine_similarity(text_embedding, expected_text).item() > 0.999
        expected_top1 = mmembed.search(expected_text, expected, names, k=1)[0][0]
        assert solution.search_top1(expected_text, expected, names) == expected_top1, query  # same inputs
        top1 = solution.search_top1(text_embedding, image_embeddings, names)  # end to end
        assert isinstance(top1, str) and top1 == expected_top1, query


@pytest.mark.online
def test_real_clip_finds_the_zebra_for_query():
    """The claim behind QUERY: the lecture's real CLIP also puts the zebra (val_2) first."""
    model, processor = mmembed.load_clip("openai/clip-vit-base-patch32", device="cpu")
    images, names = solution.load_images()
    image_embeddings = solution.embed_images(images, model, processor)
    text_embedding = solution.embed_text(solution.QUERY, model, processor)
    assert solution.search_top1(text_embedding, image_embeddings, names) == "val_2.JPEG"
