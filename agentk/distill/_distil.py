"""Distillation: from a run's teacher ensemble to one small student, chosen by CV and a latency/size budget.

The flow of :func:`distil`:

1. Encode the training rows once (:class:`~agentk.distill.StudentEncoder`).
2. Tune the label weight ``alpha`` and the temperature ``T`` of the soft targets by K-fold CV of a cheap
   student, scoring with the competition's metric against the true labels. Teacher targets on training rows
   are the run's *out-of-fold* predictions, never those of a model that saw the row.
3. Cross-validate every student architecture; keep the best whose measured latency and size fit
   ``latency_budget_ms`` / ``size_budget_kb``.
4. Check HARD-style disagreement augmentation on one fold (kept only if it does not hurt), then fit the
   chosen student on every row (plus teacher-labelled synthetic rows) and export it to ONNX.

Work is sized in counts (grid points, candidates, HARD rows per round: :func:`hard_sizes`), never by measured
speed, so the same data and seed give the same student under any load; the time budget is only a safety cap.
"""

from __future__ import annotations

import copy
import io
import os
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import pandas as pd

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.competitions.metrics import get_metric
from agentk.distill._augment import disagreement, perturb
from agentk.distill._encoding import StudentEncoder, student_columns
from agentk.distill._folds import teacher_fold
from agentk.distill._students import (
    OnnxRunner,
    StudentClassifier,
    StudentRegressor,
    StudentSpec,
    get_spec,
)
from agentk.distill._targets import as_proba, expand, from_proba, mixed_regression, soft_targets
from agentk.errors import UserInputError
from agentk.tools.cv import Deadline, Predictor, make_folds
from agentk.tools.target import TargetCodec

if TYPE_CHECKING:  # the orchestrator imports this package: no import of agentk.agent at run time
    from agentk.agent.model_io import SavedModel

STUDENT_FORMAT = "agentk-student"
STUDENT_FILE = "student.joblib"  # the name a run gives its student, beside model.joblib
_VERSION = 1
# The first is the one alpha and T are tuned on; the others are tried while the budget lasts.
DEFAULT_STUDENTS = (
    "lightgbm-small",
    "lightgbm-tiny",
    "lightgbm-medium",
    "lightgbm-large",
    "mlp-small",
    "linear-small",
)
_CV_FOLDS = 3
# The leak guard acts when a student fit on teacher targets beats the teacher's own out-of-fold score on at least
# this share of bootstrap resamples: better beyond what the choice of rows explains.
_GUARD_CONFIDENCE = 0.95
_LATENCY_ROWS = 1000
# HARD transfer set, as counts of rows (never sized by measured speed, so that load cannot change a run's choices):
# candidates per round, and the share of them kept, where teacher and student disagree most.
_HARD_CANDIDATES_PER_ROW = 4
_HARD_MIN_CANDIDATES = 2_000
_HARD_MAX_CANDIDATES = 40_000
_HARD_MAX_KEEP = 10_000


