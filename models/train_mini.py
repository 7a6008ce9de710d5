"""Train the offline `mini` CLIP on the course pictures and save it to models/mini/.

    python models/train_mini.py [--steps 1500] [--out models/mini]
    python models/train_mini.py --check     # retrain elsewhere; compare with the committed metrics

Deterministic (fixed seeds, 2 threads, a tokenizer learned without random tie-breaks); about 7 minutes on
2 CPU cores. --check exits non-zero if a figure differs from models/mini/metrics.json by more than 0.02.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from mmembed.evaluate import evaluate  # noqa: E402
from mmembed.paths import MODELS_DIR  # noqa: E402
from mmembed.training import course_examples, new_mini_model, train  # noqa: E402

SEED = 0
TOLERANCE = 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "mini")
    parser.add_argument("--check", action="store_true", help="train into a temporary folder and compare")
    args = parser.parse_args()
    if args.check:
        args.out = Path(tempfile.mkdtemp(prefix="mini-check-"))

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    started = time.monotonic()
    examples = course_examples()
    model, processor = new_mini_model(examples, seed=SEED)
    losses = train(model, processor, examples, steps=args.steps, seed=SEED)
    minutes = (time.monotonic() - started) / 60

    model.save_pretrained(args.out)
    processor.save_pretrained(args.out)
    figures = evaluate(model, processor)
    record = {"steps": args.steps, "seed": SEED, "final_loss": losses[-1], "minutes": round(minutes, 1), **figures}
    (args.out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    if args.check:
        sys.exit(compare_with_committed(figures))


def compare_with_committed(figures: dict[str, float]) -> int:
    committed = json.loads((MODELS_DIR / "mini" / "metrics.json").read_text())
    differing = {
        name: (committed[name], value) for name, value in figures.items() if abs(committed[name] - value) > TOLERANCE
    }
    for name, (before, now) in differing.items():
        print(f"{name}: committed {before:.3f}, retrained {now:.3f}")
    print("reproduced within", TOLERANCE if not differing else f"NOT reproduced within {TOLERANCE}")
    return 1 if differing else 0


if __name__ == "__main__":
    main()
