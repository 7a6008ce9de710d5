"""Check hidden queries before a term: does each have one clear top-1 picture with the grading model?

    python -m tools.check_hidden_queries                        # autograder/config.py's HIDDEN_QUERIES
    python -m tools.check_hidden_queries "a kite" "a violin"    # candidates for next term
    python -m tools.check_hidden_queries --model openai/clip-vit-base-patch32 --min-margin 0.05

For each query: its top-1 among the 200 quiz pictures, the runner-up, and the margin (the cosine lead of the top-1
over the runner-up), computed as the grader computes answers (the grading model, fp32, every picture embedded once
through mmembed's cache). A small margin means that a student's correct code may pick the runner-up through float
rounding or another batch size, so such a query is refused (exit 1). What no number can check: that the query names
a thing shown in exactly one picture, so that any good model has a true answer; look at the top-1 and runner-up.
"""

import argparse
import sys

import mmembed
from autograder import config
from mmembed.grading import GRADING_MODEL

MIN_MARGIN = 0.05  # the smallest lead the course has used (config.HIDDEN_QUERIES: 0.13 and more with mini)


def margins(queries: list[str], model_name: str) -> list[tuple[str, str, float, str, float]]:
    """(query, top-1 file, its cosine, runner-up file, its cosine) for each query."""
    model, processor = mmembed.load_clip(model_name, device="cpu")
    image_embeddings, names = mmembed.embed_folder(config.IMAGE_DIR, model, processor, precision="fp32")
    text_embeddings = mmembed.embed_texts(queries, model, processor, precision="fp32")
    rows = []
    for i, query in enumerate(queries):
        (first, first_score), (second, second_score) = mmembed.search(
            text_embeddings[i : i + 1], image_embeddings, names, k=2
        )
        rows.append((query, first, first_score, second, second_score))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.check_hidden_queries", description=__doc__.split("\n")[0])
    parser.add_argument("queries", nargs="*", help="queries to check (default: config.HIDDEN_QUERIES)")
    parser.add_argument("--model", default=GRADING_MODEL, help=f"the grading model (default {GRADING_MODEL})")
    parser.add_argument("--min-margin", type=float, default=MIN_MARGIN, help=f"default {MIN_MARGIN}")
    args = parser.parse_args(argv)
    queries = args.queries or list(config.HIDDEN_QUERIES)

    rows = margins(queries, args.model)
    print(f"grading model {args.model} (fp32), {len(queries)} queries, minimum margin {args.min_margin}")
    width = max(len(query) for query in queries)
    print(f"{'query':<{width}}  {'top-1':<14} {'cosine':>6}  {'runner-up':<14} {'cosine':>6}  {'margin':>6}")
    refused = 0
    for query, first, first_score, second, second_score in rows:
        margin = first_score - second_score
        verdict = "ok" if margin >= args.min_margin else f"TOO CLOSE (< {args.min_margin})"
        refused += margin < args.min_margin
        scores = f"{first:<14} {first_score:6.3f}  {second:<14} {second_score:6.3f}  {margin:6.3f}"
        print(f"{query:<{width}}  {scores}  {verdict}")
    tops = [row[1] for row in rows]
    for top in sorted({top for top in tops if tops.count(top) > 1}):
        print(f"warning: several queries share the top-1 {top}")
    if refused:
        print(f"{refused} of {len(queries)} queries have no clear top-1: choose other texts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
