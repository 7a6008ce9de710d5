"""Training a small CLIP from scratch with the contrastive loss: the `mini` model and lecture 07.

Each picture comes with three kinds of text: its descriptions (captions, category words), its queries (its
nouns in prompt phrases, as students type them: see `query_forms`) and its attribute phrases (its colour, pose or part
beside its names: see `attributes`). A training step draws one text per picture (`draw_text`), for pictures of
which about half have a sibling of the same category in the batch (`sibling_batch`), so that an attribute
phrase has to tell them apart.

Texts reserved for evaluation or for a quiz's answer are never trained: `course_examples(reserved=...)` drops
every text equal to one of them up to articles, plurals, particles and spacing (`text_match.match_key`).

No torchvision here, so the picture augmentation (random crop, flip, colour) is written with PIL.
"""

import random
import string
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance
from tqdm.auto import tqdm
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from ..images import load_image
from ..manifest import Picture, category_query_en, read_manifest, read_short_texts
from ..texts import HANGUL_SYLLABLES, is_hangul
from ..zoo.sizes import clip_config, transformer_sizes
from .attributes import attribute_key, attribute_phrases, meaningful_words
from .query_forms import training_queries
from .text_match import match_key
from .tokenizer import train_bilingual_tokenizer

IMAGE_SIZE = 96
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
ATTRIBUTE_SHARE = 0.3  # how often a picture with attribute phrases gets one of them
QUERY_SHARE = 0.6  # of the other draws, how often a picture gets one of its queries instead of a description
SIBLING_SHARE = 0.5  # share of a batch made of pictures drawn to sit beside one of their category
NOISY_QUERY_SHARE = 0.5  # how often a query gets made-up words inserted (see `add_made_up_words`)
MAX_MADE_UP_WORDS = 2


@dataclass
class Example:
    """One picture, the texts that describe it (captions first: English, then Korean; category words), its
    queries (its nouns in prompt phrases) and its attribute phrases, both languages."""

    name: str
    image: Image.Image
    texts: list[str]
    queries: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    category: str = ""

    def __post_init__(self):
        self._all = frozenset(self.texts) | frozenset(self.queries) | frozenset(self.attributes)

    def describes(self, text: str) -> bool:
        return text in self._all


def descriptions(picture: Picture, short: dict) -> list[str]:
    """The picture's captions (English, then Korean), its category's prompt and words."""
    texts = [picture.caption_en, picture.caption_ko, category_query_en(picture.category)]
    english, korean = short[("category", picture.category)]
    return texts + english + korean


def course_examples(preview_size: int = 128, reserved: frozenset[str] = frozenset()) -> list[Example]:
    """The 210 course pictures (downscaled once, for speed) with their English and Korean texts, queries and
    attribute phrases, none of them equal to a `reserved` text (up to articles, plurals, particles, spacing)."""
    reserved_keys = {match_key(text) for text in reserved}
    reserved_attribute_keys = {attribute_key(text) for text in reserved}

    def allowed(texts: list[str]) -> list[str]:
        return [text for text in texts if match_key(text) not in reserved_keys]

    def allowed_attributes(texts: list[str]) -> list[str]:
        return [text for text in allowed(texts) if attribute_key(text) not in reserved_attribute_keys]

    short = read_short_texts()
    examples = []
    for picture in read_manifest():
        image = load_image(picture.file)
        image.thumbnail((preview_size * 3, preview_size), Image.Resampling.BICUBIC)  # short side ~preview_size
        examples.append(
            Example(
                picture.path,
                image,
                allowed(descriptions(picture, short)),
                allowed(training_queries(picture.path, picture.category)),
                allowed_attributes(attribute_phrases(picture)),
                picture.category,
            )
        )
    return examples


def mini_config(vocab_size: int) -> CLIPConfig:
    return clip_config(
        vocab_size, image_size=IMAGE_SIZE, patch_size=16, tower=transformer_sizes(128, 512, layers=3, heads=4)
    )


def mini_processor(tokenizer) -> CLIPProcessor:
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    return CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def new_mini_model(examples: list[Example], seed: int = 0) -> tuple[CLIPModel, CLIPProcessor]:
    """An untrained small CLIP whose tokenizer was trained on every text of the examples, queries included.

    The queries matter: a Korean noun is written with its particle (망치가, 망치를, 망치의), and a tokenizer
    that learned "망치" only as a word of its own would cut 망치가 into syllable pieces unlike it.
    """
    tokenizer = train_bilingual_tokenizer([t for e in examples for t in [*e.texts, *e.queries, *e.attributes]])
    torch.manual_seed(seed)
    return CLIPModel(mini_config(len(tokenizer))), mini_processor(tokenizer)


