r"""The offline stand-ins for the hub models of lectures 05 and 06: "altclip-tiny", "align-tiny" and "vit-tiny".

Each is a real `transformers` model of the hub model's class, processor included, with a small config and
deterministic random weights, built on first use into models/standins/<name>/ (well under a second). Their
numbers mean nothing; their classes, processors, tokenizer types, input sizes and output dimensions are the
real models', so the shapes a lecture prints are the real ones. Their tokenizers are real
`XLMRobertaTokenizer` (Unigram) and `BertTokenizer` (WordPiece) objects whose vocabularies are built here from
the course texts, since the real ones cannot be downloaded. Which hub model each one replaces, and when, is
in `mmembed.registry` and `mmembed.standins`.

One difference cannot be avoided: kakaobrain/vit-large-patch16-384 classifies into the 1000 ImageNet classes,
whose names are not available offline; "vit-tiny" uses the course pictures' categories (images/MANIFEST.csv,
sorted) as its labels instead, so its logits have that many columns, not 1000.

A trap the stand-in shares with kakaobrain/align-base (transformers 5.23): `AlignTextModel.from_pretrained` and
`AlignVisionModel.from_pretrained` load none of an AlignModel checkpoint's weights (its keys start with
"text_model." / "vision_model."), keep random ones and only print a LOAD REPORT. Use
`AlignModel.from_pretrained(...).text_model`, or pass `key_mapping={r"^text_model\.": ""}`.
"""

import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AlignConfig,
    AlignModel,
    AlignProcessor,
    AltCLIPConfig,
    AltCLIPModel,
    AltCLIPProcessor,
    BertTokenizer,
    CLIPImageProcessorPil,
    EfficientNetImageProcessorPil,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessorPil,
    XLMRobertaTokenizer,
)

from .manifest import category_query_en, read_manifest, read_short_texts
from .random_weights import Builder, fill_parameters, seeded_normal

SEED = 20261124
# Bump when a recipe changes, so folders built by an older recipe are rebuilt.
RECIPE_VERSION = "2"


# ---------------------------------------------------------------- the course texts the vocabularies come from


def course_categories() -> list[str]:
    """The course pictures' categories, sorted: the labels of "vit-tiny"."""
    return sorted({picture.category for picture in read_manifest()})


def course_texts() -> list[str]:
    """Every English and Korean caption and short text of the course, plus CLIP's English prompt per category."""
    pictures = read_manifest()
    texts = [p.caption_en for p in pictures] + [p.caption_ko for p in pictures]
    for english, korean in read_short_texts().values():
        texts += english + korean
    texts += [category_query_en(category) for category in course_categories()]
    return texts


def _inputs_digest() -> str:
    """Changes when the texts or categories change, so the stand-ins are rebuilt from the new ones."""
    return hashlib.sha256("\n".join(course_texts() + course_categories()).encode()).hexdigest()[:12]


# Characters that get a token even when the course texts lack them, so a student's own query never becomes
# unknown tokens: printable ASCII, and Hangul (whole syllables for XLM-R; conjoining jamo for uncased BERT,
# whose normaliser decomposes each syllable into jamo, as bert-base-uncased does).
ASCII = [chr(c) for c in range(0x21, 0x7F)]
HANGUL_SYLLABLES = [chr(c) for c in range(0xAC00, 0xD7A4)]
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
    for char in ASCII + HANGUL_SYLLABLES:
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


# ---------------------------------------------------------------- the stand-in models