def hard_sizes(n_rows: int) -> tuple[int, int]:
    """Candidates generated and rows kept in one HARD round for ``n_rows`` real training rows.

    Each round keeps half as many teacher-labelled rows as there are real rows (at most a quarter of the candidates
    and :data:`_HARD_MAX_KEEP`): three rounds give the student half again as much transfer data as the training set.
    """
    candidates = int(min(max(_HARD_CANDIDATES_PER_ROW * n_rows, _HARD_MIN_CANDIDATES), _HARD_MAX_CANDIDATES))
    keep = int(min(max(n_rows // 2, 100), candidates // 4, _HARD_MAX_KEEP))
    return candidates, keep


Log = Callable[[str], None]


@dataclass
class DistilledStudent:
    """A fitted student with its preprocessing: predicts submission frames from raw input frames.

    Attributes:
        task: the competition's task (columns, classes, metric).
        encoder: raw frame -> float32 matrix.
        model: the fitted :class:`~agentk.distill.StudentClassifier` / :class:`~agentk.distill.StudentRegressor`.
        log_target: regression outputs are ``log1p`` of the target (as the teacher's codec).
        threshold: binary cut-off for label metrics.
        onnx: the exported model graph (input: the encoder's matrix); predictions use it when onnxruntime is
            installed, else the native model (the two agree to ~1e-6).
        report: how the student was chosen (CV scores, alpha, temperature, augmentation, latency, size).
    """

    task: TaskSpec
    encoder: StudentEncoder
    model: StudentClassifier | StudentRegressor
    log_target: bool = False
    threshold: float = 0.5
    onnx: bytes | None = None
    report: dict[str, Any] = field(default_factory=dict)
    _runner: OnnxRunner | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def codec(self) -> TargetCodec:
        return TargetCodec(
            self.task, get_metric(self.task.metric), log_target=self.log_target, threshold=self.threshold
        )

    @property
    def classification(self) -> bool:
        return self.task.task_type is not TaskType.REGRESSION

    @property
    def runtime(self) -> str:
        """``onnxruntime`` or ``native``: what :meth:`predict` runs."""
        return "onnxruntime" if self._onnx_runner() is not None else "native"

    def _onnx_runner(self) -> OnnxRunner | None:
        if self._runner is None and self.onnx is not None:
            try:
                self._runner = OnnxRunner(self.onnx, self.classification)
            except ImportError:
                self.onnx = None  # no onnxruntime here: serve the native model
        return self._runner

    def predict_encoded(self, x: np.ndarray) -> np.ndarray:
        """Model-space predictions from an encoded matrix (binary P(1), class probabilities, values)."""
        runner = self._onnx_runner()
        model = self.model
        if isinstance(model, StudentClassifier):
            k = len(self.task.classes)
            if model.model_ is None:
                part = np.ones((len(x), 1))
            else:
                part = runner.run(x) if runner is not None else model.predict_proba(x)
            proba = np.zeros((len(x), k))
            proba[:, np.asarray(model.classes_, dtype=int)] = part
            return from_proba(proba, k)
        if runner is not None:
            return runner.run(x) * model.y_scale_ + model.y_mean_
        return model.predict(x)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Model-space predictions for a raw frame (the :class:`~agentk.tools.cv.Predictor` protocol)."""
        return self.predict_encoded(self.encoder.transform(frame))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for ``frame`` in the competition's submission format (ids from the frame)."""
        if self.task.id_column not in frame.columns:
            raise UserInputError(f"the input has no id column {self.task.id_column!r}")
        missing = [c for c in self.encoder.columns or {} if c not in frame.columns]
        if missing:
            raise UserInputError(f"the input lacks column(s) the student needs: {', '.join(missing[:10])}")
        return self.codec.submission_frame(frame[self.task.id_column], self.predict(frame))

    def save(self, path: Path) -> Path:
        """Write one file holding the preprocessing, the ONNX graph and the native model (atomically)."""
        path = Path(path)
        payload = {
            "format": STUDENT_FORMAT,
            "version": _VERSION,
            "task": self.task.to_dict(),
            "log_target": self.log_target,
            "threshold": self.threshold,
            "encoder": self.encoder,
            "model": self.model,
            "onnx": self.onnx,
            "report": self.report,
        }
        tmp = path.with_name(path.name + ".tmp")
        joblib.dump(payload, tmp)
        os.replace(tmp, path)
        return path

    def export_onnx(self, path: Path) -> Path:
        """Write the model graph alone (its input is the encoder's float32 matrix, see ``encoder.feature_names_``)."""
        if self.onnx is None:
            raise UserInputError("this student has no ONNX graph (the export failed or onnx is not installed)")
        Path(path).write_bytes(self.onnx)
        return Path(path)

    @property
    def size_bytes(self) -> int:
        """Bytes the student needs to serve: the encoder and the ONNX graph (or the native model without one).

        The saved file is larger: it also keeps the native model, as the fallback where onnxruntime is absent.
        """
        buffer = io.BytesIO()
        joblib.dump({"encoder": self.encoder, "model": self.onnx or self.model}, buffer)
        return len(buffer.getvalue())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_runner"] = None  # an onnxruntime session is rebuilt on demand, never pickled
        return state


def is_student_file(path: Path) -> bool:
    """Whether ``path`` holds a student written by :meth:`DistilledStudent.save`."""
    try:
        payload = joblib.load(path)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError):
        return False
    return isinstance(payload, dict) and payload.get("format") == STUDENT_FORMAT


def load_student(path: Path) -> DistilledStudent:
    """Load a student written by :meth:`DistilledStudent.save` (only load files you trust: joblib runs pickle)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"no student file at {path}")
    payload = joblib.load(path)
    if not isinstance(payload, dict) or payload.get("format") != STUDENT_FORMAT:
        raise UserInputError(f"{path} is not an AgentK student file")
    if payload.get("version") != _VERSION:
        raise UserInputError(f"{path} is a student of a newer format (version {payload.get('version')})")
    return DistilledStudent(
        task=TaskSpec.from_dict(payload["task"]),
        encoder=payload["encoder"],
        model=payload["model"],
        log_target=bool(payload["log_target"]),
        threshold=float(payload["threshold"]),
        onnx=payload["onnx"],
        report=dict(payload["report"]),
    )


# -- fitting -------------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    """Everything one distillation fits from: encoded rows, labels, teacher targets."""

    teacher: SavedModel
    frame: pd.DataFrame
    y_raw: pd.Series
    x: np.ndarray
    y: np.ndarray  # class indices or model-space values
    teacher_oof: np.ndarray | None  # (n, k) probabilities or (n,) values
    encoder: StudentEncoder
    columns: dict[str, Modality]

    @property
    def codec(self) -> TargetCodec:
        return self.teacher.codec

    @property
    def classification(self) -> bool:
        return self.codec.is_classification

    @property
    def k(self) -> int:
        return len(self.teacher.task.classes)


def _problem(
    teacher: SavedModel, train_frame: pd.DataFrame, y: pd.Series, *, use_teacher: bool, text_features: int = 1000
) -> _Problem:
    task = teacher.task
    train_frame = train_frame.reset_index(drop=True)
    y = pd.Series(y).reset_index(drop=True)
    if len(train_frame) != len(y):
        raise UserInputError(f"{len(train_frame)} training rows but {len(y)} labels")
    codec = teacher.codec
    y_model = codec.encode(y)
    oof: np.ndarray | None = None
    if use_teacher:
        if teacher.oof is None:
            raise UserInputError(
                "the teacher has no out-of-fold predictions; distillation needs them",
                hint="distil the model.joblib of a run made by this version of AgentK",
            )
        raw = np.asarray(teacher.oof, dtype=float)
        if len(raw) != len(train_frame):
            raise UserInputError(f"the teacher's out-of-fold predictions have {len(raw)} rows, the data {len(y)}")
        oof = as_proba(raw, len(task.classes)) if codec.is_classification else raw
    columns = student_columns(task.columns)
    target_type = ("binary" if len(task.classes) == 2 else "multiclass") if codec.is_classification else "continuous"
    encoder = StudentEncoder(columns, text_features=text_features, target_type=target_type)
    x = encoder.fit_transform(train_frame, y_model)  # cross-fitted target encodings: no row reads its own label
    return _Problem(teacher, train_frame, y, x, y_model, oof, encoder, columns)


def _teacher_model_space(problem: _Problem, frame: pd.DataFrame, labeller: Predictor | None = None) -> np.ndarray:
    pred = np.asarray((labeller or problem.teacher.predictor).predict(frame), dtype=float)
    return as_proba(pred, problem.k) if problem.classification else pred


def _fit_model(
    problem: _Problem,
    spec: StudentSpec,
    rows: np.ndarray,
    *,
    alpha: float,
    temperature: float,
    seed: int,
    synthetic: tuple[np.ndarray, np.ndarray] | None = None,
) -> StudentClassifier | StudentRegressor:
    """Fit one student on ``rows`` of the problem (plus synthetic rows ``(x, teacher targets)``)."""
    x = problem.x[rows]
    teacher = None if problem.teacher_oof is None or alpha >= 1.0 else problem.teacher_oof[rows]
    if problem.classification:
        y_codes = problem.y[rows]
        if synthetic is not None:
            x = np.vstack([x, synthetic[0]])
            y_codes = np.concatenate([y_codes, np.full(len(synthetic[0]), -1)])
            extra = synthetic[1]
            teacher = np.vstack([teacher if teacher is not None else np.full((len(rows), problem.k), np.nan), extra])
        q = soft_targets(y_codes, teacher, alpha=alpha, temperature=temperature, n_classes=problem.k)
        xe, ye, we = expand(x, q)
        return StudentClassifier(spec.kind, spec.size, seed).fit(xe, ye, sample_weight=we)
    y_values = problem.y[rows].astype(float)
    if synthetic is not None:
        x = np.vstack([x, synthetic[0]])
        y_values = np.concatenate([y_values, np.full(len(synthetic[0]), np.nan)])
        teacher = np.concatenate([teacher if teacher is not None else np.full(len(rows), np.nan), synthetic[1]])
    target = mixed_regression(y_values, teacher, alpha=alpha)
    return StudentRegressor(spec.kind, spec.size, seed).fit(x, target)


def _wrap(problem: _Problem, model: StudentClassifier | StudentRegressor, report: dict[str, Any]) -> DistilledStudent:
    codec = problem.codec
    student = DistilledStudent(
        task=problem.teacher.task,
        encoder=problem.encoder,
        model=model,
        log_target=codec.log_target,
        threshold=codec.threshold,
        report=report,
    )
    try:
        student.onnx = model.to_onnx()
    except ImportError:
        student.onnx = None  # the `distill` extra is not installed: the native model serves
    except Exception as exc:  # a converter that cannot express the model: the native model serves, and we say so
        student.onnx = None
        report["onnx_error"] = f"{type(exc).__name__}: {exc}"
    return student


def _augment(
    problem: _Problem,
    spec: StudentSpec,
    rows: np.ndarray,
    *,
    alpha: float,
    temperature: float,
    seed: int,
    rounds: int,
    deadline: Deadline,
    log: Log,
    labeller: Predictor | None = None,
) -> tuple[StudentClassifier | StudentRegressor, int, int]:
    """HARD rounds on ``rows``: returns the refit student, the synthetic rows kept and the rounds done.

    Synthetic rows are labelled by ``labeller`` (default: the whole teacher)."""
    rng = np.random.default_rng(seed)
    model = _fit_model(problem, spec, rows, alpha=alpha, temperature=temperature, seed=seed)
    source = problem.frame.iloc[rows]
    # Counts, not seconds: the same data and seed give the same rows on an idle machine and on a loaded one.
    n_candidates, keep = hard_sizes(len(rows))
    scale = 1.0 if problem.classification else float(np.std(problem.y[rows])) or 1.0
    xs: list[np.ndarray] = []
    ts: list[np.ndarray] = []
    done = 0
    for r in range(rounds):
        if r > 0 and deadline.expired:
            log(f"HARD: stopped after {r} round(s), the distillation budget is spent")
            break
        candidates = perturb(source, problem.columns, n_candidates, rng)
        teacher = _teacher_model_space(problem, candidates, labeller)
        x_cand = problem.encoder.transform(candidates)
        student_pred = _predict_model(model, x_cand, problem)
        gap = disagreement(teacher, student_pred, scale)
        top = np.argsort(-gap)[:keep]
        xs.append(x_cand[top])
        ts.append(teacher[top])
        synthetic = (np.vstack(xs), np.concatenate(ts) if teacher.ndim == 1 else np.vstack(ts))
        model = _fit_model(
            problem, spec, rows, alpha=alpha, temperature=temperature, seed=seed + r + 1, synthetic=synthetic
        )
        done += 1
        log(f"HARD round {r + 1}: kept {keep} of {n_candidates} candidates, mean gap {gap[top].mean():.4f}")
    return model, sum(len(a) for a in xs), done


def _predict_model(model: StudentClassifier | StudentRegressor, x: np.ndarray, problem: _Problem) -> np.ndarray:
    if isinstance(model, StudentClassifier):
        proba = np.zeros((len(x), problem.k))
        part = np.ones((len(x), 1)) if model.model_ is None else model.predict_proba(x)
        proba[:, np.asarray(model.classes_, dtype=int)] = part
        return proba
    return model.predict(x)


def _to_model_space(problem: _Problem, pred: np.ndarray) -> np.ndarray:
    return from_proba(pred, problem.k) if problem.classification else pred


def _cv(
    problem: _Problem,
    spec: StudentSpec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    alpha: float,
    temperature: float,
    seed: int,
) -> tuple[float, np.ndarray]:
    """CV score (the competition metric against the true labels) and the out-of-fold predictions."""
    oof = np.zeros((len(problem.y), problem.k)) if problem.classification else np.zeros(len(problem.y))
    for tr, va in folds:
        model = _fit_model(problem, spec, tr, alpha=alpha, temperature=temperature, seed=seed)
        oof[va] = _predict_model(model, problem.x[va], problem)
    pred = _to_model_space(problem, oof)
    return float(problem.codec.score(problem.y_raw, pred)), pred


def _confidently_better(
    codec: TargetCodec, y: pd.Series, pred: np.ndarray, reference: np.ndarray, seed: int, n_boot: int = 200
) -> float:
    """Share of bootstrap resamples of the rows on which ``pred`` scores better than ``reference`` (paired)."""
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), size=len(y))
        yb = y.iloc[idx]
        wins += bool(codec.metric.better(codec.score(yb, pred[idx]), codec.score(yb, reference[idx])))
    return wins / n_boot


def _better(codec: TargetCodec, a: float, b: float | None) -> bool:
    return b is None or bool(codec.metric.better(a, b))


def measure_latency_ms(
    predict: Callable[[pd.DataFrame], Any], frame: pd.DataFrame, repeats: int = 5, *, clock: str = "cpu"
) -> float:
    """Best-of-``repeats`` milliseconds of one ``predict`` call on 1,000 rows of ``frame`` (raw input to output).

    Args:
        predict: raw frame -> predictions.
        frame: rows to draw from (with replacement when it has fewer than 1,000).
        repeats: timed calls after one warm-up call; the fastest counts, as ``timeit`` reports.
        clock: ``cpu`` (default): CPU time of the calling thread, which is what a call costs on an idle core and is
            not inflated by other processes on a shared machine; a model that computes in worker threads (OpenMP
            in LightGBM/XGBoost) keeps the calling thread busy while they work, so it is timed too, and any work
            beyond the calling thread's share is left out (a multi-threaded teacher looks faster, not slower).
            ``wall``: elapsed time.
    """
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    rows = frame.sample(n=_LATENCY_ROWS, replace=len(frame) < _LATENCY_ROWS, random_state=0).reset_index(drop=True)
    predict(rows)  # warm-up: lazy sessions, caches
    times = []
    for _ in range(repeats):
        t0 = timer()
        predict(rows)
        times.append(timer() - t0)
    return float(np.min(times) * 1000)


def fit_student(
    teacher: SavedModel,
    train_frame: pd.DataFrame,
    y: pd.Series,
    *,
    student: str = "lightgbm-small",
    alpha: float = 1.0,
    temperature: float = 1.0,
    augment_rounds: int = 0,
    budget_s: float = 60.0,
    tune_threshold: bool = True,
    text_features: int = 1000,
    seed: int = 0,
    log: Log | None = None,
) -> DistilledStudent:
    """Fit one student with fixed settings (``alpha=1``, no augmentation: the label-only baseline of a size).

    Args:
        teacher: the run's saved model (its task, codec and out-of-fold predictions).
        train_frame: the raw training rows the teacher was fit on (rows with a target, in the run's order).
        y: their raw targets.
        student: a name from :data:`~agentk.distill.SPECS` (``lightgbm-small``, ``mlp-small``, ...).
        alpha: weight of the true labels in the targets (1 = labels only; the teacher is not read).
        temperature: the teacher's temperature.
        augment_rounds: HARD rounds (teacher-labelled synthetic rows).
        budget_s: seconds for augmentation rounds.
        tune_threshold: learn the binary cut-off of a label metric from this student's own 3-fold CV predictions
            (as :func:`distil` does), rather than keep the teacher's.
        text_features: TF-IDF words per text column in the encoder (``report["text_features"]`` of a distilled
            student, to fit its label-only twin on the same inputs).
        seed: random seed.
        log: progress messages.
    """
    log = log or (lambda _m: None)
    problem = _problem(
        teacher, train_frame, y, use_teacher=alpha < 1.0 or augment_rounds > 0, text_features=text_features
    )
    spec = get_spec(student)
    rows = np.arange(len(problem.y))
    synthetic = 0
    if augment_rounds > 0:
        model, synthetic, _ = _augment(
            problem,
            spec,
            rows,
            alpha=alpha,
            temperature=temperature,
            seed=seed,
            rounds=augment_rounds,
            deadline=Deadline(budget_s),
            log=log,
        )
    else:
        model = _fit_model(problem, spec, rows, alpha=alpha, temperature=temperature, seed=seed)
    report = {
        "student": spec.name,
        "alpha": alpha,
        "temperature": temperature,
        "text_features": text_features,
        "synthetic_rows": synthetic,
    }
    fitted = _wrap(problem, model, report)
    if tune_threshold and _needs_threshold(problem.codec):
        folds = make_folds(problem.y, teacher.task.task_type, _CV_FOLDS, seed)
        _, oof = _cv(problem, spec, folds, alpha=alpha, temperature=temperature, seed=seed)
        fitted.threshold = copy.copy(problem.codec).tune_threshold(problem.y_raw, oof)
        report["threshold"] = fitted.threshold
    return fitted


def _needs_threshold(codec: TargetCodec) -> bool:
    """Whether a binary cut-off is learned for this task (binary task, metric on labels)."""
    return codec.task.task_type is TaskType.BINARY and codec.metric.input == "label"


def distil(
    teacher: SavedModel,
    train_frame: pd.DataFrame,
    y: pd.Series,
    *,
    budget_s: float = 120.0,
    latency_budget_ms: float | None = None,
    size_budget_kb: float | None = None,
    students: Sequence[str] = DEFAULT_STUDENTS,
    augment_rounds: int = 3,
    seed: int = 0,
    log: Log | None = None,
) -> DistilledStudent:
    """Distil ``teacher`` into the best small student that fits the latency/size budget.

    Args:
        teacher: the run's saved model (:func:`agentk.agent.model_io.load_model`); its ``oof`` are the soft
            targets for the training rows.
        train_frame: the raw training rows, in the order of ``teacher.oof`` (train.csv without the rows that
            have no target).
        y: their raw targets.
        budget_s: wall-clock seconds, a safety cap for the whole distillation. The work is sized in counts (the
            tuning grid, every candidate student, HARD rows per round), so that the same data and seed make the same
            choices under any load; only when the cap runs out are later steps skipped (students past it, further
            HARD rounds; ``report["budget_exhausted"]`` says so). The first
            student is always fit.
        latency_budget_ms: the most milliseconds per 1,000 rows (raw frame to predictions) a student may take.
        size_budget_kb: the most kilobytes a saved student may take.
        students: candidate architectures, cheapest first (names from :data:`~agentk.distill.SPECS`).
        augment_rounds: HARD rounds at most (0 turns augmentation off).
        seed: random seed.
        log: progress messages (e.g. the run journal).

    Returns:
        The fitted student; ``report`` says how it was chosen.
    """
    if not students:
        raise UserInputError("distil needs at least one candidate student")
    log = log or (lambda _m: None)
    deadline = Deadline(budget_s)
    problem = _problem(teacher, train_frame, y, use_teacher=True)
    codec = problem.codec
    folds = make_folds(problem.y, teacher.task.task_type, _CV_FOLDS, seed)
    specs = [get_spec(s) for s in students]

    # 1. alpha and T on the first student (alpha = 1: labels only).
    grid: list[tuple[float, float]] = (
        [(0.0, 1.0), (0.5, 1.0), (0.0, 2.0), (0.5, 2.0), (1.0, 1.0)]
        if problem.classification
        else [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
    )
    tuning: dict[str, float] = {}
    best_at: tuple[float, float] = (0.5, 1.0)
    best_score: float | None = None
    best_pred: np.ndarray | None = None
    for alpha, temperature in grid:
        if tuning and deadline.expired:
            log("tuning: stopped, the distillation budget is spent")
            break
        score, pred = _cv(problem, specs[0], folds, alpha=alpha, temperature=temperature, seed=seed)
        tuning[f"alpha={alpha},T={temperature}"] = score
        log(f"{specs[0].name}: alpha {alpha}, T {temperature}: CV {codec.metric.name} {score:.5f}")
        if _better(codec, score, best_score):  # alpha = 1 may win: then the teacher speaks through HARD rows only
            best_at, best_score, best_pred = (alpha, temperature), score, pred
    alpha, temperature = best_at
    assert problem.teacher_oof is not None  # use_teacher=True: _problem checked it
    teacher_pred = _to_model_space(problem, problem.teacher_oof)
    teacher_oof_score = float(codec.score(problem.y_raw, teacher_pred))
    tuned = {"alpha": alpha, "temperature": temperature, "cv_score": best_score}

    def beats_teacher(score: float | None, pred: np.ndarray | None) -> bool:
        return (
            score is not None
            and pred is not None
            and bool(codec.metric.better(score, teacher_oof_score))
            and _confidently_better(codec, problem.y_raw, pred, teacher_pred, seed) >= _GUARD_CONFIDENCE
        )

    leak_guard = alpha < 1.0 and beats_teacher(best_score, best_pred)
    if leak_guard:
        # A student a fraction of the teacher's size, fit to imitate it, scores better in CV than the teacher's own
        # out-of-fold predictions: its CV is reading the validation labels through the teacher fold models that
        # produced its training targets (they saw the validation rows). Such a teacher's targets on real rows are not
        # to be trusted; the student learns the labels there and the teacher speaks through synthetic rows only.
        log(
            f"leak guard: CV {best_score:.5f} with teacher targets beats the teacher's own out-of-fold "
            f"{teacher_oof_score:.5f}; real rows keep their labels (alpha 1)"
        )
        alpha, temperature = 1.0, 1.0
        best_score = tuning.get("alpha=1.0,T=1.0", best_score)

    # 2. architectures, within the budget; latency and size measured on a fitted model.
    def try_students(problem: _Problem) -> tuple[dict[str, dict[str, Any]], StudentSpec | None, float | None, Any]:
        sample = problem.frame.iloc[: min(len(problem.frame), _LATENCY_ROWS)]
        candidates: dict[str, dict[str, Any]] = {}
        chosen: StudentSpec | None = None
        chosen_score: float | None = None
        chosen_oof: np.ndarray | None = None
        for i, spec in enumerate(specs):
            if i > 0 and deadline.expired:
                log(f"{spec.name}: skipped, the distillation budget is spent")
                continue
            score, oof = _cv(problem, spec, folds, alpha=alpha, temperature=temperature, seed=seed)
            probe = _wrap(
                problem, _fit_model(problem, spec, folds[0][0], alpha=alpha, temperature=temperature, seed=seed), {}
            )
            latency = measure_latency_ms(probe.predict, sample, repeats=3)
            size_kb = probe.size_bytes / 1024
            fits = (latency_budget_ms is None or latency <= latency_budget_ms) and (
                size_budget_kb is None or size_kb <= size_budget_kb
            )
            candidates[spec.name] = {"cv_score": score, "latency_ms": latency, "size_kb": size_kb, "fits_budget": fits}
            log(
                f"{spec.name}: CV {score:.5f}, {latency:.1f} ms / 1,000 rows, {size_kb:.0f} KB"
                + ("" if fits else " (over budget)")
            )
            if fits and _better(codec, score, chosen_score):
                chosen, chosen_score, chosen_oof = spec, score, oof
        return candidates, chosen, chosen_score, chosen_oof

    candidates, chosen, chosen_score, chosen_oof = try_students(problem)
    if chosen is None and problem.encoder.tfidf_ and not deadline.expired:
        # Word features are the slowest part of the encoding: without them a student may fit the budget.
        log("no student fits the budget; trying again without TF-IDF word features")
        lite = _problem(teacher, train_frame, y, use_teacher=True, text_features=0)
        lite_candidates, lite_chosen, lite_score, lite_oof = try_students(lite)
        if lite_chosen is not None:
            problem, candidates = lite, {f"{n} (no words)": c for n, c in candidates.items()} | lite_candidates
            chosen, chosen_score, chosen_oof = lite_chosen, lite_score, lite_oof
    if chosen is None:  # nothing fits: the smallest measured student, with a note in the report
        name = min(candidates, key=lambda n: (candidates[n]["latency_ms"], candidates[n]["size_kb"]))
        chosen = get_spec(name)
        chosen_score = candidates[name]["cv_score"]
        _, chosen_oof = _cv(problem, chosen, folds, alpha=alpha, temperature=temperature, seed=seed)
        log(f"no student fits the budget; keeping the fastest, {name}")
    if alpha < 1.0 and beats_teacher(chosen_score, chosen_oof):
        # The same guard for the chosen architecture: a larger student reads more through the teacher's folds.
        log(
            f"leak guard: {chosen.name} CV {chosen_score:.5f} with teacher targets beats the teacher's own "
            f"out-of-fold {teacher_oof_score:.5f}; real rows keep their labels (alpha 1)"
        )
        leak_guard, alpha, temperature = True, 1.0, 1.0
        chosen_score, chosen_oof = _cv(problem, chosen, folds, alpha=alpha, temperature=temperature, seed=seed)

    # 3. HARD augmentation: kept when it does not hurt on one fold.
    rounds = 0
    aug_check: dict[str, Any] = {}
    if augment_rounds > 0 and not deadline.expired:
        # Validated on a fold of the teacher's own CV, the synthetic rows labelled by the teacher's model of that
        # fold, which never saw its rows: the whole teacher saw them, and labels what it memorised there.
        own = teacher_fold(teacher, problem.frame, problem.y_raw)
        tr, va, labeller = own if own is not None else (*folds[0], None)
        plain = _fit_model(problem, chosen, tr, alpha=alpha, temperature=temperature, seed=seed)
        augmented, _, done = _augment(
            problem,
            chosen,
            tr,
            alpha=alpha,
            temperature=temperature,
            seed=seed,
            rounds=augment_rounds,
            deadline=deadline,
            log=log,
            labeller=labeller,
        )
        y_va = problem.y_raw.iloc[va]
        s_plain = codec.score(y_va, _to_model_space(problem, _predict_model(plain, problem.x[va], problem)))
        s_aug = codec.score(y_va, _to_model_space(problem, _predict_model(augmented, problem.x[va], problem)))
        aug_check = {
            "fold_score_plain": float(s_plain),
            "fold_score_augmented": float(s_aug),
            "labeller": "teacher fold model" if labeller is not None else "whole teacher",
        }
        rounds = done if not codec.metric.better(s_plain, s_aug) else 0
        log(
            f"HARD check on one fold ({aug_check['labeller']} labels): {s_plain:.5f} without, {s_aug:.5f} with "
            f"{done} round(s) -> " + ("kept" if rounds else "dropped")
        )

    # 4. the final fit on every row.
    rows = np.arange(len(problem.y))
    synthetic = 0
    if rounds:
        model, synthetic, rounds = _augment(
            problem,
            chosen,
            rows,
            alpha=alpha,
            temperature=temperature,
            seed=seed,
            rounds=rounds,
            deadline=Deadline(float("inf")),  # the rounds the fold check kept: the final fit does them all
            log=log,
        )
    else:
        model = _fit_model(problem, chosen, rows, alpha=alpha, temperature=temperature, seed=seed)
    threshold_codec = copy.copy(codec)
    threshold = threshold_codec.tune_threshold(problem.y_raw, chosen_oof) if chosen_oof is not None else codec.threshold
    report: dict[str, Any] = {
        "student": chosen.name,
        "alpha": alpha,
        "temperature": temperature,
        "text_features": problem.encoder.text_features,
        "cv_score": chosen_score,
        "teacher_oof_score": teacher_oof_score,
        "leak_guard": leak_guard,
        "tuned": tuned,
        "tuning": tuning,
        "candidates": candidates,
        "augmentation": {**aug_check, "rounds": rounds, "synthetic_rows": synthetic},
        "latency_budget_ms": latency_budget_ms,
        "size_budget_kb": size_budget_kb,
    }
    student = _wrap(problem, model, report)
    student.threshold = threshold
    report["latency_ms"] = measure_latency_ms(student.predict, problem.frame)
    report["size_kb"] = student.size_bytes / 1024
    report["seconds"] = budget_s - deadline.remaining
    report["budget_exhausted"] = deadline.expired  # True: the cap ran out, later steps may have been skipped
    log(f"student {chosen.name}: CV {chosen_score:.5f}, {report['latency_ms']:.1f} ms / 1,000 rows")
    return student
