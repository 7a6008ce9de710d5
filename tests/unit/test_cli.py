"""`python -m mmembed ...` as a student types it: search, index, cache, check, download, evaluate, viz, and their
errors; and last term's commands, which still run."""

import re
from pathlib import Path

import pytest
from PIL import Image

from mmembed.zoo.hub import ignore_patterns_for
from tests.helpers import run_python

RESULT_LINE = re.compile(r"^\s*(\d+)\. (\S+)\s+(-?\d\.\d{4})(?:  (.+))?$")
EMBEDDINGS_LINE = re.compile(r"^임베딩: 새로 계산 (\d+)장, 캐시에서 (\d+)장 \((fp32|bf16)\)$", re.MULTILINE)


@pytest.fixture
def offline_env(offline_env, tmp_path):
    """The shared offline environment, with an embedding cache of this test's own."""
    return {**offline_env, "MMEMBED_CACHE": str(tmp_path / "embedding-cache")}


@pytest.fixture
def picture_folder(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, colour in enumerate(["red", "green", "blue", "yellow", "white", "black", "orange", "purple"]):
        Image.new("RGB", (64, 48), colour).save(folder / f"val_{i}.JPEG")
    return folder


def result_lines(stdout):
    return [RESULT_LINE.match(line) for line in stdout.splitlines() if RESULT_LINE.match(line)]


def test_search_prints_model_and_top_k_with_scores(picture_folder, offline_env):
    result = run_python(
        ["-m", "mmembed", "search", "A dog", str(picture_folder), "-k", "3", "--model", "tiny"], env=offline_env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "모델: tiny"
    rows = result_lines(result.stdout)
    assert [int(row[1]) for row in rows] == [1, 2, 3]
    assert all(row[2] in {f"val_{i}.JPEG" for i in range(8)} for row in rows)
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_search_falls_back_offline_and_says_which_model(picture_folder, offline_env):
    result = run_python(["-m", "mmembed", "search", "A dog", str(picture_folder)], env=offline_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "모델: mini"
    assert "openai/clip-vit-base-patch32 대신 오프라인 대체 모델 'mini'를 씁니다" in result.stderr
    assert len(result_lines(result.stdout)) == 5


def test_search_reports_a_skipped_file_and_goes_on(picture_folder, offline_env):
    (picture_folder / "val_8.JPEG").write_bytes(b"garbage")
    result = run_python(["-m", "mmembed", "search", "A dog", str(picture_folder), "--model", "tiny"], env=offline_env)
    assert result.returncode == 0, result.stderr
    assert "경고: 읽을 수 있는 사진이 아니어서 건너뜁니다" in result.stderr and "val_8.JPEG" in result.stderr
    assert "의 사진 8장에서 찾습니다" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["A dog", "{missing}"], "사진 폴더가 없습니다"),
        (["", "{folder}"], "질의가 비어 있습니다"),
        (["   ", "{folder}"], "질의가 비어 있습니다"),
        (["A dog", "{folder}", "-k", "0"], "-k는 1부터 사진 수(8)까지여야 하는데 0입니다"),
        (["A dog", "{folder}", "-k", "9"], "-k는 1부터 사진 수(8)까지여야 하는데 9입니다"),
        (["A dog", "{folder}", "--model", "{missing}"], "모델 폴더가 없습니다"),
    ],
)
def test_search_errors_are_one_line(picture_folder, offline_env, tmp_path, args, message):
    args = [a.format(folder=picture_folder, missing=tmp_path / "missing") for a in args]
    result = run_python(["-m", "mmembed", "search", *args], env=offline_env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # exactly one line
    assert result.stderr.startswith("오류: ") and message in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["search", "", "{folder}"],
        ["search", "A dog", "{missing}"],
        ["search", "A dog", "{folder}", "-k", "9"],
        ["index", "{missing}", "--output", "{missing}-index"],
        ["evaluate", "--help"],
        ["viz", "--help"],
        ["viz", "{missing}"],
    ],
)
def test_a_mistyped_command_is_answered_before_torch_loads(picture_folder, offline_env, tmp_path, args):
    """A typo costs no wait: these answers come before torch (seconds to import) is imported at all."""
    args = [a.format(folder=picture_folder, missing=tmp_path / "missing") for a in args]
    code = (
        "import sys\nfrom mmembed.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)"
    )
    result = run_python(["-c", code, *args], env=offline_env)
    assert result.stderr.strip().splitlines()[-1] == "torch imported: False", result.stderr
    assert result.stdout.startswith("usage:") if "--help" in args else result.stderr.startswith("오류: ")


def test_help_imports_no_torch(offline_env):
    """`python -m mmembed --help` as typed: -X importtime lists every module the process imported."""
    result = run_python(["-X", "importtime", "-m", "mmembed", "--help"], env=offline_env)
    assert result.returncode == 0 and "{search,index,download,cache,check,evaluate,viz}" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "mmembed.cli" in imported and "mmembed.choices" in imported
    assert not {name for name in imported if name.split(".")[0] in {"torch", "transformers", "faiss", "matplotlib"}}


