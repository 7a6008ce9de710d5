"""mmembed: what the lectures, quizzes and autograder of the multimodal embeddings course share.

Modules, one line each (from the student's calls down to the files):
    cli, __main__        `python -m mmembed {search,index,download,cache,check}`
    check                `python -m mmembed check`: one [OK]/[FAIL] line per requirement of the course
    models               load_clip(name): a CLIP-style model and its processor, chosen by name
    standins             resolve(name) and course_model(hub_id): the real model, a local folder or a stand-in
    registry             every model name the course knows: hub id, stand-in, folder or builder, size, licence
    hub                  the Hugging Face Hub: reachable or not, the local cache, `download`, MMEMBED_OFFLINE
    standin_models       the stand-ins of lectures 05-06 (altclip-tiny, align-tiny, vit-tiny): configs, builders
    tiny                 the random-weight `tiny` CLIP for plumbing tests: config and builder
    model_sizes          the sizes of the small CLIPs and stand-ins, as transformers config keywords
    random_weights       deterministic random weights, and building an offline model's folder once
    course_tokenizers    XLM-R (Unigram) and BERT (WordPiece) tokenizers built from the course texts
    corpus               the course texts and categories those vocabularies come from
    clip_bpe             the real CLIP tokenizer, from OpenAI's BPE merges (mmembed/data)
    bilingual_tokenizer  the Korean-aware CLIP tokenizer of `mini`, learned from the course texts
    training             the contrastive loss and the training of `mini` (lecture 07)
    evaluate             recall@k, zero-shot and the dog group: how well a model finds the course pictures
    query_forms          the pictures' nouns in English and Korean prompt phrases, for training and evaluation
    embedding            embed_images / embed_texts: pictures and texts to embedding vectors
    texts                check_texts: what a text to embed must be (non-empty strings), without torch
    precision            float32 or bfloat16, whichever the hardware computes natively
    cache                embed_folder and its embedding cache, so that no picture is embedded twice
    index                a FAISS vector index over a folder of pictures: build (resumable), open, search
    similarity           cosine similarity, top-k and search: ranking pictures for a text
    images               a folder's pictures in natural order (subfolders too: picture_files), loaded as RGB
    manifest             images/MANIFEST.csv and the short texts that go with the pictures
    coyo                 COYO-700M for lecture 06, or its local sample data/coyo-sample
    viz                  contact sheets of a picture folder with captions
    modules              loading a Python file as a module (a solution, a submission)
    paths                where the course's files live
    files                write_atomically: a file is replaced whole or not at all
    notes                one-line notes to the user ([mmembed] ...): stdout in Jupyter, stderr in a terminal
"""

import importlib

# The public functions, imported on first use (PEP 562): `import mmembed` stays quick, and so do
# `python -m mmembed --help` and its one-line errors, until a function that needs torch is called.
_PUBLIC = {
    "load_clip": "mmembed.models",
    "pick_device": "mmembed.models",
    "course_model": "mmembed.standins",
    "load_image": "mmembed.images",
    "load_images": "mmembed.images",
    "embed_images": "mmembed.embedding",
    "embed_texts": "mmembed.embedding",
    "embed_folder": "mmembed.cache",
    "resolve_precision": "mmembed.precision",
    "cosine_similarity_matrix": "mmembed.similarity",
    "top_k": "mmembed.similarity",
    "search": "mmembed.similarity",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'mmembed' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
