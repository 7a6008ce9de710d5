r"""The offline stand-ins for the hub models of lectures 05 and 06: "altclip-tiny", "align-tiny" and "vit-tiny".

Each is a real `transformers` model of the hub model's class, processor included, with a small config and
deterministic random weights, built on first use into models/standins/<name>/ (well under a second). Their
numbers mean nothing; their classes, processors, tokenizer types, input sizes and output dimensions are the
real models', so the shapes a lecture prints are the real ones. Their tokenizers are real
`XLMRobertaTokenizer` (Unigram) and `BertTokenizer` (WordPiece) objects whose vocabularies are built here from
the course texts, since the real ones cannot be downloaded. Which hub model each one replaces, and when, is
in `mmembed.zoo.registry` and `mmembed.zoo.sources`.

One difference cannot be avoided: kakaobrain/vit-large-patch16-384 classifies into the 1000 ImageNet classes,
whose names are not available offline; "vit-tiny" uses the course pictures' categories (images/MANIFEST.csv,
sorted) as its labels instead, so its logits have that many columns, not 1000.

A trap the stand-in shares with kakaobrain/align-base (transformers 5.23): `AlignTextModel.from_pretrained` and
`AlignVisionModel.from_pretrained` load none of an AlignModel checkpoint's weights (its keys start with
"text_model." / "vision_model."), keep random ones and only print a LOAD REPORT. Use
`AlignModel.from_pretrained(...).text_model`, or pass `key_mapping={r"^text_model\.": ""}`.
"""

from pathlib import Path

from transformers import (
    AlignConfig,
    AlignModel,
    AlignProcessor,
    AltCLIPConfig,
    AltCLIPModel,
    AltCLIPProcessor,
    CLIPImageProcessorPil,
    EfficientNetImageProcessorPil,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessorPil,
)

from .corpus import corpus_digest, course_categories
from .course_tokenizers import bert_tokenizer, xlmr_tokenizer
from .random_weights import Builder, fill_deterministically
from .sizes import transformer_sizes

SEED = 20261124
# Bump when a recipe changes, so folders built by an older recipe are rebuilt.
RECIPE_VERSION = "2"


SMALL = transformer_sizes(64, 128, layers=2, heads=2)


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
    model = fill_deterministically(AltCLIPModel(config), SEED, {"logit_scale": config.logit_scale_init_value})
    model.save_pretrained(folder)
    AltCLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=tokenizer).save_pretrained(folder)


def _build_align(folder: Path) -> None:
    tokenizer = bert_tokenizer()
    config = align_config(len(tokenizer))
    model = fill_deterministically(AlignModel(config), SEED, {"temperature": config.temperature_init_value})
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
    model = fill_deterministically(ViTForImageClassification(vit_config(course_categories())), SEED)
    model.save_pretrained(folder)
    ViTImageProcessorPil(
        size={"height": 384, "width": 384}, resample=2, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]
    ).save_pretrained(folder)


def _recipe() -> str:
    return f"{RECIPE_VERSION} {corpus_digest()}"


ALTCLIP_TINY = Builder(build=_build_altclip, recipe=_recipe)
ALIGN_TINY = Builder(build=_build_align, recipe=_recipe)
VIT_TINY = Builder(build=_build_vit, recipe=_recipe)