@pytest.mark.parametrize(
    "old, new",
    [
        ("mmembed.viz", "viz"),
        ("mmembed.training.evaluate", "evaluate"),  # `python -m mmembed.evaluate`: tests/unit/test_imports.py
    ],
)
def test_an_old_command_runs_the_new_one_and_says_so(offline_env, old, new):
    """Last term's commands work a term more (CHANGELOG.md): a note, Korean first, then the new command itself."""
    result = run_python(["-m", old, "--help"], env=offline_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m mmembed {new} ")
    assert result.stderr.startswith(f"[mmembed] `python -m {old}`는 `python -m mmembed {new}`(으)로 바뀌었습니다.")


def test_check_prints_one_verdict_per_requirement(offline_env):
    result = run_python(["-m", "mmembed", "check"], env=offline_env)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 6 and all(re.match(r"^\[(OK|FAIL)\] ", line) for line in lines)
    for topic in ["Python", "PyTorch", "transformers", "Jupyter 커널", "강의 사진", "Hub"]:
        assert any(topic in line for line in lines), topic
    assert result.returncode == (1 if any(line.startswith("[FAIL]") for line in lines) else 0)
    hub_line = next(line for line in lines if "Hub" in line)
    assert "Hugging Face Hub에 연결할 수 없" in hub_line  # this child has no hub


def test_download_without_hub_fails_in_one_line(offline_env):
    result = run_python(
        ["-m", "mmembed", "download", "--models", "openai/clip-vit-base-patch32"], env=offline_env, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "오류: Hugging Face Hub에 연결할 수 없어서 지금은 아무것도 내려받을 수 없습니다."


def test_download_takes_one_weight_format():
    assert "*.bin" in ignore_patterns_for(["config.json", "model.safetensors", "pytorch_model.bin"])
    assert "*.bin" not in ignore_patterns_for(["config.json", "pytorch_model.bin", "tf_model.h5"])
    assert "*.h5" in ignore_patterns_for(["config.json", "pytorch_model.bin", "tf_model.h5"])


def test_usage_error_for_an_unknown_command(offline_env):
    result = run_python(["-m", "mmembed", "serach", "A dog"], env=offline_env)
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.slow  # embeds the 200 course pictures in a fresh process: make test only
def test_search_defaults_to_the_course_pictures(offline_env):
    result = run_python(["-m", "mmembed", "search", "A dog", "--model", "tiny", "-k", "2"], env=offline_env)
    assert result.returncode == 0, result.stderr
    assert "질의 'A dog': images/quiz-image의 사진 200장에서 찾습니다" in result.stdout
    rows = result_lines(result.stdout)
    assert len(rows) == 2 and all(row[2].startswith("val_") for row in rows)
    assert all(row[4] for row in rows)  # course pictures are shown with their caption from the manifest


def embeddings_line(stdout):
    match = EMBEDDINGS_LINE.search(stdout)
    assert match, stdout
    return int(match[1]), int(match[2]), match[3]


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_a_second_search_embeds_nothing(picture_folder, offline_env):
    command = ["-m", "mmembed", "search", "A dog", str(picture_folder), "--model", "tiny", "-k", "8"]
    env = {**offline_env, "MMEMBED_PRECISION": "bf16"}  # the variable chooses the precision, and the cache key
    first = run_python(command, env=env)
    second = run_python(command, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert embeddings_line(first.stdout) == (8, 0, "bf16")
    assert embeddings_line(second.stdout) == (0, 8, "bf16")
    assert [row.groups() for row in result_lines(second.stdout)] == [row.groups() for row in result_lines(first.stdout)]


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_an_unknown_precision_is_refused(picture_folder, offline_env):
    command = ["-m", "mmembed", "search", "A dog", str(picture_folder), "--model", "tiny"]
    option = run_python([*command, "--precision", "fp16"], env=offline_env)
    assert option.returncode == 2 and "invalid choice: 'fp16'" in option.stderr
    variable = run_python(command, env={**offline_env, "MMEMBED_PRECISION": "fp16"})
    assert variable.returncode == 1
    assert variable.stderr.strip() == "오류: MMEMBED_PRECISION='fp16': 정밀도는 fp32, bf16, auto 중 하나여야 합니다."


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_cache_info_and_clear(picture_folder, offline_env):
    command = ["-m", "mmembed", "search", "A dog", str(picture_folder), "--model", "tiny", "--precision", "fp32"]
    assert embeddings_line(run_python(command, env=offline_env).stdout) == (8, 0, "fp32")
    info = run_python(["-m", "mmembed", "cache", "info"], env=offline_env)
    assert info.stdout.splitlines()[0].startswith(f"임베딩 캐시: {offline_env['MMEMBED_CACHE']} ")
    assert re.search(r"^\s+사진\s+8장 .* tiny, fp32, 장치 cpu$", info.stdout, re.MULTILINE), info.stdout
    assert "합계: 임베딩 8개" in info.stdout
    cleared = run_python(["-m", "mmembed", "cache", "clear"], env=offline_env)
    assert cleared.returncode == 0 and cleared.stdout.startswith("캐시한 임베딩 8개를 지웠습니다: ")
    assert list(Path(offline_env["MMEMBED_CACHE"]).rglob("*.npy")) == []
