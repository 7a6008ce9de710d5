"""Held-out validity: does a model hear the attribute of a query, and do quizzes 2 and 7 pass honest answers and
fail unrelated ones? (issue 32)

    python -m mmembed evaluate --texts tests/evaluation_texts

The texts are passing answers, so they live with the maintainers (tests/evaluation_texts) and are read from the
folder this module is given; mmembed never imports tests/ or tools/. Only rates come back, never a text, so the
figures can go into models/mini/metrics.json.

- Attributes, per language: `attribute_recall@1` (share of queries whose top-1 in its pool is one of its
  pictures), `noun_only_recall@1` (the same for the query without its attribute: what a model that ignores the
  attribute scores), `pair_flips` (share of pairs whose queries do not share a top-1).
- Quiz 2: share of honest descriptions per language, and of unrelated texts, whose top-3 over the 9 dogs is the
  quiz's three targets.
- Quiz 7, per language: share of descriptions whose top-1 over the 200 quiz pictures is their target.

Everything is computed as the quizzes grade: fp32, each pool's pictures embedded once in the folder's natural
order, and each text embedded alone (in a batch, padding can move a near-tie).
"""

import json
from collections import defaultdict
from pathlib import Path

import torch

from ..choices import LANGUAGES
from ..embedding import embed_images, embed_texts
from ..images import image_files, load_image
from ..paths import IMAGES_DIR
from ..similarity import cosine_similarity_matrix

PRECISION = "fp32"
FILES = {"attributes": "attributes.json", "quiz2": "quiz2.json", "quiz7": "quiz7.json"}
QUIZ_POOL = "quiz-image"  # quiz 7 and most attribute queries: the 200 quiz pictures
DOG_POOL = "topk-image"  # quiz 2 and the dog poses: the 9 dogs
QUIZ2_TOP = 3


def read_texts(folder: str | Path) -> dict:
    """{"attributes": ..., "quiz2": ..., "quiz7": ...}: the three files of an evaluation-texts folder, parsed."""
    folder = Path(folder)
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: give the folder of the evaluation texts")
    return {key: json.loads((folder / name).read_text(encoding="utf-8")) for key, name in FILES.items()}


def held_out_texts(texts: dict) -> list[str]:
    """Every passing answer in the texts: what training must keep out (up to `text_match.match_key`). The
    noun-only baselines and the unrelated texts are not answers and are left out."""
    found = [case["query"] for case in texts["attributes"]["cases"]]
    found += [text for language in LANGUAGES for text in texts["quiz2"]["honest"][language]]
    for by_language in texts["quiz7"]["descriptions"].values():
        found += [text for language in LANGUAGES for text in by_language[language]]
    return list(dict.fromkeys(found))


class Pool:
    """The pictures of one folder of images/, embedded once: `paths` are relative to images/ as in MANIFEST.csv."""

    def __init__(self, name: str, model, processor):
        files = image_files(IMAGES_DIR / name)
        self.paths = [f"{name}/{file.name}" for file in files]
        pictures = [load_image(file) for file in files]
        self.embeddings = embed_images(pictures, model, processor, progress=False, precision=PRECISION)

    def ranked(self, texts: list[str], model, processor, k: int) -> list[list[str]]:
        """For each text, the paths of its k most similar pictures, best first."""
        queries = torch.cat([embed_texts(text, model, processor, precision=PRECISION) for text in texts])
        top = cosine_similarity_matrix(queries, self.embeddings).topk(k, dim=1).indices
        return [[self.paths[i] for i in row] for row in top.tolist()]


def share(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


def attribute_figures(cases: list[dict], pools: dict[str, Pool], model, processor) -> dict[str, float]:
    figures = {}
    for language in LANGUAGES:
        mine = [case for case in cases if case["language"] == language]
        top1, noun_top1 = {}, {}
        for pool_name, pool in pools.items():
            in_pool = [i for i, case in enumerate(mine) if case["pool"] == pool_name]
            if not in_pool:
                continue
            found = pool.ranked([mine[i]["query"] for i in in_pool], model, processor, 1)
            nouns = pool.ranked([mine[i]["noun_query"] for i in in_pool], model, processor, 1)
            top1.update({i: ranked[0] for i, ranked in zip(in_pool, found)})
            noun_top1.update({i: ranked[0] for i, ranked in zip(in_pool, nouns)})
        pairs = defaultdict(list)
        for i, case in enumerate(mine):
            if case["pair"]:
                pairs[case["pair"]].append(top1[i])
        figures[f"attribute_recall@1_{language}"] = share([top1[i] in case["pictures"] for i, case in enumerate(mine)])
        figures[f"noun_only_recall@1_{language}"] = share(
            [noun_top1[i] in case["pictures"] for i, case in enumerate(mine)]
        )
        figures[f"pair_flips_{language}"] = share([len(set(tops)) == len(tops) for tops in pairs.values()])
    return figures


def quiz2_figures(quiz2: dict, dogs: Pool, model, processor) -> dict[str, float]:
    targets = {f"{DOG_POOL}/{name}" for name in quiz2["targets"]}

    def pass_rate(texts):
        return share([set(top) == targets for top in dogs.ranked(texts, model, processor, QUIZ2_TOP)])

    figures = {f"quiz2_honest_pass_{language}": pass_rate(quiz2["honest"][language]) for language in LANGUAGES}
    figures["quiz2_unrelated_pass"] = pass_rate(quiz2["unrelated"])
    return figures


def quiz7_figures(quiz7: dict, quiz: Pool, model, processor) -> dict[str, float]:
    figures = {}
    for language in LANGUAGES:
        pairs = [
            (f"{QUIZ_POOL}/{name}", text)
            for name, by_language in quiz7["descriptions"].items()
            for text in by_language[language]
        ]
        found = quiz.ranked([text for _, text in pairs], model, processor, 1)
        figures[f"quiz7_top1_{language}"] = share([top[0] == target for (target, _), top in zip(pairs, found)])
    return figures


def validity(model, processor, texts: dict | str | Path) -> dict[str, float]:
    """The held-out rates of a model on the evaluation texts (parsed, or the folder holding them)."""
    if not isinstance(texts, dict):
        texts = read_texts(texts)
    pools = {name: Pool(name, model, processor) for name in (QUIZ_POOL, DOG_POOL)}
    figures = attribute_figures(texts["attributes"]["cases"], pools, model, processor)
    figures |= quiz2_figures(texts["quiz2"], pools[DOG_POOL], model, processor)
    figures |= quiz7_figures(texts["quiz7"], pools[QUIZ_POOL], model, processor)
    return figures


def validity_lines(figures: dict[str, float]) -> list[str]:
    """The rates as `python -m mmembed evaluate --texts` prints them, one per line."""
    return [f"  {name:<30} {value:.3f}" for name, value in figures.items()]
