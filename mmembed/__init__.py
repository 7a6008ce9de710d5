"""mmembed: what the lectures, quizzes and autograder of the multimodal embeddings course share.

The package, by job (a star marks the modules lectures import; tests/unit/test_imports.py holds them to it):

  The face
    __init__ __main__   `import mmembed` (load_clip, embed_images, search, ...) and `python -m mmembed`
    cli                 * the one command line: search, index, cache, check, download, evaluate, viz
    check               is this machine ready for the course: one verdict per requirement (`python -m mmembed check`)
    viz                 contact sheets of a picture folder with captions (`python -m mmembed viz`)

  Pictures and texts to vectors (lectures 02-04 and 08)
    images              a folder's pictures in natural order (subfolders too: picture_files), loaded as RGB
    texts               check_texts: what a text to embed must be (non-empty strings); the Hangul syllables; no torch
    embedding           embed_images / embed_texts: pictures and texts to embedding vectors
    similarity          cosine similarity, top-k and search: ranking pictures for a text
    precision           * float32 or bfloat16, whichever the hardware computes natively
    fingerprint         which weights a model has in memory: the embedding cache's key and the index's check
    cache               * embed_paths / embed_folder through the embedding cache: no picture is embedded twice
    index               * a FAISS vector index over a folder of pictures: build (resumable), open, search

  Data and ground
    paths               * where the course's files live
    choices             the names a user picks from (precisions, index kinds, languages), for --help, without torch
    manifest            * images/MANIFEST.csv (every column; captions()) and the short texts that go with the pictures
    coyo                * COYO-700M for lecture 06, or its local sample data/coyo-sample
    grading             * GRADING_MODEL: the one model that grades every quiz (MMEMBED_GRADING_MODEL), without torch
    files               write_atomically: a file is replaced whole or not at all
    notes               one-line notes to the user ([mmembed] ...): stdout in Jupyter, stderr in a terminal
    modules             a Python file loaded as a module (a solution, a submission); names imported on first use

  zoo/                  which model a name loads (resolve, course_model) and loading it (load_clip)
    load                load_clip(name): a CLIP-style model and its processor, in eval mode on a device
    registry            every model name the course knows: hub id, stand-in, folder or builder, size, licence
    sources             resolve(name): the hub model, a local folder or its offline stand-in
    hub                 the Hugging Face Hub: reachable or not, the local cache, `download`, MMEMBED_OFFLINE
    standins tiny       the offline stand-ins of lectures 05-06 and the random-weight `tiny`: configs, builders
    sizes               the small CLIPs' sizes, as transformers config keywords
    random_weights      deterministic random weights, and building an offline model's folder once
    clip_bpe            * the real CLIP tokenizer, from OpenAI's BPE merges (mmembed/data)
    course_tokenizers   XLM-R (Unigram) and BERT (WordPiece) tokenizers built from the course texts
    corpus              the course texts and categories those vocabularies come from

  training/             * lecture 07's engine (`from mmembed.training import train, augment, ...`)
    loop                the contrastive loss, augmentation, training batches and `train`
    query_forms         * the pictures' nouns in English and Korean prompt phrases, for training and evaluation
    attributes          a picture's colour or pose beside its names ("a red gazania"), so mini hears modifiers
    tokenizer           the Korean-aware CLIP tokenizer of `mini`, learned from the course texts
    evaluate            * recall@k, zero-shot and query forms: how well a model finds the course pictures
    validity            held-out rates: attribute queries, quiz 2's and quiz 7's honest and unrelated texts
    text_match          when two texts count as the same for the held-out rule (articles, plurals, particles)

  scale/                past one process: `mmembed index --engine ray` on Ray Data, and clip-retrieval's layout
    cluster             importing Ray (the optional `scale` extra) quietly; a local cluster started and stopped
    ray_engine          Ray Data: the file list, map_batches with a model-holding class, shards written as they end
    shards              the shard plan and shards.json, which resumes a killed build
    layout              img_emb/img_emb_N.npy + metadata/metadata_N.parquet, as clip-retrieval 2.45.0 writes them
    build               build_index_with_ray and index_from_embeddings: what `python -m mmembed index` calls

  Last term's import paths and commands, kept one more term (CHANGELOG.md)
    moved               an old module name gives its new module (one FutureWarning); an old command runs the new one
    models standins registry hub clip_bpe query_forms evaluate  the old names
"""

from .modules import imported_on_first_use

# The public functions, imported on first use (PEP 562): `import mmembed` stays quick, and so do
# `python -m mmembed --help` and its one-line errors, until a function that needs torch is called.
_PUBLIC = {
    "load_clip": "mmembed.zoo.load",
    "pick_device": "mmembed.zoo.load",
    "course_model": "mmembed.zoo.sources",
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
__getattr__, __dir__ = imported_on_first_use(__name__, _PUBLIC)
