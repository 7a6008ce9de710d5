"""Score what a child returned. Runs in the grader's process; trusts only plain arrays and strings, checked here.

Each check returns (score, output): output is Korean and says what was expected and what came back.
"""

from pathlib import Path

import numpy as np

from . import config
from .reference import Reference

TOLERANCE_MEAN_RGB = 1.0  # mean pixel value (0-255) of a picture may differ this much (JPEG decoders)


class Received:
    """What a child left in its io folder: `<step>.json` data, and why a step is missing if it is."""

    def __init__(
        self, io_dir: Path, steps: dict, missing: dict, search_names: list[str], search_to_name: dict, main_query: int
    ):
        self.io_dir, self.steps, self.missing = io_dir, steps, missing
        self.search_names, self.search_to_name = search_names, search_to_name
        self.main_query = main_query  # index into ref.queries of the QUERY main() ran with

    def step(self, name):
        """(data, None) or (None, reason in Korean)."""
        data = self.steps.get(name)
        if data is None:
            return None, self.missing.get(name, "결과가 없습니다")
        if data.get("error"):
            return None, f"오류가 났습니다: {data['error']}"
        return data, None

    def array(self, filename, shape):
        """A float array of exactly `shape` from the child, or (None, reason). Never unpickles anything."""
        path = self.io_dir / filename
        if not path.is_file():
            return None, "배열이 저장되지 않았습니다"
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as error:  # a file the child forged, truncated, or made of objects
            return None, f"배열을 읽을 수 없습니다 ({type(error).__name__})"
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


def check_load_images(got: Received, ref: Reference):
    data, reason = got.step("load_images")
    if data is None:
        return 0, f"load_images를 검사하지 못했습니다: {reason}"
    names, modes = data.get("names"), data.get("modes")
    if not isinstance(names, list) or not isinstance(modes, list):
        return 0, "load_images의 결과를 읽을 수 없습니다."
    if len(names) != config.N_IMAGES or len(modes) != config.N_IMAGES:
        return (
            0,
            f"사진 {config.N_IMAGES}장과 파일 이름 {config.N_IMAGES}개가 나와야 하는데 "
            f"사진 {len(modes)}장, 이름 {len(names)}개가 나왔습니다.",
        )
    if names != ref.names:
        i = next(i for i, (a, b) in enumerate(zip(names, ref.names)) if a != b)
        return 0, (
            f"파일 이름 순서가 다릅니다: {i}번째가 {ref.names[i]!r}여야 하는데 {str(names[i])[:80]!r}입니다. "
            "val_0, val_1, val_2, ..., val_10처럼 숫자 순서로 정렬하세요 (문자열 순서가 아니라)."
        )
    not_rgb = [i for i, mode in enumerate(modes) if mode != "RGB"]
    if not_rgb:
        return (
            0,
            f"모든 사진이 RGB여야 하는데 {len(not_rgb)}장이 아닙니다 "
            f"(예: {ref.names[not_rgb[0]]}의 mode는 {str(modes[not_rgb[0]])[:40]!r}). "
            '.convert("RGB")를 쓰세요.',
        )
    means, reason = got.array("load_images_means.npy", (config.N_IMAGES, 3))
    if means is None:
        return 0, f"사진의 픽셀을 확인할 수 없습니다: {reason}"
    wrong = np.flatnonzero(np.abs(means - ref.means).max(axis=1) > TOLERANCE_MEAN_RGB)
    if len(wrong):
        return (
            0,
            f"{len(wrong)}장의 사진이 파일 이름과 맞지 않습니다 (예: {ref.names[wrong[0]]}). "
            "i번째 사진이 i번째 파일이어야 합니다.",
        )
    return config.POINTS["load_images"], f"맞았습니다: RGB 사진 {config.N_IMAGES}장이 val_0..val_199 순서로 나왔습니다."


