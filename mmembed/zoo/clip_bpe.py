"""The real CLIP tokenizer, built offline from OpenAI's BPE merges file.

OpenAI's `bpe_simple_vocab_16e6.txt.gz` (MIT licence) ships inside the `open_clip_torch` wheel on PyPI;
a copy lives in `mmembed/data/`. The vocabulary is derived from the merges the way OpenAI's
`SimpleTokenizer` does it, so the ids are exactly those of `openai/clip-vit-base-patch32`
("a photo of a cat" -> 49406, 320, 1125, 539, 320, 2368, 49407).
"""

import gzip
from pathlib import Path

from transformers import CLIPTokenizer

from ..paths import PACKAGE_DATA

BPE_FILE = PACKAGE_DATA / "bpe_simple_vocab_16e6.txt.gz"
BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
CONTEXT_LENGTH = 77
# OpenAI keeps the first 49152 - 256 - 2 merges: 256 byte tokens + 2 special tokens complete the vocabulary.
N_MERGES = 49152 - 256 - 2


def bytes_to_unicode() -> dict[int, str]:
    """Map every byte to a printable character, as GPT-2 and CLIP do, so BPE never sees raw control bytes."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def read_merges(path: Path = BPE_FILE) -> list[tuple[str, str]]:
    lines = gzip.open(path, "rt", encoding="utf-8").read().split("\n")
    return [tuple(line.split()) for line in lines[1 : N_MERGES + 1]]  # line 0 is a version header


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    tokens += ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]  # end-of-text gets the highest id: CLIP pools there
    return {token: index for index, token in enumerate(tokens)}


def clip_tokenizer() -> CLIPTokenizer:
    merges = read_merges()
    return CLIPTokenizer(vocab=build_vocab(merges), merges=merges, model_max_length=CONTEXT_LENGTH)
