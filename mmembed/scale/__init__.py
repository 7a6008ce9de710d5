"""Past one process: `mmembed index` on a Ray cluster, and embeddings in the layout clip-retrieval writes.

    cluster       importing Ray (an optional extra) quietly, starting or joining a cluster, stopping what it started
    ray_engine    Ray Data: the file list, map_batches with a model-holding class, shards written as they finish
    shards        the shard plan and shards.json, which resumes a killed build
    layout        img_emb/img_emb_N.npy + metadata/metadata_N.parquet (clip-retrieval 2.45.0), written and read
    build         build_index_with_ray and index_from_embeddings: what `python -m mmembed index` calls

Nothing here imports Ray until a function that needs it is called.
"""

from .build import RayBuildReport, build_index_with_ray, index_from_embeddings
from .cluster import RayMissingError

__all__ = ["RayBuildReport", "RayMissingError", "build_index_with_ray", "index_from_embeddings"]
