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


HIDDEN_FAILED = "숨은 문장으로 검사했는데 틀렸습니다. 숨은 문장으로 검사한 결과는 알려 주지 않습니다."


@dataclass
class Received:
    """What one submission's steps sent back (checked against protocol.py), and why a step is missing if it is."""

    steps: dict  # step name -> protocol.StepData
    missing: dict = field(default_factory=dict)  # step name -> why it has no result (Korean)
    search_to_name: dict = field(default_factory=dict)  # search step -> {neutral name given -> real file name}
    main_query: int = 0  # index into ref.queries of the QUERY main() ran with

    def step(self, name: str):
        """(the step's result, None), or (None, why not in Korean). Only for steps whose inputs are public: the
        why may repeat what the student's code raised."""
        data = self.steps.get(name)
        if data is None:
            return None, self.missing.get(name, "결과가 없습니다")
        if data.result.get("error"):
            return None, f"오류가 났습니다: {data.result['error'][:500]}"
        return data.result, None

    def array(self, step: str, name: str, shape: tuple):
        """A finite float array of exactly `shape`, as float64, or (None, why not)."""
        data = self.steps.get(step)
        array = data.arrays.get(name) if data is not None else None
        if array is None:
            return None, "배열이 오지 않았습니다"
        if array.shape != shape:
            return None, f"모양이 {shape}이어야 하는데 {array.shape}입니다"
        if not np.isfinite(array).all():
            return None, "NaN이나 무한대가 들어 있습니다"
        return array.astype(np.float64), None

    def hidden_arrays(self, step: str, count: int, shape: tuple) -> list | None:
        """The arrays of a hidden step, all of the right shape and finite, or None: never a reason (it could carry
        what the student's code learned from the hidden inputs)."""
        data = self.steps.get(step)
        if data is None or data.result.get("error") or any(data.result.get("errors") or []):
            return None
        arrays = [self.array(step, f"embed_text_{i}.npy", shape)[0] for i in range(count)]
        return None if any(array is None for array in arrays) else arrays


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
    means, reason = got.array("load_images", "load_images_means.npy", (n, 3))
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
    array, reason = got.array("embed_images", "embed_images.npy", shape)
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
    """QUERY's embedding may be discussed in detail; the hidden texts' only pass or fail."""
    shape = (1, config.EMBED_DIM)
    data, reason = got.step("embed_text")
    if data is not None:
        error = (data.get("errors") or [None])[0]
        query, reason = (None, error[:300]) if error else got.array("embed_text", "embed_text_0.npy", shape)
    else:
        query = None
    hidden = got.hidden_arrays("embed_text_hidden", len(ref.queries) - 1, shape)
    if query is None:
        why = f"embed_text는 모양 {shape}인 torch.Tensor를 돌려줘야 합니다. QUERY: {reason}"
        return [
            failed("embed_text_shape", why),
            failed("embed_text_values", "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    if hidden is None:
        why = f"QUERY의 임베딩은 모양 {shape}이 맞지만, 숨은 문장에서는 모양이 틀렸거나 오류가 났습니다."
        if "embed_text_hidden" in got.missing:  # the grader's own words: a timeout, a crash
            why = f"숨은 문장을 검사하지 못했습니다: {got.missing['embed_text_hidden']}"
        return [
            failed("embed_text_shape", why),
            failed("embed_text_values", "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    shape_ok = passed("embed_text_shape", f"맞았습니다: 모양 {shape}.")
    cosine = cosine_rows(query, ref.text_embeddings[0:1])[0]
    hidden_ok = all(
        cosine_rows(a, ref.text_embeddings[i + 1 : i + 2])[0] > config.MIN_COSINE for i, a in enumerate(hidden)
    )
    hint = "processor(text=[text], ...)와 get_text_features(...).pooler_output을 쓰세요."
    if not cosine > config.MIN_COSINE:
        message = f"QUERY의 임베딩이 정답과 다릅니다 (코사인 유사도 {cosine:.3f}). {hint}"
        return [shape_ok, failed("embed_text_values", message)]
    if not hidden_ok:
        return [shape_ok, failed("embed_text_values", f"QUERY는 맞았지만 {HIDDEN_FAILED} {hint}")]
    return [
        shape_ok,
        passed("embed_text_values", f"맞았습니다: QUERY와 숨은 문장 모두 코사인 유사도 > {config.MIN_COSINE}."),
    ]


def check_search_top1(got: Received, ref: Reference) -> list[CheckResult]:
    """One result per query. search_top1 got the reference embeddings, rotated and shuffled, under neutral file
    names. What went wrong is told for QUERY only; for a hidden text, only that it went wrong."""
    hint = "두 임베딩을 정규화한 뒤 코사인 유사도의 argmax를 쓰세요."
    results = [_check_query_search(got, ref, hint)]
    data = got.steps.get("search_top1_hidden")
    answers = data.result.get("answers") if data is not None else None
    to_name = got.search_to_name.get("search_top1_hidden", {})
    for i in range(1, len(ref.queries)):
        name = f"search_top1_hidden_{i}"
        if answers is not None and to_name.get(answers[i - 1]) == ref.top1[i]:
            results.append(passed(name, "맞았습니다: 코사인 유사도가 가장 큰 사진을 골랐습니다."))
        elif data is None and "search_top1_hidden" in got.missing:  # the grader's own words: a timeout, a crash
            results.append(failed(name, f"search_top1을 검사하지 못했습니다: {got.missing['search_top1_hidden']}"))
        else:
            results.append(failed(name, f"{HIDDEN_FAILED} {hint}"))
    return results


def _check_query_search(got: Received, ref: Reference, hint: str) -> CheckResult:
    name = "search_top1_query"
    data, reason = got.step("search_top1")
    answers = data.get("answers") if data else None
    if not answers:
        return failed(name, f"search_top1을 검사하지 못했습니다: {reason or '결과가 없습니다'}")
    answer = answers[0]
    chosen = got.search_to_name.get("search_top1", {}).get(answer)
    if chosen == ref.top1[0]:
        return passed(name, "맞았습니다: 코사인 유사도가 가장 큰 사진을 골랐습니다.")
    if answer.startswith("<오류> "):
        return failed(name, f"search_top1에서 오류가 났습니다: {answer[5:305]}")
    if answer.startswith("<"):
        return failed(name, f"파일 이름(str)을 돌려줘야 하는데 {answer[:80]}을(를) 돌려줬습니다.")
    if chosen is None:
        return failed(
            name,
            f"받은 image_filenames 중 하나를 돌려줘야 하는데 목록에 없는 {answer[:80]!r}를 돌려줬습니다 "
            "(검사할 때는 사진 순서와 이름을 바꿔서 넘기므로, 파일 이름을 직접 써 넣으면 틀립니다).",
        )
    return failed(name, f"QUERY({ref.query!r})의 Top-1은 {ref.top1[0]}이어야 하는데 {chosen}를 골랐습니다. {hint}")


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
    """main() ran with a hidden QUERY, so its feedback is fixed: what it should print, never what it printed."""
    name = "main_output"
    data = got.steps.get("main")
    stdout = data.result.get("stdout", "") if data is not None and not data.result.get("error") else ""
    lines = [line.rstrip() for line in stdout.splitlines() if line.strip()]
    expected = ref.main_lines(got.main_query)
    if main_lines_match(lines, expected[:3], ref.top1[got.main_query]):
        return [passed(name, "맞았습니다: 네 줄이 모두 맞습니다.")]
    if data is None and "main" in got.missing:
        return [failed(name, f"main()을 검사하지 못했습니다: {got.missing['main']}")]
    shown = expected[:3] + ["Top-1: <그 문장의 Top-1 파일 이름>"]  # the hidden answer itself is never shown
    return [
        failed(
            name,
            "채점할 때 main()은 QUERY를 숨은 문장으로 바꿔 실행합니다. QUERY 변수를 쓰고, 그 Top-1을 출력해야 합니다. "
            "main()이 출력한 내용과 오류는 숨은 문장에서 나왔으므로 보여 주지 않습니다. 출력해야 하는 네 줄:\n"
            + "\n".join(shown),
        )
    ]


# The rule of quizzes 3-6 (rules.py, inside/guard.py): the checks each graded function's points are in.
CHECKS_OF_FUNCTION = {
    "load_images": ["load_images"],
    "embed_images": ["embed_images_shape", "embed_images_values"],
    "embed_text": ["embed_text_shape", "embed_text_values"],
    "search_top1": [name for name in config.POINTS if name.startswith("search_top1")],
    "main": ["main_output"],
}
RULE = (
    "퀴즈 3-6은 mmembed의 함수(load_images, embed_images, search 등)를 쓰지 않고 PIL, torch, transformers로 "
    "직접 작성하는 문제입니다. mmembed에서 쓸 수 있는 것은 main()이 모델을 불러오는 mmembed.load_clip뿐입니다."
)
HELPER_USED = {  # where the use was found -> the fixed sentence (never the student's code)
    "code": "{function}의 코드가 (직접, 또는 쓰는 다른 함수나 변수를 거쳐) load_clip 말고 다른 mmembed 함수를 씁니다.",
    "run": "{function}을(를) 실행하는 동안 load_clip 말고 다른 mmembed 함수가 불렸습니다.",
    "import": (
        "과제 파일을 불러올 때(함수 밖의 코드에서) load_clip 말고 다른 mmembed 함수를 부릅니다. "
        "모든 단계가 그 뒤에 실행됩니다."
    ),
}


def enforce_rule(results: list[CheckResult], found: dict[str, str]) -> list[CheckResult]:
    """Each check of a function that used an mmembed helper fails, with the rule's fixed sentence. `found`:
    graded function (or "import", for all of them) -> how it was found ("code", "run" or "import")."""
    failed_checks = {}
    for function, how in found.items():
        sentence = HELPER_USED[how].format(function="main()" if function == "main" else function)
        for name in config.POINTS if function == "import" else CHECKS_OF_FUNCTION[function]:
            failed_checks.setdefault(name, f"{sentence} {RULE} 이 검사는 0점입니다.")
    return [failed(r.name, failed_checks[r.name]) if r.name in failed_checks else r for r in results]


CHECKS = (check_load_images, check_embed_images, check_embed_text, check_search_top1, check_main)


def score_all(got: Received, ref: Reference) -> list[CheckResult]:
    """Every check's result, in the order of config.POINTS (each result names its own check)."""
    by_name = {result.name: result for check in CHECKS for result in check(got, ref)}
    assert set(by_name) == set(config.POINTS), f"checks and config.POINTS disagree: {set(by_name) ^ set(config.POINTS)}"
    return [by_name[name] for name in config.POINTS]
