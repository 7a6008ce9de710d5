"""Lecture 07's engine: how `mini` is trained (loop, tokenizer, query_forms) and measured (evaluate).

`from mmembed.training import train, augment, ...` reads the loop's names, as lecture 07 and 08 do. The model
zoo (`mmembed.zoo`) never imports this package: loading a model needs none of its training.
"""

from .loop import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGE_SIZE,
    MAX_MADE_UP_WORDS,
    NOISY_QUERY_SHARE,
    QUERY_SHARE,
    Example,
    add_made_up_words,
    augment,
    contrastive_loss,
    course_examples,
    course_syllables,
    descriptions,
    draw_text,
    is_hangul,
    made_up_word,
    mini_config,
    mini_processor,
    new_mini_model,
    pixel_tensor,
    train,
    training_batch,
)

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "IMAGE_SIZE",
    "MAX_MADE_UP_WORDS",
    "NOISY_QUERY_SHARE",
    "QUERY_SHARE",
    "Example",
    "add_made_up_words",
    "augment",
    "contrastive_loss",
    "course_examples",
    "course_syllables",
    "descriptions",
    "draw_text",
    "is_hangul",
    "made_up_word",
    "mini_config",
    "mini_processor",
    "new_mini_model",
    "pixel_tensor",
    "train",
    "training_batch",
]
