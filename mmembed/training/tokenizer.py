"""A small Korean-aware CLIP tokenizer, trained on the course's own English and Korean texts.

CLIP's BPE was learned on English web text: a Korean word falls apart into many byte pieces. Learning new
merges from our captions (what `train_new_from_iterator` does, as the Korean CLIP model card describes)
gives Korean words tokens of their own. We learn the merges with the short loop below rather than with
`train_new_from_iterator`, whose Rust trainer breaks ties between equally frequent pairs differently in
every process: the same texts gave a different vocabulary on each run, and so a different model.

Two traps, both handled here:
- CLIP pools a text at `input_ids.argmax(-1)`, i.e. it assumes the end-of-text token has the highest id
  (`train_new_from_iterator` puts the special tokens first, at ids 0 and 1). Ours are the last two ids.
- A character never seen at the end of a word would become the unknown token, which in CLIP is the
  end-of-text token: every byte exists in both forms ("x" and "x</w>").
"""

from collections import Counter

from transformers import CLIPTokenizer

from ..zoo.clip_bpe import CONTEXT_LENGTH, bytes_to_unicode, clip_tokenizer

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def word_counts(texts: list[str]) -> Counter:
    """Each word of the texts as a tuple of byte-level symbols, the last one marked with "</w>", counted."""
    backend = clip_tokenizer().backend_tokenizer  # CLIP's own normalisation and word splitting
    counts = Counter()
    for text in texts:
        for word, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text)):
            counts[tuple(word[:-1]) + (word[-1] + "</w>",)] += 1
    return counts


def learn_merges(counts: Counter, max_merges: int) -> list[tuple[str, str]]:
    """Byte-pair encoding: merge the most frequent adjacent pair again and again (ties: the smallest pair)."""
    words = dict(counts)
    merges = []
    while len(merges) < max_merges:
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        words = {merge_pair(word, best): count for word, count in words.items()}
    return merges


def merge_pair(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged, i = [], 0
    while i < len(word):
        if word[i : i + 2] == pair:
            merged.append(pair[0] + pair[1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def train_bilingual_tokenizer(texts: list[str], vocab_size: int = 4000) -> CLIPTokenizer:
    """A CLIP tokenizer with merges learned from `texts`; the same texts always give the same tokenizer."""
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    merges = learn_merges(word_counts(texts), max_merges=vocab_size - len(tokens) - len(SPECIAL_TOKENS))
    for first, second in merges:
        if first + second not in tokens:
            tokens.append(first + second)
    tokens += list(SPECIAL_TOKENS)  # highest ids, end-of-text last
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CONTEXT_LENGTH)
