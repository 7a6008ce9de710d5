"""Score what a child sent back. Runs in the grader's process and trusts only plain arrays and strings, checked here.

Every check returns `CheckResult`s that carry their own name (the keys of config.POINTS); each output is Korean
and says what was expected and what came back, without ever naming a hidden answer.
"""

from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from . import config
from .reference import Reference

TOLERANCE_MEAN_RGB = 1.0  # mean pixel value (0-255) of a picture may differ this much (JPEG decoders)


@dataclass(frozen=True)
class CheckResult:
    name: str  # a key of config.POINTS
    score: int
    max_score: int
    output: str

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


def passed(name: str, output: str) -> CheckResult:
    return CheckResult(name, config.POINTS[name], config.POINTS[name], output)


def failed(name: str, output: str) -> CheckResult:
    return CheckResult(name, 0, config.POINTS[name], output)


@dataclass
class Received:
    """What one submission's child processes sent back (wire.py messages), and why a step is missing if it is."""

    messages: dict  # step name -> dict, array name -> np.ndarray
    missing: dict = field(default_factory=dict)  # step name -> why it has no result (Korean)
    search_to_name: dict = field(default_factory=dict)  # neutral name given to search_top1 -> real file name
    main_query: int = 0  # index into ref.queries of the QUERY main() ran with

    def step(self, name: str):
        """(data, None), or (None, why not in Korean)."""
        data = self.messages.get(name)
        if not isinstance(data, dict):
            return None, self.missing.get(name, "결과가 없습니다")
        if data.get("error"):
            return None, f"오류가 났습니다: {str(data['error'])[:500]}"
        return data, None

    def array(self, name: str, shape: tuple):
        """A finite float array of exactly `shape`, as float64, or (None, why not)."""
        array = self.messages.get(name)
        if array is None:
            return None, "배열이 오지 않았습니다"
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            return None, f"실수 배열이 아닙니다 (dtype {getattr(array, 'dtype', '?')})"
        if array.shape != shape:
            return None, f"모양이 {shape}이어야 하는데 {array.shape}입니다"
        if not np.isfinite(array).all():
            return None, "NaN이나 무한대가 들어 있습니다"
        return array.astype(np.float64), None


def cosine_rows(a, b):
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return (a * b).sum(axis=-1)


def check_load_images(got: Received, ref: Reference) -> list[CheckResult]:
    name, n = "load_images", config.N_IMAGES
    data, reason = got.step("load_images")
    if data is None:
        return [failed(name, f"load_images를 검사하지 못했습니다: {reason}")]
    names, modes = data.get("names"), data.get("modes")
    if not isinstance(names, list) or not isinstance(modes, list):
        return [failed(name, "load_images의 결과를 읽을 수 없습니다.")]
    if len(names) != n or len(modes) != n:
        return [
            failed(
                name,
                f"사진 {n}장과 파일 이름 {n}개가 나와야 하는데 사진 {len(modes)}장, 이름 {len(names)}개가 나왔습니다.",
            )
        ]
    if names != ref.names:
        i = next(i for i, (a, b) in enumerate(zip(names, ref.names)) if a != b)
        return [
            failed(
                name,
                f"파일 이름 순서가 다릅니다: {i}번째가 {ref.names[i]!r}여야 하는데 {str(names[i])[:80]!r}입니다. "
                "val_0, val_1, val_2, ..., val_10처럼 숫자 순서로 정렬하세요 (문자열 순서가 아니라).",
            )
        ]
    not_rgb = [i for i, mode in enumerate(modes) if mode != "RGB"]
    if not_rgb:
        example = f"{ref.names[not_rgb[0]]}의 mode는 {str(modes[not_rgb[0]])[:40]!r}"
        return [
            failed(
                name,
                f'모든 사진이 RGB여야 하는데 {len(not_rgb)}장이 아닙니다 (예: {example}). .convert("RGB")를 쓰세요.',
            )
        ]
    means, reason = got.array("load_images_means.npy", (n, 3))
    if means is None:
        return [failed(name, f"사진의 픽셀을 확인할 수 없습니다: {reason}")]
    wrong = np.flatnonzero(np.abs(means - ref.means).max(axis=1) > TOLERANCE_MEAN_RGB)
    if len(wrong):
        return [
            failed(
                name,
                f"{len(wrong)}장의 사진이 파일 이름과 맞지 않습니다 (예: {ref.names[wrong[0]]}). "
                "i번째 사진이 i번째 파일이어야 합니다.",
            )
        ]
    return [passed(name, f"맞았습니다: RGB 사진 {n}장이 val_0..val_199 순서로 나왔습니다.")]


