"""Cosine similarity and top-k: ranking pictures for a text (or anything for anything)."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def cosine_similarity_matrix(queries: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """(N, D) x (M, D) -> (N, M): entry [i, j] is the cosine similarity of query i and item j."""
    queries, items = torch.as_tensor(queries), torch.as_tensor(items)
    if queries.ndim == 1:
        queries = queries.unsqueeze(0)
    if items.ndim == 1:
        items = items.unsqueeze(0)
    if queries.shape[-1] != items.shape[-1]:
        raise ValueError(f"임베딩의 길이가 다릅니다: 질의 {tuple(queries.shape)}, 항목 {tuple(items.shape)}.")
    return F.normalize(queries.float(), dim=-1) @ F.normalize(items.float(), dim=-1).T


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k highest scores of a 1-D tensor (or of each row of a 2-D one), with their indices."""
    scores = torch.as_tensor(scores)
    available = scores.shape[-1]
    if not 1 <= k <= available:
        raise ValueError(f"k는 1부터 항목 수({available})까지여야 하는데 {k}입니다.")
    result = torch.topk(scores, k, dim=-1)
    return result.values, result.indices


def search(
    query_embedding: torch.Tensor, item_embeddings: torch.Tensor, names: Sequence[str], k: int = 5
) -> list[tuple[str, float]]:
    """The k items most similar to one query, best first, as (name, cosine similarity) pairs."""
    if len(names) != len(item_embeddings):
        raise ValueError(f"이름은 {len(names)}개인데 임베딩은 {len(item_embeddings)}개입니다.")
    scores = cosine_similarity_matrix(query_embedding, item_embeddings)[0]
    values, indices = top_k(scores, k)
    return [(names[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]
