"""Text models on sentence embeddings (the optional ``embeddings`` extra), combined with tabular features.

* ``embed_linear``: logistic regression / ridge on the embeddings of every text column, beside the linear
  model's own features (scaled numbers, one-hot categories and, when ``tfidf`` is on, word and character
  TF-IDF); ``emb_weight`` scales the embedding block against the others.
* ``embed_lgbm``: LightGBM on :class:`~agentk.tools.features.TabularEncoder` features plus the embeddings
  reduced by a PCA fit on the fold's training rows (``emb_dims`` components per text column).

Both are registered only where the extra is installed; elsewhere :func:`agentk.tools.zoo.unavailable_models`
says why. Each model encodes the texts of its training and validation rows first, checking the deadline
between chunks (:class:`~agentk.tools.embeddings.EmbeddingTimeout` when it passes; encoded texts stay
cached, so the next trial resumes). The embeddings come from a frozen encoder (nothing learned from the
rows), so fold safety rests on the rest of each model as before.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from agentk.competitions import Modality
from agentk.errors import UserInputError
from agentk.tools.cv import Deadline
from agentk.tools.device import require_cuda, torch_cuda_built
from agentk.tools.embeddings import Encoder, SentenceEmbedder, embeddings_unavailable, encode_texts, texts_of
from agentk.tools.features import TabularEncoder
from agentk.tools.zoo._base import ModelInfo, ZooModel, mark_unavailable, register_model
from agentk.tools.zoo.lightgbm import DEFAULTS as LGB_DEFAULTS
from agentk.tools.zoo.lightgbm import LightGBMModel
from agentk.tools.zoo.lightgbm import search_space as lgb_search_space
from agentk.tools.zoo.linear import DEFAULTS as LINEAR_DEFAULTS
from agentk.tools.zoo.linear import LinearModel

TABULAR = frozenset({Modality.NUMERIC, Modality.CATEGORICAL, Modality.DATETIME})

# The encoder used by the models; None is all-MiniLM-L6-v2. Tests set a small deterministic function here.
ENCODER: dict[str, Any] = {"encoder": None, "key": "minilm"}


def _embedder(columns: list[str], device: str) -> SentenceEmbedder:
    return SentenceEmbedder(columns=columns, encoder=ENCODER["encoder"], key=ENCODER["key"], device=device)


def _encoder_device(device: str) -> str:
    """Where the sentence encoder runs; a ``cuda`` request it cannot meet is refused (no silent fallback)."""
    if device == "cuda":
        require_cuda("sentence embeddings (torch)", built=torch_cuda_built(), hint="install a CUDA build of torch")
    elif device != "cpu":
        raise UserInputError(f"unknown device {device!r}", hint="use 'cpu' or 'cuda'")
    return device


def _warm(model: ZooModel, frames: list[pd.DataFrame | None], deadline: Deadline | None) -> None:
    """Encode the texts of the rows ``fit`` sees before fitting, honouring the deadline.

    Raises:
        EmbeddingTimeout: the deadline passed first (a ValueError: the search records a failed trial; the texts
            encoded so far stay cached, so the next trial resumes).
    """
    device = _encoder_device(model.device)
    for name in (c for c, m in (model.columns or {}).items() if m is Modality.TEXT):
        texts = [t for frame in frames if frame is not None for t in texts_of(frame[name])]
        encode_texts(texts, ENCODER["encoder"], key=ENCODER["key"], device=device, deadline=deadline)


class EmbeddingLinearModel(LinearModel):
    """:class:`~agentk.tools.zoo.linear.LinearModel` with the sentence embeddings of its text columns."""

    DEFAULTS: ClassVar[dict[str, Any]] = {**LINEAR_DEFAULTS, "C": 1.0, "tfidf": True, "emb_weight": 1.0}

    def _parts(self, columns: dict[str, Modality], params: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        parts = super()._parts(columns, params)
        device = _encoder_device(self.device)  # the encoder may use the GPU; the linear model stays on CPU
        for name in (c for c, m in columns.items() if m is Modality.TEXT):
            parts.append((f"{name}_e", _embedder([name], device), [name]))
        return parts

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> EmbeddingLinearModel:
        _warm(self, [X, X_valid], deadline)
        super().fit(X, y, X_valid, y_valid, deadline)
        return self

    def _weights(self, parts: list[tuple[str, Any, Any]], params: dict[str, Any]) -> dict[str, float] | None:
        weight = float(params["emb_weight"])
        return {name: weight if isinstance(part, SentenceEmbedder) else 1.0 for name, part, _ in parts}


class EmbeddingTabularEncoder(TabularEncoder):
    """:class:`~agentk.tools.features.TabularEncoder` plus PCA-reduced embeddings of the text columns.

    Args:
        columns: modality of each input column.
        dims: PCA components kept per text column (fit on the rows ``fit`` sees).
        seed: PCA's random state.
        device: where the sentence encoder runs, ``cpu`` or ``cuda``.
    """

    def __init__(
        self, columns: dict[str, Modality] | None = None, dims: int = 32, seed: int = 0, device: str = "cpu"
    ) -> None:
        super().__init__(columns)
        self.dims = dims
        self.seed = seed
        self.device = device

    def fit(self, X: pd.DataFrame, y: Any = None) -> EmbeddingTabularEncoder:
        super().fit(X, y)
        text = [c for c, m in (self.columns or {}).items() if m is Modality.TEXT]
        self.embedders_: dict[str, tuple[SentenceEmbedder, PCA]] = {}
        for name in text:
            embedder = _embedder([name], _encoder_device(self.device)).fit(X)
            vectors = embedder.transform(X)
            k = max(1, min(self.dims, vectors.shape[1], len(X) - 1))
            self.embedders_[name] = (embedder, PCA(n_components=k, random_state=self.seed).fit(vectors))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = super().transform(X)
        blocks = [frame]
        for name, (embedder, pca) in self.embedders_.items():
            reduced = pca.transform(embedder.transform(X))
            names = [f"{name}__pc{i}" for i in range(reduced.shape[1])]
            blocks.append(pd.DataFrame(reduced, index=X.index, columns=names))
        return pd.concat(blocks, axis=1)


class EmbeddingLightGBMModel(LightGBMModel):
    """:class:`~agentk.tools.zoo.lightgbm.LightGBMModel` with PCA-reduced sentence embeddings as features."""

    DEFAULTS: ClassVar[dict[str, Any]] = {**LGB_DEFAULTS, "emb_dims": 32}

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        deadline: Deadline | None = None,
    ) -> EmbeddingLightGBMModel:
        _warm(self, [X, X_valid], deadline)
        super().fit(X, y, X_valid, y_valid, deadline)
        return self

    def _encoder(self, params: dict[str, Any]) -> TabularEncoder:
        _encoder_device(self.device)  # refuse an unmet cuda request before any work
        dims = int(params.pop("emb_dims"))
        return EmbeddingTabularEncoder(self.columns, dims=dims, seed=self.seed, device=self.device)


def linear_search_space(trial: Any) -> dict[str, Any]:
    return {
        "C": trial.suggest_float("C", 0.03, 30.0, log=True),
        "tfidf": trial.suggest_categorical("tfidf", [True, False]),
        "char_ngrams": trial.suggest_categorical("char_ngrams", [True, False]),
        "min_df": trial.suggest_int("min_df", 1, 5),
        "emb_weight": trial.suggest_float("emb_weight", 0.3, 5.0, log=True),
    }


def lgbm_search_space(trial: Any) -> dict[str, Any]:
    return {**lgb_search_space(trial), "emb_dims": trial.suggest_categorical("emb_dims", [16, 32, 64])}


def set_encoder(encoder: Encoder | None, key: str = "minilm") -> None:
    """Use ``encoder`` (``list[str] -> (m, d)``) instead of all-MiniLM-L6-v2; None restores the default."""
    ENCODER.update(encoder=encoder, key=key if encoder is not None else "minilm")


def infos() -> list[ModelInfo]:
    """The zoo entries of the embedding models (registered by :func:`register` where the extra is installed)."""
    return [
        ModelInfo(
            "embed_linear",
            EmbeddingLinearModel,
            linear_search_space,
            uses=frozenset({Modality.TEXT}),
            also_reads=frozenset({Modality.NUMERIC, Modality.CATEGORICAL}),
            speed="medium",
            defaults=EmbeddingLinearModel.DEFAULTS,
            warm_up=True,
        ),
        ModelInfo(
            "embed_lgbm",
            EmbeddingLightGBMModel,
            lgbm_search_space,
            uses=frozenset({Modality.TEXT}),
            also_reads=TABULAR,
            gpu=True,
            speed="medium",
            defaults=EmbeddingLightGBMModel.DEFAULTS,
            warm_up=True,
        ),
    ]


def register() -> None:
    """Register the models where the extra is installed, else record why they are missing."""
    reason = embeddings_unavailable()
    for info in infos():
        if reason is None:
            register_model(info)
        else:
            mark_unavailable(info.name, reason, info.uses)


register()

__all__ = [
    "EmbeddingLightGBMModel",
    "EmbeddingLinearModel",
    "EmbeddingTabularEncoder",
    "infos",
    "set_encoder",
]
