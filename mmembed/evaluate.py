"""How well does a model find the course pictures? Recall@k for captions, zero-shot categories, the dog group.

    python -m mmembed.evaluate [--model mini]

All figures are on the course's own pictures, which `mini` was trained on: they measure what it learned,
not how it generalises.
"""

import argparse
import json

import torch

from .embedding import embed_images, embed_texts
from .images import load_image
from .manifest import category_query_en, read_manifest, read_short_texts
from .search import cosine_similarity_matrix

DOG_GROUP = "head"


def recall_at_k(similarity: torch.Tensor, k: int) -> float:
    """Share of rows i whose own column i is among the k highest: text i should find picture i."""
    top = similarity.topk(k, dim=1).indices
    hits = (top == torch.arange(len(similarity)).unsqueeze(1)).any(dim=1)
    return hits.sum().item() / len(similarity)


def category_top1_rate(query_embeddings, image_embeddings, categories, picture_categories) -> float:
    """Share of categories whose query puts a picture of that category at top-1."""
    best = cosine_similarity_matrix(query_embeddings, image_embeddings).argmax(dim=1)
    return sum(picture_categories[i] == c for i, c in zip(best.tolist(), categories)) / len(categories)


def evaluate(model, processor) -> dict[str, float]:
    pictures = read_manifest()
    quiz = [p for p in pictures if p.path.startswith("quiz-image/")]
    dogs = [p for p in pictures if p.path.startswith("topk-image/")]
    short = read_short_texts()
    image_embeddings = embed_images([load_image(p.file) for p in quiz], model, processor, progress=False)

    figures = {}
    for language in ("en", "ko"):
        captions = [getattr(p, f"caption_{language}") for p in quiz]
        similarity = cosine_similarity_matrix(embed_texts(captions, model, processor), image_embeddings)
        figures[f"recall@1_{language}"] = recall_at_k(similarity, 1)
        figures[f"recall@5_{language}"] = recall_at_k(similarity, 5)

    categories = sorted({p.category for p in quiz})
    picture_categories = [p.category for p in quiz]
    prompts_en = [category_query_en(c) for c in categories]
    words_ko = [short[("category", c)][1][0] for c in categories]
    for language, queries in (("en", prompts_en), ("ko", words_ko)):
        query_embeddings = embed_texts(queries, model, processor)
        figures[f"category_top1_{language}"] = category_top1_rate(
            query_embeddings, image_embeddings, categories, picture_categories
        )
        zero_shot = cosine_similarity_matrix(image_embeddings, query_embeddings).argmax(dim=1)
        figures[f"zero_shot_accuracy_{language}"] = sum(
            categories[j] == c for j, c in zip(zero_shot.tolist(), picture_categories)
        ) / len(quiz)

    group_query = short[("group", DOG_GROUP)][0][0]
    dog_embeddings = embed_images([load_image(p.file) for p in dogs], model, processor, progress=False)
    top3 = cosine_similarity_matrix(embed_texts(group_query, model, processor), dog_embeddings)[0].topk(3).indices
    figures["dog_group_top3"] = float({dogs[i].group for i in top3.tolist()} == {DOG_GROUP})
    return figures


def main(argv=None) -> None:
    from .models import load_clip

    parser = argparse.ArgumentParser(prog="python -m mmembed.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mini", help='default "mini"')
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    model, processor = load_clip(args.model)
    figures = evaluate(model, processor)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"Model: {model.mmembed_name} (on the 200 quiz pictures and 9 dogs of the course)")
    for name, value in figures.items():
        print(f"  {name:<24} {value:.3f}")


if __name__ == "__main__":
    main()
