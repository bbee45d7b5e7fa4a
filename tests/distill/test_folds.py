"""The teacher's fold views: a fold's model predicts that fold's rows as its out-of-fold predictions did."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.agent.model_io import load_model, save_model
from agentk.distill._folds import fold_count, fold_view, teacher_fold
from agentk.tools.cv import FoldPredictor, WeightedPredictor


def test_a_fold_view_reproduces_the_out_of_fold_predictions_of_its_fold(make_teacher: Callable[..., Any]) -> None:
    teacher = make_teacher(task="binary", metric="auc higher")
    model = teacher.model
    assert model.folds is None  # saved without folds: they are rebuilt the way a run makes them, and confirmed
    found = teacher_fold(model, teacher.train, teacher.y, j=1)
    assert found is not None
    train_rows, valid_rows, view = found
    assert len(np.intersect1d(train_rows, valid_rows)) == 0
    assert len(train_rows) + len(valid_rows) == len(teacher.train)
    assert isinstance(view, FoldPredictor) and len(view.members) == 1
    predicted = view.predict(teacher.train.iloc[valid_rows])
    assert np.allclose(predicted, np.asarray(model.oof)[valid_rows], atol=1e-9)
    # the whole teacher does not: two of its three fold models saw these rows
    assert not np.allclose(model.predictor.predict(teacher.train.iloc[valid_rows]), predicted, atol=1e-6)


def test_stored_folds_are_used_and_wrong_ones_refused(make_teacher: Callable[..., Any], tmp_path: Any) -> None:
    teacher = make_teacher(task="regression", metric="rmse lower")
    from agentk.tools.cv import make_folds

    folds = make_folds(teacher.model.codec.encode(teacher.y), teacher.model.task.task_type, 3, 0)
    path = tmp_path / "with_folds.joblib"
    save_model(path, teacher.result, teacher.model.task, teacher.model.codec, folds)
    saved = load_model(path)
    assert [list(v) for v in saved.folds] == [list(va) for _, va in folds]
    found = teacher_fold(saved, teacher.train, teacher.y, j=0)
    assert found is not None and list(found[1]) == list(folds[0][1])
    # folds that are not the ones the fold models were fit on do not reproduce the out-of-fold predictions
    shuffled = np.random.default_rng(0).permutation(len(teacher.train))
    wrong = dataclasses.replace(saved, folds=[np.sort(shuffled[i::3]) for i in range(3)])
    assert teacher_fold(wrong, teacher.train, teacher.y, j=0) is None
    # batch numerics (sentence embeddings) move a few predictions by ~1e-5: still the teacher's folds
    nudged = np.asarray(saved.oof, dtype=float).copy()
    nudged[folds[0][1][:3]] += 3e-5
    assert teacher_fold(dataclasses.replace(saved, oof=nudged), teacher.train, teacher.y, j=0) is not None
    moved = np.asarray(saved.oof, dtype=float).copy()
    moved[folds[0][1]] += 1e-4  # every row a little apart: not a batch effect
    assert teacher_fold(dataclasses.replace(saved, oof=moved), teacher.train, teacher.y, j=0) is None


def test_ensembles_keep_their_weights_and_other_predictors_have_no_view(make_teacher: Callable[..., Any]) -> None:
    teacher = make_teacher(task="binary", metric="auc higher")
    fold_model = teacher.model.predictor
    assert isinstance(fold_model, FoldPredictor)
    blend = WeightedPredictor([(0.25, fold_model), (0.75, fold_model), (0.0, object())])  # type: ignore[list-item]
    assert fold_count(blend) == 3
    view = fold_view(blend, 2)
    assert isinstance(view, WeightedPredictor) and [w for w, _ in view.parts] == [0.25, 0.75]
    rows = teacher.train.head(20)
    assert np.allclose(view.predict(rows), FoldPredictor([fold_model.members[2]]).predict(rows))

    class Opaque:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.zeros(len(frame))

    assert fold_view(Opaque(), 0) is None and fold_count(Opaque()) is None
    opaque = dataclasses.replace(teacher.model, predictor=Opaque())
    assert teacher_fold(opaque, teacher.train, teacher.y) is None


@pytest.mark.parametrize("method", ["hill_climb", "stack"])
def test_an_ensemble_teacher_has_a_fold_view_confirmed_by_its_saved_view_oof(
    make_teacher: Callable[..., Any], tmp_path: Any, method: str
) -> None:
    """An ensemble's ``oof`` is nested CV (its weights refit without each fold), which no fold view reproduces;
    the saved ``view_oof`` (its final weights on its members' out-of-fold predictions) is, and confirms the folds."""
    from agentk.tools.crossval import cross_validate
    from agentk.tools.cv import Deadline, make_folds
    from agentk.tools.ensemble import choose_ensemble

    teacher = make_teacher(task="binary", metric="auc higher")
    codec, task = teacher.model.codec, teacher.model.task
    folds = make_folds(codec.encode(teacher.y), task.task_type, 3, 0)
    other = cross_validate(
        "linear", teacher.train, teacher.test, teacher.y, codec, folds, Deadline(120), keep_models=True
    )
    choice = choose_ensemble([teacher.result, other], teacher.y, codec, folds, methods=(method,))
    assert choice.method == method and choice.result.view_oof is not None
    path = tmp_path / "ensemble.joblib"
    save_model(path, choice.result, task, codec, folds)
    saved = load_model(path)
    assert not np.allclose(saved.oof, saved.view_oof)  # nested CV differs from the final weights
    found = teacher_fold(saved, teacher.train, teacher.y, j=1)
    assert found is not None and list(found[1]) == list(folds[1][1])
    view = found[2]
    rows = teacher.train.iloc[found[1]]
    assert np.allclose(view.predict(rows), np.asarray(saved.view_oof)[found[1]], atol=1e-9)
