"""How well does a model find the course pictures? By caption, by query form and by category.

    python -m mmembed evaluate [--model mini] [--json]

- Captions (recall@1/5) and category prompts: texts `mini` was trained on. They measure what
  it remembers.
- Held-out query forms: the nouns of the pictures that hold one clearly named thing, wrapped in phrasings
  `mini` never saw in training ("show me a hammer", "망치가 찍힌 사진"); recall@1 for each phrasing. They
  measure whether it copes with the way people actually type. The pictures and nouns themselves were seen:
  what is held out is the phrasing.
- Zero-shot categories with prompt phrases: each category's names in every held-out phrasing, averaged into
  one text embedding per category (the CLIP paper's prompt ensemble).
"""

import torch
import torch.nn.functional as F

from ..embedding import embed_images, embed_texts
from ..images import load_image
from ..manifest import category_query_en, read_manifest, read_short_texts
from ..similarity import cosine_similarity_matrix
from .query_forms import LANGUAGES, category_names, fill, held_out_pictures, phrases, read_query_forms

PRECISION = "fp32"  # not "auto": bf16 on some CPUs would change the figures from machine to machine


def recall_at_k(similarity: torch.Tensor, k: int) -> float:
    """Share of rows i whose own column i is among the k highest: text i should find picture i."""
    top = similarity.topk(k, dim=1).indices
    hits = (top == torch.arange(len(similarity)).unsqueeze(1)).any(dim=1)
    return hits.sum().item() / len(similarity)


def top1_rate(similarity: torch.Tensor, targets: list[int]) -> float:
    """Share of rows whose highest column is the row's target."""
    return (similarity.argmax(dim=1) == torch.tensor(targets)).sum().item() / len(targets)


def category_top1_rate(query_embeddings, image_embeddings, categories, picture_categories) -> float:
    """Share of categories whose query puts a picture of that category at top-1."""
    best = cosine_similarity_matrix(query_embeddings, image_embeddings).argmax(dim=1)
    return sum(picture_categories[i] == c for i, c in zip(best.tolist(), categories)) / len(categories)


def zero_shot_accuracy(image_embeddings, class_embeddings, categories, picture_categories) -> float:
    """Share of pictures whose most similar class text is their own category."""
    best = cosine_similarity_matrix(image_embeddings, class_embeddings).argmax(dim=1)
    return sum(categories[j] == c for j, c in zip(best.tolist(), picture_categories)) / len(picture_categories)


def prompt_ensemble(things: list[str], language: str, model, processor) -> torch.Tensor:
    """One unit vector per thing: the mean of its unit embeddings in every held-out phrasing."""
    templates = phrases("held_out", language)
    texts = [fill(template, thing, language) for thing in things for template in templates]
    units = F.normalize(embed_texts(texts, model, processor, precision=PRECISION), dim=-1).reshape(
        len(things), len(templates), -1
    )
    return F.normalize(units.mean(dim=1), dim=-1)


def drawing_paths() -> set[str]:
    """The pictures whose `style` in MANIFEST.csv is "drawing" (the others are photos)."""
    return {picture.path for picture in read_manifest() if picture.style == "drawing"}


def form_figures(model, processor, image_embeddings, quiz, forms: dict[str, list[str]]) -> dict:
    """{"recall@1": {language: {phrase: rate}}, "top1_drawings": ...} for the held-out pictures' first nouns.

    `top1_drawings` is the share of queries whose top-1 is a drawing: when it is far above the share of
    drawings among the targets (`target_drawings`), a word of the phrase is pulling the queries to drawings.
    """
    index = {p.path: i for i, p in enumerate(quiz)}
    targets = [nouns for nouns in held_out_pictures() if nouns.path in index]
    target_rows = [index[nouns.path] for nouns in targets]
    drawings_among_quiz = drawing_paths()
    is_drawing = torch.tensor([p.path in drawings_among_quiz for p in quiz])
    recall, drawings = {}, {}
    for language, templates in forms.items():
        recall[language], drawings[language] = {}, {}
        for template in templates:
            queries = [fill(template, nouns.names(language)[0], language) for nouns in targets]
            similarity = cosine_similarity_matrix(
                embed_texts(queries, model, processor, precision=PRECISION), image_embeddings
            )
            recall[language][template] = top1_rate(similarity, target_rows)
            drawings[language][template] = is_drawing[similarity.argmax(dim=1)].sum().item() / len(queries)
    return {
        "pictures": len(targets),
        "target_drawings": is_drawing[target_rows].sum().item() / len(targets),
        "recall@1": recall,
        "top1_drawings": drawings,
    }


def evaluate(model, processor) -> dict:
    pictures = read_manifest()
    quiz = [p for p in pictures if p.path.startswith("quiz-image/")]
    short = read_short_texts()
    image_embeddings = embed_images(
        [load_image(p.file) for p in quiz], model, processor, progress=False, precision=PRECISION
    )

    figures = {}
    for language in LANGUAGES:
        captions = [getattr(p, f"caption_{language}") for p in quiz]
        similarity = cosine_similarity_matrix(
            embed_texts(captions, model, processor, precision=PRECISION), image_embeddings
        )
        figures[f"recall@1_{language}"] = recall_at_k(similarity, 1)
        figures[f"recall@5_{language}"] = recall_at_k(similarity, 5)

    categories = sorted({p.category for p in quiz})
    picture_categories = [p.category for p in quiz]
    prompts_en = [category_query_en(c) for c in categories]
    words_ko = [short[("category", c)][1][0] for c in categories]
    for language, queries in (("en", prompts_en), ("ko", words_ko)):
        query_embeddings = embed_texts(queries, model, processor, precision=PRECISION)
        figures[f"category_top1_{language}"] = category_top1_rate(
            query_embeddings, image_embeddings, categories, picture_categories
        )
        figures[f"zero_shot_accuracy_{language}"] = zero_shot_accuracy(
            image_embeddings, query_embeddings, categories, picture_categories
        )
    for language in LANGUAGES:
        things = [category_names(c)[language] for c in categories]
        figures[f"zero_shot_prompt_ensemble_{language}"] = zero_shot_accuracy(
            image_embeddings, prompt_ensemble(things, language, model, processor), categories, picture_categories
        )

    forms = read_query_forms()
    figures["held_out_forms"] = form_figures(model, processor, image_embeddings, quiz, forms["held_out"])
    figures["trained_forms"] = form_figures(model, processor, image_embeddings, quiz, forms["reported_training"])
    return figures


def figure_lines(figures: dict) -> list[str]:
    """The figures as `python -m mmembed evaluate` prints them: one per line, then a table per kind of phrasing."""
    lines = [f"  {name:<30} {value:.3f}" for name, value in figures.items() if not isinstance(value, dict)]
    for kind, title in (("held_out_forms", "held-out phrasings"), ("trained_forms", "phrasings seen in training")):
        table = figures[kind]
        lines.append(f"  recall@1 on {table['pictures']} pictures, {title}")
        lines.append(
            f"  (in brackets: share of top-1s that are drawings; among the targets {table['target_drawings']:.2f})"
        )
        for language, rates in table["recall@1"].items():
            for template, rate in rates.items():
                drawings = table["top1_drawings"][language][template]
                lines.append(f"    {language}  {template:<32} {rate:.3f}   ({drawings:.2f})")
    return lines


if __name__ == "__main__":
    from ..moved import command

    command("python -m mmembed.training.evaluate", "evaluate")
