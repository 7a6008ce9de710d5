"""The choices a user names: number formats, index kinds, caption languages, index engines. One home for the
command line and the library.

`python -m mmembed --help` lists them without importing torch or faiss (seconds to import), so they live here, in
a module that imports nothing, and precision.py, index.py and cli.py all take them from here.
"""

PRECISIONS = ("fp32", "bf16", "auto")  # float32, bfloat16, or whichever of the two the hardware computes natively
INDEX_KINDS = ("auto", "flat", "hnsw")  # exact, approximate, or chosen by the number of pictures
LANGUAGES = ("en", "ko")  # of the course's captions, short texts and query phrases
ENGINES = ("local", "ray")  # one process on this computer, or Ray Data workers on a cluster (mmembed.scale)
