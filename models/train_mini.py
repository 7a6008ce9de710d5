"""Train the offline `mini` CLIP on the course pictures and save it to models/mini/.

    python models/train_mini.py [--steps 1500] [--out models/mini]

Deterministic for a given machine (fixed seeds, 2 threads); about 10 minutes on 2 CPU cores.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from mmembed.evaluate import evaluate  # noqa: E402
from mmembed.paths import MODELS_DIR  # noqa: E402
from mmembed.training import course_examples, new_mini_model, train  # noqa: E402

SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "mini")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
