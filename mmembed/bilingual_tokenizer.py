"""A small Korean-aware CLIP tokenizer, trained on the course's own English and Korean texts.

CLIP's BPE was learned on English web text: a Korean word falls apart into many byte pieces. Retraining the
merges on our captions (`train_new_from_iterator`, as the Korean CLIP model card describes) gives Korean
words tokens of their own. Two traps, both handled here:
- CLIP pools a text at `input_ids.argmax(-1)`, i.e. it assumes the end-of-text token has the highest id, but
  the retrained vocabulary puts the special tokens first (id 0 and 1). We renumber them to the top.
- A character the retraining never saw at the end of a word would become the unknown token, which in CLIP
  is the end-of-text token: every byte must exist in both forms ("x" and "x</w>").
"""

import json

from transformers import CLIPTokenizer

from .clip_bpe import CONTEXT_LENGTH, bytes_to_unicode, clip_tokenizer

SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def train_bilingual_tokenizer(texts: list[str], vocab_size: int = 4000) -> CLIPTokenizer:
    """Retrain CLIP's BPE merges on `texts`; the end-of-text token keeps the highest id."""
    trained = clip_tokenizer().train_new_from_iterator(texts, vocab_size=vocab_size, show_progress=False)
    state = json.loads(trained.backend_tokenizer.to_str())["model"]
    merges = [tuple(pair) for pair in state["merges"]]
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    tokens += [t for t, _ in sorted(state["vocab"].items(), key=lambda item: item[1]) if t not in tokens and t not in SPECIAL_TOKENS]
    tokens += list(SPECIAL_TOKENS)  # highest ids, end-of-text last
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CONTEXT_LENGTH)