def _fill_deterministically(model: torch.nn.Module, constants: dict[str, float]) -> torch.nn.Module:
    """Seeded N(0, 0.02) weights, zero biases, identity norms (BatchNorm statistics too), `constants` by name."""
    norm_types = (torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._BatchNorm)
    norms = {name for name, module in model.named_modules() if isinstance(module, norm_types)}
    # Convolutions get He's std, sqrt(2 / fan_in): with 0.02, EfficientNet's 20-odd convolutions shrink a
    # picture's signal to ~1e-18 and the image embedding to numerical noise.
    convolutions = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Conv2d)}

    def value(name: str, shape: tuple[int, ...]) -> np.ndarray:
        owner, _, leaf = name.rpartition(".")
        if name in constants:
            return np.full(shape, constants[name], dtype=np.float32)
        if owner in norms:
            return np.full(shape, 1.0 if leaf == "weight" else 0.0, dtype=np.float32)
        if leaf == "bias":
            return np.zeros(shape, dtype=np.float32)
        if owner in convolutions:
            return seeded_normal(name, shape, SEED, std=math.sqrt(2.0 / math.prod(shape[1:])))
        return seeded_normal(name, shape, SEED)

    fill_parameters(model, value)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()  # mean 0, variance 1: in eval mode BatchNorm only applies its weight and bias
    return model


SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2)


def altclip_config(vocab_size: int) -> AltCLIPConfig:
    """BAAI/AltCLIP's sizes where the lecture sees them (768-d embeddings, 224 px, patch 14), small elsewhere."""
    text = dict(
        SMALL,
        vocab_size=vocab_size,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        project_dim=768,
    )
    vision = dict(SMALL, image_size=224, patch_size=14, projection_dim=768)
    return AltCLIPConfig(text_config=text, vision_config=vision, projection_dim=768)


def align_config(vocab_size: int) -> AlignConfig:
    """kakaobrain/align-base's sizes where the lecture sees them (640-d embeddings, 289 px, 640x9x9 last
    feature map), with a 2-layer BERT and a 5-block EfficientNet instead of BERT-base and EfficientNet-B7."""
    text = dict(SMALL, vocab_size=vocab_size, max_position_embeddings=512, type_vocab_size=2, pad_token_id=0)
    vision = dict(
        image_size=289,
        width_coefficient=1.0,
        depth_coefficient=1.0,
        hidden_dim=640,
        in_channels=[32, 16, 24, 40, 80],
        out_channels=[16, 24, 40, 80, 640],
        kernel_sizes=[3, 3, 5, 3, 3],
        strides=[1, 2, 2, 2, 2],
        num_block_repeats=[1, 1, 1, 1, 1],
        expand_ratios=[1, 6, 6, 6, 1],
        depthwise_padding=[],
    )
    return AlignConfig(text_config=text, vision_config=vision, projection_dim=640)


def vit_config(labels: list[str]) -> ViTConfig:
    """kakaobrain/vit-large-patch16-384's input (384 px, patch 16: 577 tokens), 64-d and 2 layers, course labels."""
    return ViTConfig(
        **SMALL,
        image_size=384,
        patch_size=16,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )


def _build_altclip(folder: Path) -> None:
    tokenizer = xlmr_tokenizer()
    config = altclip_config(len(tokenizer))
    model = _fill_deterministically(AltCLIPModel(config), {"logit_scale": config.logit_scale_init_value})
    model.save_pretrained(folder)
    AltCLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=tokenizer).save_pretrained(folder)


def _build_align(folder: Path) -> None:
    tokenizer = bert_tokenizer()
    config = align_config(len(tokenizer))
    model = _fill_deterministically(AlignModel(config), {"temperature": config.temperature_init_value})
    model.save_pretrained(folder)
    image_processor = EfficientNetImageProcessorPil(  # kakaobrain/align-base's preprocessor_config.json
        size={"height": 346, "width": 346},
        crop_size={"height": 289, "width": 289},
        do_center_crop=True,
        resample=2,
        rescale_factor=1 / 127.5,
        rescale_offset=True,
        do_normalize=False,
        include_top=False,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    AlignProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


def _build_vit(folder: Path) -> None:
    model = _fill_deterministically(ViTForImageClassification(vit_config(course_categories())), {})
    model.save_pretrained(folder)
    ViTImageProcessorPil(
        size={"height": 384, "width": 384}, resample=2, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]
    ).save_pretrained(folder)


def _recipe() -> str:
    return f"{RECIPE_VERSION} {_inputs_digest()}"


ALTCLIP_TINY = Builder(build=_build_altclip, recipe=_recipe)
ALIGN_TINY = Builder(build=_build_align, recipe=_recipe)
VIT_TINY = Builder(build=_build_vit, recipe=_recipe)