def check_embed_images(got: Received, ref: Reference) -> list[CheckResult]:
    shape = (config.N_IMAGES, config.EMBED_DIM)
    data, reason = got.step("embed_images")
    if data is None:
        why = f"embed_images를 검사하지 못했습니다: {reason}"
        return [failed("embed_images_shape", why), failed("embed_images_values", why)]
    array, reason = got.array("embed_images.npy", shape)
    if array is None:
        return [
            failed("embed_images_shape", f"embed_images는 모양 {shape}인 torch.Tensor를 돌려줘야 합니다: {reason}"),
            failed("embed_images_values", "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    shape_ok = passed("embed_images_shape", f"맞았습니다: 모양 {shape}.")
    cosines = cosine_rows(array, ref.image_embeddings)
    bad = np.flatnonzero(~(cosines > config.MIN_COSINE))
    if len(bad):
        return [
            shape_ok,
            failed(
                "embed_images_values",
                f"{len(bad)}개 행이 정답과 다릅니다 (가장 낮은 코사인 유사도 {cosines.min():.3f}, "
                f"예: {bad[0]}번째 행 = {ref.names[bad[0]]}). i번째 행이 i번째 사진의 임베딩이어야 하고, "
                "get_image_features(...).pooler_output을 써야 합니다.",
            ),
        ]
    lowest = f"최저 {cosines.min():.4f}"
    return [
        shape_ok,
        passed("embed_images_values", f"맞았습니다: 모든 행의 코사인 유사도 > {config.MIN_COSINE} ({lowest})."),
    ]


def check_embed_text(got: Received, ref: Reference) -> list[CheckResult]:
    shape = (1, config.EMBED_DIM)
    data, reason = got.step("embed_text")
    if data is None:
        why = f"embed_text를 검사하지 못했습니다: {reason}"
        return [failed("embed_text_shape", why), failed("embed_text_values", why)]
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    arrays, problems = [], []
    for i in range(len(ref.queries)):
        label = "QUERY" if i == 0 else f"숨은 문장 {i}"
        error = errors[i] if i < len(errors) and isinstance(errors[i], str) else None
        array, reason = (None, error[:300]) if error else got.array(f"embed_text_{i}.npy", shape)
        arrays.append(array)
        if array is None:
            problems.append(f"{label}: {reason}")
    if problems:
        return [
            failed(
                "embed_text_shape",
                f"embed_text는 모양 {shape}인 torch.Tensor를 돌려줘야 합니다. " + " / ".join(problems),
            ),
            failed("embed_text_values", "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    shape_ok = passed("embed_text_shape", f"맞았습니다: 모양 {shape}.")
    cosines = np.array([cosine_rows(a, ref.text_embeddings[i : i + 1])[0] for i, a in enumerate(arrays)])
    if not (cosines > config.MIN_COSINE).all():
        return [
            shape_ok,
            failed(
                "embed_text_values",
                f"정답 임베딩과 다릅니다 (QUERY와 숨은 문장들 중 가장 낮은 코사인 유사도 {cosines.min():.3f}). "
                "processor(text=[text], ...)와 get_text_features(...).pooler_output을 쓰세요.",
            ),
        ]
    lowest = f"최저 {cosines.min():.4f}"
    return [shape_ok, passed("embed_text_values", f"맞았습니다: 코사인 유사도 > {config.MIN_COSINE} ({lowest}).")]


def check_search_top1(got: Received, ref: Reference) -> list[CheckResult]:
    """One result per query. search_top1 got the reference embeddings, shuffled, under neutral file names."""
    data, reason = got.step("search_top1")
    answers = data.get("answers") if data else None
    hint = "두 임베딩을 정규화한 뒤 코사인 유사도의 argmax를 쓰세요."
    results = []
    for i in range(len(ref.queries)):
        name = "search_top1_query" if i == 0 else f"search_top1_hidden_{i}"
        if not isinstance(answers, list) or i >= len(answers) or not isinstance(answers[i], str):
            results.append(failed(name, f"search_top1을 검사하지 못했습니다: {reason or '결과가 없습니다'}"))
            continue
        answer = answers[i]
        chosen = got.search_to_name.get(answer)
        if chosen == ref.top1[i]:
            results.append(passed(name, "맞았습니다: 코사인 유사도가 가장 큰 사진을 골랐습니다."))
        elif answer.startswith("<오류> "):
            results.append(failed(name, f"search_top1에서 오류가 났습니다: {answer[5:305]}"))
        elif answer.startswith("<"):
            results.append(failed(name, f"파일 이름(str)을 돌려줘야 하는데 {answer[:80]}을(를) 돌려줬습니다."))
        elif chosen is None:
            message = (
                f"받은 image_filenames 중 하나를 돌려줘야 하는데 목록에 없는 {answer[:80]!r}를 돌려줬습니다 "
                "(검사할 때는 사진 순서와 이름을 바꿔서 넘기므로, 파일 이름을 직접 써 넣으면 틀립니다)."
            )
            results.append(failed(name, message))
        elif i == 0:
            message = f"QUERY({ref.query!r})의 Top-1은 {ref.top1[0]}이어야 하는데 {chosen}를 골랐습니다. {hint}"
            results.append(failed(name, message))
        else:
            results.append(failed(name, f"정답과 다른 사진을 골랐습니다. {hint}"))
    return results


def top1_line_matches(line: str, expected_name: str) -> bool:
    """`Top-1: val_3.JPEG`, or the same with a path whose name is val_3.JPEG."""
    prefix = "Top-1:"
    return line.startswith(prefix) and PurePath(line[len(prefix) :].strip()).name == expected_name


def main_lines_match(lines: list[str], shape_lines: list[str], expected_name: str) -> bool:
    """The three shape lines in order, then the one `Top-1:` line, naming the right picture.

    Other lines (a student's own print in a function, as lecture 04 prints batch shapes) are ignored, but there
    must be exactly one `Top-1:` line: printing a Top-1 for every picture must not find the hidden answer.
    """
    top1 = [index for index, line in enumerate(lines) if line.startswith("Top-1:")]
    if len(top1) != 1 or not top1_line_matches(lines[top1[0]], expected_name):
        return False
    before = iter(lines[: top1[0]])
    return all(any(line == wanted for line in before) for wanted in shape_lines)  # a subsequence, in order


def check_main(got: Received, ref: Reference) -> list[CheckResult]:
    name = "main_output"
    data, reason = got.step("main")
    if data is None:
        return [failed(name, f"main()을 검사하지 못했습니다: {reason}")]
    stdout = data.get("stdout") if isinstance(data.get("stdout"), str) else ""
    lines = [line.rstrip() for line in stdout.splitlines() if line.strip()]
    expected = ref.main_lines(got.main_query)
    if main_lines_match(lines, expected[:3], ref.top1[got.main_query]):
        return [passed(name, "맞았습니다: 네 줄이 모두 맞습니다.")]
    shown = expected[:3] + ["Top-1: <그 문장의 Top-1 파일 이름>"]  # the hidden answer itself is never shown
    return [
        failed(
            name,
            "채점할 때 main()은 QUERY를 숨은 문장으로 바꿔 실행합니다. QUERY 변수를 쓰고, 그 Top-1을 출력해야 합니다.\n"
            "출력해야 하는 네 줄:\n" + "\n".join(shown) + "\n실제로 출력한 줄:\n" + ("\n".join(lines[:10]) or "(없음)"),
        )
    ]


CHECKS = (check_load_images, check_embed_images, check_embed_text, check_search_top1, check_main)


def score_all(got: Received, ref: Reference) -> list[CheckResult]:
    """Every check's result, in the order of config.POINTS (each result names its own check)."""
    by_name = {result.name: result for check in CHECKS for result in check(got, ref)}
    assert set(by_name) == set(config.POINTS), f"checks and config.POINTS disagree: {set(by_name) ^ set(config.POINTS)}"
    return [by_name[name] for name in config.POINTS]
