"""Each held-out evaluation case of a model, one line each: what `python -m mmembed evaluate --texts` only counts.

    MMEMBED_OFFLINE=1 python -m tools.explain_validity [MODEL] [--texts tests/evaluation_texts]

MODEL is a folder (a model being trained, e.g. the --out of tools.train_mini) or a name `mmembed.course_model`
knows; default `mini`. For each attribute query: hit or miss, and the caption of its top-1 (and of the noun-only
query's top-1). For quiz 2: each honest and unrelated text, passed or not, with its top-3. For quiz 7: each
description's top-1. The texts are passing answers (tests/evaluation_texts/README.md): print them to a terminal,
never into a committed file.
"""

import argparse
from pathlib import Path

from mmembed.choices import LANGUAGES
from mmembed.manifest import read_manifest
from mmembed.paths import REPO_ROOT
from mmembed.training.validity import DOG_POOL, QUIZ2_TOP, QUIZ_POOL, Pool, read_texts
from mmembed.zoo.load import load_clip


def case_lines(texts: dict, pools: dict[str, Pool], model, processor) -> list[str]:
    caption = {picture.path: picture.caption_en or picture.path for picture in read_manifest()}
    lines = []
    for case in texts["attributes"]["cases"]:
        pool = pools[case["pool"]]
        [top], [noun_top] = (pool.ranked([case[key]], model, processor, 1)[0] for key in ("query", "noun_query"))
        mark = "hit " if top in case["pictures"] else "MISS"
        found = f"-> {caption[top][:40]!r:44} noun-only -> {caption[noun_top][:30]!r}"
        lines.append(f"{mark} {case['language']} {case['query']!r:34} {found}")
    targets = {f"{DOG_POOL}/{name}" for name in texts["quiz2"]["targets"]}
    quiz2 = [(f"honest {language}", text) for language in LANGUAGES for text in texts["quiz2"]["honest"][language]]
    quiz2 += [("unrelated", text) for text in texts["quiz2"]["unrelated"]]
    for (kind, text), top in zip(quiz2, pools[DOG_POOL].ranked([t for _, t in quiz2], model, processor, QUIZ2_TOP)):
        mark = "pass" if set(top) == targets else "FAIL" if kind != "unrelated" else "fail"
        lines.append(f"quiz 2 {kind:10} {mark} {text!r:40} top-{QUIZ2_TOP}: {[Path(p).stem for p in top]}")
    for name, by_language in texts["quiz7"]["descriptions"].items():
        for language in LANGUAGES:
            for text in by_language[language]:
                [top] = pools[QUIZ_POOL].ranked([text], model, processor, 1)[0]
                mark = "hit " if top == f"{QUIZ_POOL}/{name}" else "MISS"
                lines.append(f"quiz 7 {mark} {name} {text!r:40} -> {caption[top][:40]!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="mini")
    parser.add_argument("--texts", type=Path, default=REPO_ROOT / "tests" / "evaluation_texts")
    args = parser.parse_args(argv)
    texts = read_texts(args.texts)
    model, processor = load_clip(args.model)
    pools = {name: Pool(name, model, processor) for name in (QUIZ_POOL, DOG_POOL)}
    print("\n".join(case_lines(texts, pools, model, processor)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
