"""How a model is identified: a label for people, and a fingerprint of its weights as they are in memory.

The fingerprint is a SHA-256 of every parameter and buffer's name, shape and dtype and a strided sample of its
values (PARAMETER_SAMPLES per tensor). It is cheap (a few ms for ViT-B/32), it changes when training changes the
model after loading, and the same weights loaded under another name (`tiny`, or tiny's folder) have the same one.

Two stores keep it, for different reasons:
- the embedding cache folds it into its settings key, beside what else changes an embedding (mmembed.cache);
- a saved index (index.json) keeps it to refuse queries embedded by another model (mmembed.index).
A cache entry is cheap to recompute, so the cache may change its key at will; an index is not. That is why the
index stores this fingerprint alone and never the cache's key: a change to the cache never invalidates an index.
A change to how the fingerprint is computed (what is sampled, how many values) changes every fingerprint: bump
FINGERPRINT_VERSION with it, so an index saved before is refused for its old fingerprint, not for "another model".
"""

import hashlib

import torch

FINGERPRINT_VERSION = 1  # bump when parameter_sample_sha256 computes something else for the same weights
PARAMETER_SAMPLES = 256  # values read from each parameter tensor


def parameter_sample_sha256(model) -> str:
    """A hash of every parameter and buffer's name, shape, dtype and a strided sample of its values."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // PARAMETER_SAMPLES)].to("cpu", torch.float64)
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(sample.numpy().tobytes())
    return digest.hexdigest()


def model_fingerprint(model) -> dict:
    """{"version": FINGERPRINT_VERSION, "sha256": ...}: what the cache key and index.json store.

    Two fingerprints of the same version are equal exactly when the weights in memory are (up to the sample);
    fingerprints of different versions say nothing about each other."""
    return {"version": FINGERPRINT_VERSION, "sha256": parameter_sample_sha256(model)}


def model_label(model) -> str:
    """The model's name for people: the course name load_clip gave it, else the folder or hub id it came from."""
    return getattr(model, "mmembed_name", None) or str(getattr(model, "name_or_path", "") or type(model).__name__)
