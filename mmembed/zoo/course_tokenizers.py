"""Tokenizers whose vocabularies are built from the course texts, for the offline stand-ins of lectures 05-06.

The real vocabularies cannot be downloaded offline, so these are real `transformers` tokenizers of the real
types with vocabularies learned here: `xlmr_tokenizer` (Unigram, as BAAI/AltCLIP's XLM-R) and `bert_tokenizer`
(WordPiece, as kakaobrain/align-base's BERT). The same texts always give the same tokenizer.
"""

import math
from collections import Counter

from transformers import BertTokenizer, XLMRobertaTokenizer

from ..texts import HANGUL_SYLLABLES
from .corpus import course_texts

# Characters that get a token even when the course texts lack them, so a student's own query never becomes
# unknown tokens: printable ASCII, and Hangul (whole syllables for XLM-R; conjoining jamo for uncased BERT,
# whose normaliser decomposes each syllable into jamo, as bert-base-uncased does).
ASCII = [chr(c) for c in range(0x21, 0x7F)]
HANGUL_JAMO = [chr(c) for c in range(0x1100, 0x1200)]


def _by_count(counts: Counter, minimum: int, limit: int) -> list[str]:
    """The pieces seen at least `minimum` times, most frequent first (ties: the string), at most `limit`."""
    frequent = [piece for piece, count in counts.items() if count >= minimum]
    return sorted(frequent, key=lambda piece: (-counts[piece], piece))[:limit]


# ---------------------------------------------------------------- XLM-R style Unigram tokenizer (AltCLIP)

XLMR_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")  # ids 0-3, as in xlm-roberta; <mask> is the last id


def xlmr_tokenizer(texts: list[str] | None = None, max_pieces: int = 2500, max_len: int = 8) -> XLMRobertaTokenizer:
    """An `XLMRobertaTokenizer` whose Unigram pieces and scores (log frequencies) come from the course texts.

    Pieces: every character (course texts, printable ASCII, every Hangul syllable) and the most frequent
    substrings of words ("▁고양이", "▁cat", "양이"). Same texts, same tokenizer, in every process.
    """
    texts = course_texts() if texts is None else texts
    words = Counter("▁" + word for text in texts for word in text.split())
    chars, pieces = Counter(), Counter()
    for word, count in words.items():
        for start in range(len(word)):
            chars[word[start]] += count
            for end in range(start + 2, min(len(word), start + max_len) + 1):
                pieces[word[start:end]] += count
    chosen = {piece: pieces[piece] for piece in _by_count(pieces, minimum=2, limit=max_pieces)}
    chosen.update(chars)
    total = sum(chosen.values())
    scores = {piece: math.log(count / total) for piece, count in chosen.items()}
    rare = min(scores.values()) - 1.0  # characters not in the texts: usable, never preferred
    for char in ASCII + [chr(code) for code in HANGUL_SYLLABLES]:
        scores.setdefault(char, rare)
    ordered = sorted(scores, key=lambda piece: (-scores[piece], piece))
    vocab = [(token, 0.0) for token in XLMR_SPECIALS] + [(piece, scores[piece]) for piece in ordered]
    vocab.append(("<mask>", 0.0))
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=512)


# ---------------------------------------------------------------- BERT WordPiece tokenizer (ALIGN)

# bert-base-uncased's layout: [PAD]=0, [unused0..98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
BERT_SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_tokenizer(texts: list[str] | None = None, max_pieces: int = 2500, max_len: int = 8) -> BertTokenizer:
    """An uncased `BertTokenizer` whose WordPiece vocabulary comes from the course texts.

    Vocabulary: every character, alone and as "##" continuation; the words of the texts; the most frequent
    word beginnings and "##" continuations. Words are taken after BERT's own normalisation and splitting.
    """
    texts = course_texts() if texts is None else texts
    backend = BertTokenizer(vocab={token: i for i, token in enumerate(BERT_SPECIALS)}).backend_tokenizer
    words = Counter(
        word
        for text in texts
        for word, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text))
    )
    chars, beginnings, continuations = Counter(), Counter(), Counter()
    for word, count in words.items():
        for start in range(len(word)):
            chars[word[start]] += count
            for end in range(start + 2, min(len(word), start + max_len) + 1):
                (beginnings if start == 0 else continuations)[word[start:end]] += count
    lowercase_ascii = [char for char in ASCII if not char.isupper()]  # what the uncased normaliser can output
    alphabet = sorted(set(chars) | set(lowercase_ascii) | set(HANGUL_JAMO))
    pieces = alphabet + ["##" + char for char in alphabet]
    pieces += _by_count(words, minimum=1, limit=max_pieces)
    pieces += _by_count(beginnings, minimum=3, limit=max_pieces // 2)
    pieces += ["##" + piece for piece in _by_count(continuations, minimum=3, limit=max_pieces // 2)]
    vocab = {token: i for i, token in enumerate(BERT_SPECIALS)}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    return BertTokenizer(vocab=vocab, do_lower_case=True, model_max_length=512)
