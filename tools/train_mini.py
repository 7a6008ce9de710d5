"""Train the offline `mini` CLIP on the course pictures and save it to models/mini/.

    python -m tools.train_mini [--steps 3000] [--out models/mini]
    python -m tools.train_mini --check [--out models/mini]   # retrain elsewhere; compare with <out>/metrics.json

Deterministic (fixed seeds, one thread, deterministic torch kernels, a tokenizer learned without random
tie-breaks): the same machine gives the same weights and figures every time. One thread, because the model is
so small that two threads mostly wait for each other, and far worse when other programs share the cores
(measured at load 6 on 2 cores: 4.65 s per step with two threads, 0.80 s with one). --check retrains in a temporary
folder and exits non-zero unless every figure and the final loss equal those in <out>/metrics.json exactly
(only the timing and the load of the machine may differ).

Texts that answer a quiz (tools/reserved_texts.json) and the held-out evaluation texts (tests/evaluation_texts/)
are never trained: `reserved_texts` reads them and `course_examples` drops every training text equal to one of
them up to articles, plurals, particles and spacing. metrics.json records the rates the evaluation texts give,
never the texts.

metrics.json also keeps the first mini's figures ("before", from mmembed/data/mini_v1_figures.json), so the
query-form table can be shown before and after.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from mmembed.paths import MODELS_DIR, PACKAGE_DATA, REPO_ROOT
from mmembed.training import course_examples, new_mini_model, train
from mmembed.training.evaluate import evaluate
from mmembed.training.validity import held_out_texts, read_texts, validity

SEED = 1
THREADS = 1
STEPS = 3000
BEFORE = PACKAGE_DATA / "mini_v1_figures.json"
RESERVED = REPO_ROOT / "tools" / "reserved_texts.json"
EVALUATION_TEXTS = REPO_ROOT / "tests" / "evaluation_texts"
CIRCUMSTANCES = ("minutes", "load_average")  # how the run went, not what it produced: --check ignores them


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "mini")
    parser.add_argument("--check", action="store_true", help="train into a temporary folder and compare with --out")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mini-check-")) if args.check else args.out

    model, processor, record = train_and_evaluate(args.steps)
    model.save_pretrained(folder)
    # Training leaves its batches' padding and truncation switched on in the fast tokenizer, and save_pretrained
    # would keep them in tokenizer.json, where every later `padding=True` call warns "`max_length` is ignored".
    # Saved with both off, as a tokenizer that has never tokenized is (tiny's and the stand-ins').
    processor.tokenizer.backend_tokenizer.no_padding()
    processor.tokenizer.backend_tokenizer.no_truncation()
    processor.save_pretrained(folder)
    record["before"] = json.loads(BEFORE.read_text(encoding="utf-8"))["figures"]
    (folder / "metrics.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for file in folder.iterdir():  # save_pretrained run as root writes 0600; the grader's sandbox user reads mini
        file.chmod(0o644)
    print(json.dumps({k: v for k, v in record.items() if not isinstance(v, dict)}, indent=2))
    print(f"saved to {folder}")
    if args.check:
        sys.exit(compare(record, json.loads((args.out / "metrics.json").read_text(encoding="utf-8"))))


def train_and_evaluate(steps: int):
    """(model, processor, record): the trained model and what metrics.json says about it."""
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    examples = course_examples(reserved=reserved_texts())
    model, processor = new_mini_model(examples, seed=SEED)
    losses = train(model, processor, examples, steps=steps, seed=SEED)
    minutes = (time.monotonic() - started) / 60
    load_average = round((load_before + os.getloadavg()[0]) / 2, 1)  # of the whole machine, shared with others
    figures = {**evaluate(model, processor), "held_out_texts": validity(model, processor, EVALUATION_TEXTS)}
    return (
        model,
        processor,
        {
            "steps": steps,
            "seed": SEED,
            "final_loss": losses[-1],
            "minutes": round(minutes, 1),
            "load_average": load_average,
            **figures,
        },
    )


def reserved_texts() -> frozenset[str]:
    """The quiz answers of tools/reserved_texts.json and every passing answer among the evaluation texts (the
    bare nouns of the attribute cases and quiz 2's unrelated texts are names mini is meant to learn)."""
    quiz_answers = json.loads(RESERVED.read_text(encoding="utf-8"))["texts"]
    return frozenset([*quiz_answers, *held_out_texts(read_texts(EVALUATION_TEXTS))])


def compare(retrained: dict, recorded: dict) -> int:
    """0 if every recorded figure was reproduced exactly, else 1 (and what differs is printed)."""
    names = sorted((set(retrained) | set(recorded)) - set(CIRCUMSTANCES))
    differing = [name for name in names if retrained.get(name) != recorded.get(name)]
    for name in differing:
        print(f"{name}: recorded {recorded.get(name)!r}, retrained {retrained.get(name)!r}")
    print("NOT reproduced:" if differing else "reproduced exactly:", len(names) - len(differing), "of", len(names))
    return 1 if differing else 0


if __name__ == "__main__":
    main()
