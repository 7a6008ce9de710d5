"""The sizes of the course's small CLIP models (`tiny`, `mini`) and stand-ins, in the words of transformers' configs."""

from transformers import CLIPConfig

from .clip_bpe import CONTEXT_LENGTH


def transformer_sizes(width: int, feed_forward: int, layers: int, heads: int) -> dict:
    """One transformer tower's sizes as config keywords."""
    return dict(hidden_size=width, intermediate_size=feed_forward, num_hidden_layers=layers, num_attention_heads=heads)


def clip_config(
    vocab_size: int, image_size: int, patch_size: int, tower: dict, projection_dim: int = 512
) -> CLIPConfig:
    """A CLIP whose text and vision towers both have the sizes `tower` (see `transformer_sizes`), CLIP's
    77-token context, and the last two token ids of the vocabulary as <|startoftext|> and <|endoftext|>
    (which also pads), as in CLIP's tokenizer."""
    text = dict(
        tower,
        vocab_size=vocab_size,
        max_position_embeddings=CONTEXT_LENGTH,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    vision = dict(tower, image_size=image_size, patch_size=patch_size)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection_dim)