def augment(image: Image.Image, rng: random.Random) -> Image.Image:
    """A random crop (60-100% of the area), a random flip and a little colour change."""
    width, height = image.size
    area = rng.uniform(0.6, 1.0) * width * height
    ratio = rng.uniform(3 / 4, 4 / 3)
    crop_w = min(width, round((area * ratio) ** 0.5))
    crop_h = min(height, round((area / ratio) ** 0.5))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    image = image.crop((left, top, left + crop_w, top + crop_h)).resize(
        (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR
    )
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhance(image).enhance(rng.uniform(0.75, 1.25))
    return image


def pixel_tensor(images: list[Image.Image]) -> torch.Tensor:
    """(N, 3, H, W), normalised the way CLIP's image processor does it."""
    array = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in images])
    array = (array - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def contrastive_loss(logits_per_text: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric loss: cross-entropy from texts to images and from images to texts, averaged.

    `targets[i, j]` is 1 where text i describes picture j. CLIP's own targets are the identity matrix; ours
    allow several matches, because two pictures of one category can share a text like "a photo of a bird".
    """
    text_to_image = F.cross_entropy(logits_per_text, targets / targets.sum(1, keepdim=True))
    image_to_text = F.cross_entropy(logits_per_text.T, targets.T / targets.T.sum(1, keepdim=True))
    return (text_to_image + image_to_text) / 2


def draw_text(
    example: Example, rng: random.Random, query_share: float, attribute_share: float = 0.0
) -> tuple[str, bool]:
    """(text, whether it is a query): an attribute phrase `attribute_share` of the time (if the picture has any),
    else a query `query_share` of the time (if it has any), else a description.

    With both shares 0 no random number is spent on the choice: the texts are those drawn before queries existed.
    """
    if example.attributes and attribute_share and rng.random() < attribute_share:
        return rng.choice(example.attributes), False
    if example.queries and query_share and rng.random() < query_share:
        return rng.choice(example.queries), True
    return rng.choice(example.texts), False


@cache
def course_syllables() -> tuple[str, ...]:
    """The Hangul syllables of the course's Korean captions, in code point order."""
    return tuple(sorted({c for picture in read_manifest() for c in picture.caption_ko if is_hangul(c)}))


def made_up_word(rng: random.Random, korean: bool) -> str:
    """A word nobody taught mini: 2-8 random Latin letters, or 1-3 Hangul syllables, each one half the time a
    syllable of the course's captions (a new word is mostly made of common syllables: 보여, 찍힌) and half the
    time any of the 11,172."""
    while True:  # never a word that means something here ("red", "빨간"): the model must not learn to ignore it
        if not korean:
            word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 8)))
        else:
            word = "".join(
                rng.choice(course_syllables()) if rng.random() < 0.5 else chr(rng.choice(HANGUL_SYLLABLES))
                for _ in range(rng.randint(1, 3))
            )
        if word not in meaningful_words():
            return word


def add_made_up_words(text: str, rng: random.Random) -> str:
    """The text with 1 to MAX_MADE_UP_WORDS made-up words put between its words, in the text's script.

    They stand for the words of a query mini never saw ("show me", "찍힌", "보여 줘"): such a word falls apart into
    tokens training never touched, and without this practice their random embeddings drown the query's noun.
    """
    korean = any(map(is_hangul, text))
    words = text.split(" ")
    for _ in range(rng.randint(1, MAX_MADE_UP_WORDS)):
        words.insert(rng.randint(0, len(words)), made_up_word(rng, korean))
    return " ".join(words)


def sibling_batch(examples: list[Example], order: list[int], batch_size: int, rng: random.Random) -> list[int]:
    """Take a batch from the front of `order` (which it shortens): SIBLING_SHARE of it are pictures taken in
    order, each followed by a random other picture of its category, when it has one not yet in the batch."""
    by_category: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_category.setdefault(example.category, []).append(i)
    batch: list[int] = []
    while len(batch) < batch_size:
        index = order.pop(0)
        if index in batch:
            continue
        batch.append(index)
        if len(batch) < batch_size * SIBLING_SHARE:
            siblings = [j for j in by_category[examples[index].category] if j not in batch]
            if siblings:
                batch.append(rng.choice(siblings))
    return batch[:batch_size]


def training_batch(examples, indices, processor, rng, query_share: float = 0.0, attribute_share: float = 0.0):
    """Augmented pictures, one random text per picture, and which texts match which pictures.

    `attribute_share` and `query_share` say how often a text is an attribute phrase or a query (see `draw_text`;
    `train` uses ATTRIBUTE_SHARE and QUERY_SHARE), NOISY_QUERY_SHARE of the queries get made-up words (see
    `add_made_up_words`); descriptions and attribute phrases stay as they are. The defaults draw descriptions only.
    """
    drawn = [draw_text(examples[i], rng, query_share, attribute_share) for i in indices]
    texts = [text for text, _ in drawn]
    shown = [
        add_made_up_words(text, rng) if is_query and rng.random() < NOISY_QUERY_SHARE else text
        for text, is_query in drawn
    ]
    pixels = pixel_tensor([augment(examples[i].image, rng) for i in indices])
    tokens = processor.tokenizer(shown, padding=True, truncation=True, return_tensors="pt")
    # text a matches picture b when b lists it: its own picture, and any other one that shares the text
    # (two birds both list "a bird", four trucks "a photo of a truck"), whichever text b happened to draw
    matches = torch.tensor([[float(examples[j].describes(text)) for j in indices] for text in texts])
    return pixels, tokens, matches


def train(
    model,
    processor,
    examples,
    steps: int,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    query_share: float = QUERY_SHARE,
    attribute_share: float = ATTRIBUTE_SHARE,
    siblings: bool = True,
) -> list[float]:
    """Train in place with AdamW and a warm-up + cosine learning rate; returns the loss of every step."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.05)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(step, steps) / steps))
    )
    model.train()
    losses = []
    order: list[int] = []
    for _ in tqdm(range(steps), desc="Training", disable=not progress):
        if len(order) < 2 * batch_size:  # a new shuffled pass over the pictures
            order += rng.sample(range(len(examples)), len(examples))
        if siblings:
            indices = sibling_batch(examples, order, batch_size, rng)
        else:
            indices, order = order[:batch_size], order[batch_size:]
        pixels, tokens, targets = training_batch(examples, indices, processor, rng, query_share, attribute_share)
        output = model(pixel_values=pixels, **tokens)
        loss = contrastive_loss(output.logits_per_text, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    return losses