def check_embed_images(got: Received, ref: Reference):
    shape = (config.N_IMAGES, config.EMBED_DIM)
    data, reason = got.step("embed_images")
    if data is None:
        return [(0, f"embed_images를 검사하지 못했습니다: {reason}")] * 2
    array, reason = got.array("embed_images.npy", shape)
    if array is None:
        return [
            (0, f"embed_images는 모양 {shape}인 torch.Tensor를 돌려줘야 합니다: {reason}"),
            (0, "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    shape_ok = (config.POINTS["embed_images_shape"], f"맞았습니다: 모양 {shape}.")
    cosines = cosine_rows(array, ref.image_embeddings)
    bad = np.flatnonzero(~(cosines > config.MIN_COSINE))
    if len(bad):
        return [
            shape_ok,
            (
                0,
                f"{len(bad)}개 행이 정답과 다릅니다 (가장 낮은 코사인 유사도 {cosines.min():.3f}, "
                f"예: {bad[0]}번째 행 = {ref.names[bad[0]]}). i번째 행이 i번째 사진의 임베딩이어야 하고, "
                "get_image_features(...).pooler_output을 써야 합니다.",
            ),
        ]
    return [
        shape_ok,
        (
            config.POINTS["embed_images_values"],
            f"맞았습니다: 모든 행의 코사인 유사도 > {config.MIN_COSINE} (최저 {cosines.min():.4f}).",
        ),
    ]


def check_embed_text(got: Received, ref: Reference):
    shape = (1, config.EMBED_DIM)
    data, reason = got.step("embed_text")
    if data is None:
        return [(0, f"embed_text를 검사하지 못했습니다: {reason}")] * 2
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    arrays, problems = [], []
    for i in range(len(ref.queries)):
        label = "QUERY" if i == 0 else f"숨은 문장 {i}"
        error = errors[i] if i < len(errors) and isinstance(errors[i], str) else None
        array, reason = (None, error) if error else got.array(f"embed_text_{i}.npy", shape)
        arrays.append(array)
        if array is None:
            problems.append(f"{label}: {reason}")
    if problems:
        return [
            (0, f"embed_text는 모양 {shape}인 torch.Tensor를 돌려줘야 합니다. " + " / ".join(problems)),
            (0, "모양이 맞지 않아 값을 비교하지 않았습니다."),
        ]
    shape_ok = (config.POINTS["embed_text_shape"], f"맞았습니다: 모양 {shape}.")
    cosines = np.array([cosine_rows(a, ref.text_embeddings[i : i + 1])[0] for i, a in enumerate(arrays)])
    if not (cosines > config.MIN_COSINE).all():
        return [
            shape_ok,
            (
                0,
                f"정답 임베딩과 다릅니다 (QUERY와 숨은 문장들 중 가장 낮은 코사인 유사도 {cosines.min():.3f}). "
                "processor(text=[text], ...)와 get_text_features(...).pooler_output을 쓰세요.",
            ),
        ]
    return [
        shape_ok,
        (
            config.POINTS["embed_text_values"],
            f"맞았습니다: 코사인 유사도 > {config.MIN_COSINE} (최저 {cosines.min():.4f}).",
        ),
    ]


def check_search_top1(got: Received, ref: Reference):
    """One result per query. search_top1 got the reference embeddings, shuffled, under neutral file names."""
    data, reason = got.step("search_top1")
    answers = data.get("answers") if data else None
    results = []
    for i in range(len(ref.queries)):
        name = "search_top1_query" if i == 0 else f"search_top1_hidden_{i}"
        if not isinstance(answers, list) or i >= len(answers) or not isinstance(answers[i], str):
            results.append((0, f"search_top1을 검사하지 못했습니다: {reason or '결과가 없습니다'}"))
            continue
        answer = answers[i]
        chosen = got.search_to_name.get(answer)
        if chosen == ref.top1[i]:
            results.append((config.POINTS[name], "맞았습니다: 코사인 유사도가 가장 큰 사진을 골랐습니다."))
        elif answer.startswith("<오류> "):
            results.append((0, f"search_top1에서 오류가 났습니다: {answer[5:305]}"))
        elif answer.startswith("<"):
            results.append((0, f"파일 이름(str)을 돌려줘야 하는데 {answer[:80]}을(를) 돌려줬습니다."))
        elif chosen is None:
            results.append(
                (
                    0,
                    f"받은 image_filenames 중 하나를 돌려줘야 하는데 목록에 없는 {answer[:80]!r}를 돌려줬습니다 "
                    "(검사할 때는 사진 순서와 이름을 바꿔서 넘기므로, 파일 이름을 직접 써 넣으면 틀립니다).",
                )
            )
        elif i == 0:
            results.append(
                (
                    0,
                    f"QUERY({ref.query!r})의 Top-1은 {ref.top1[0]}이어야 하는데 {chosen}를 골랐습니다. "
                    "두 임베딩을 정규화한 뒤 코사인 유사도의 argmax를 쓰세요.",
                )
            )
        else:
            results.append(
                (0, "정답과 다른 사진을 골랐습니다. 두 임베딩을 정규화한 뒤 코사인 유사도의 argmax를 쓰세요.")
            )
    return results


def check_main(got: Received, ref: Reference):
    data, reason = got.step("main")
    if data is None:
        return 0, f"main()을 검사하지 못했습니다: {reason}"
    stdout = data.get("stdout") if isinstance(data.get("stdout"), str) else ""
    lines = [line.rstrip() for line in stdout.splitlines() if line.strip()]
    expected = ref.main_lines(got.main_query)
    if lines == expected:
        return config.POINTS["main_output"], "맞았습니다: 네 줄이 모두 맞습니다."
    shown = expected[:3] + ["Top-1: <그 문장의 Top-1 파일 이름>"]  # the hidden answer itself is never shown
    return 0, (
        "채점할 때 main()은 QUERY를 숨은 문장으로 바꿔 실행합니다. QUERY 변수를 쓰고, 그 Top-1을 출력해야 합니다.\n"
        "출력해야 하는 네 줄:\n" + "\n".join(shown) + "\n실제로 출력한 줄:\n" + ("\n".join(lines[:10]) or "(없음)")
    )


def score_all(got: Received, ref: Reference) -> list[tuple[str, int, str]]:
    """[(check name, score, output)] in the order of config.POINTS."""
    scored = [
        check_load_images(got, ref),
        *check_embed_images(got, ref),
        *check_embed_text(got, ref),
        *check_search_top1(got, ref),
        check_main(got, ref),
    ]
    return [(name, score, output) for name, (score, output) in zip(config.POINTS, scored)]
