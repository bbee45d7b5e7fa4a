"""Human leaderboards: one best score per team, read from the formats people actually have.

Supported files (detected from the header, column names compared case- and underscore-insensitively):

* the shared competitions' ``leaderboard.csv`` / ``leaderboard_alt.csv`` and the ``kaggle-named`` files:
  ``rank,team_id,team_name,score,submission_date[,members]`` (members separated by ``;``), or just
  ``rank,score``;
* MLE-bench files: ``scoreNullable,teamId,hasTeamName,submissionDate,score,hasScore`` (rows with
  ``hasScore`` false are dropped);
* Kaggle leaderboard downloads and submission logs:
  ``TeamId,TeamName,SubmissionDate,Score[,TeamMemberUserNames]`` (also ``Rank`` and
  ``LastSubmissionDate``); a team that appears more than once is reduced to its best score.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from agentk.errors import DataFormatError

__all__ = ["Leaderboard", "read_leaderboard"]

_T = TypeVar("_T")
_MEMBER_SPLIT = re.compile(r"[;,]")
_LEADERBOARD_SUFFIX = re.compile(r"[-_]?(public|private)?leaderboard(_alt)?$", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """The final standings of the human teams of one competition.

    Invariants (established by :meth:`from_scores` and :func:`read_leaderboard`):
    ``scores`` is a 1-d float64 array without NaN, sorted best first (stable, so teams with equal scores
    keep their file order); every optional per-team column is either empty (unknown) or aligned with
    ``scores``. The agent is never part of a leaderboard.

    Attributes:
        scores: One best score per human team, best first.
        higher_is_better: The metric's direction.
        source: File path or a description of where the scores came from.
        name: Competition slug when known (from the file name or its folder), else ``""``.
        team_ids: Kaggle team ids as strings (``""`` where missing), or empty.
        team_names: Team display names (``""`` where missing), or empty.
        dates: Submission dates as written in the file (``""`` where missing), or empty.
        members: Kaggle user names of each team's members (an empty tuple where unknown), or empty.
    """

    scores: np.ndarray
    higher_is_better: bool
    source: str
    name: str = ""
    team_ids: tuple[str, ...] = field(default=(), repr=False)
    team_names: tuple[str, ...] = field(default=(), repr=False)
    dates: tuple[str, ...] = field(default=(), repr=False)
    members: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        scores = self.scores
        if scores.ndim != 1 or scores.dtype != np.float64:
            raise ValueError("Leaderboard.scores must be a 1-d float64 array")
        if np.isnan(scores).any():
            raise ValueError("Leaderboard.scores must not contain NaN")
        for column in (self.team_ids, self.team_names, self.dates, self.members):
            if column and len(column) != len(scores):
                raise ValueError("per-team columns must be empty or aligned with scores")

    @property
    def teams(self) -> int:
        """Number of human teams."""
        return len(self.scores)

    @classmethod
    def from_scores(
        cls,
        scores: Sequence[float] | np.ndarray,
        *,
        higher_is_better: bool,
        source: str = "<scores>",
        name: str = "",
        team_ids: Sequence[str] = (),
        team_names: Sequence[str] = (),
        dates: Sequence[str] = (),
        members: Sequence[Sequence[str]] = (),
    ) -> Leaderboard:
        """Build a leaderboard from per-team scores in any order; NaN rows are dropped.

        Raises:
            DataFormatError: No finite-or-infinite score is left.
        """
        values = np.asarray(scores, dtype=np.float64).ravel()
        keep = ~np.isnan(values)
        if not keep.any():
            raise DataFormatError(f"leaderboard {source} has no scores")
        key = -values[keep] if higher_is_better else values[keep]
        order = np.flatnonzero(keep)[np.argsort(key, kind="stable")]

        def pick(column: Sequence[_T]) -> list[_T]:
            if not column:
                return []
            if len(column) != len(values):
                raise ValueError("per-team columns must be aligned with scores")
            return [column[i] for i in order]

        return cls(
            scores=np.ascontiguousarray(values[order]),
            higher_is_better=higher_is_better,
            source=source,
            name=name,
            team_ids=tuple(str(v) for v in pick(team_ids)),
            team_names=tuple(str(v) for v in pick(team_names)),
            dates=tuple(str(v) for v in pick(dates)),
            members=tuple(tuple(str(m) for m in v) for v in pick(members)),
        )


def _norm(column: object) -> str:
    return str(column).strip().lower().replace("_", "").replace(" ", "")


def _infer_direction(scores: np.ndarray, source: str) -> bool:
    """The direction implied by a file sorted best first (the order Kaggle and MLE-bench publish)."""
    finite = scores[~np.isnan(scores)]
    steps = np.diff(finite)
    if finite.size < 2 or not steps.any():
        raise DataFormatError(
            f"cannot infer the metric direction of {source}: all scores are equal",
            hint="pass higher_is_better (the direction of the competition's metric)",
        )
    if (steps <= 0).all():
        higher = True
    elif (steps >= 0).all():
        higher = False
    else:
        raise DataFormatError(
            f"cannot infer the metric direction of {source}: the rows are not sorted by score",
            hint="pass higher_is_better (the direction of the competition's metric)",
        )
    warnings.warn(
        f"metric direction of {source} inferred from row order: "
        f"{'higher' if higher else 'lower'} is better; pass higher_is_better to be sure",
        UserWarning,
        stacklevel=3,
    )
    return higher


def _text_column(frame: pd.DataFrame, names: dict[str, str], *keys: str) -> list[str] | None:
    for key in keys:
        if key in names:
            series = frame[names[key]]
            return ["" if pd.isna(v) else str(v).strip() for v in series.tolist()]
    return None


def _competition_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    stripped = _LEADERBOARD_SUFFIX.sub("", stem)
    if stripped:
        return stripped
    return path.resolve().parent.name


def read_leaderboard(path: Path | str, *, higher_is_better: bool | None = None) -> Leaderboard:
    """Read a human leaderboard file (see the module docstring for the formats).

    Args:
        path: A CSV file (``.csv`` or ``.csv.zip`` / ``.zip`` holding one CSV).
        higher_is_better: The metric's direction. When omitted it is inferred from the row order
            (files are published best first) and a ``UserWarning`` says so.

    Returns:
        The leaderboard, one best score per team, best first.

    Raises:
        DataFormatError: The file is missing, unreadable, of an unknown format, has non-numeric scores,
            no scores at all, or its direction cannot be inferred.
    """
    path = Path(path)
    source = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError as exc:
        raise DataFormatError(f"leaderboard file not found: {source}") from exc
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"cannot read leaderboard {source}: {exc}") from exc

    names = {_norm(c): str(c) for c in frame.columns}
    if "score" not in names:
        raise DataFormatError(
            f"unknown leaderboard format in {source}: no score column (columns: {list(frame.columns)})",
            hint="expected a Kaggle leaderboard download, an MLE-bench file or rank,team_id,team_name,score",
        )
    if "rank" in names:
        ranks = pd.to_numeric(frame[names["rank"]], errors="coerce")
        if ranks.isna().any():
            raise DataFormatError(f"leaderboard {source} has a non-numeric rank")
        frame = frame.iloc[np.argsort(ranks.to_numpy(), kind="stable")].reset_index(drop=True)
    if "hasscore" in names:
        has_score = frame[names["hasscore"]].astype(str).str.strip().str.lower()
        frame = frame[has_score.isin(["true", "1"])].reset_index(drop=True)

    raw = frame[names["score"]]
    try:
        scores = pd.to_numeric(raw, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"leaderboard {source} has a non-numeric score: {exc}") from exc

    if higher_is_better is None:
        higher_is_better = _infer_direction(scores, source)

    team_ids = _text_column(frame, names, "teamid")
    team_names = _text_column(frame, names, "teamname")
    dates = _text_column(frame, names, "submissiondate", "lastsubmissiondate", "date")
    member_text = _text_column(frame, names, "members", "teammemberusernames")
    members = (
        [tuple(m.strip() for m in _MEMBER_SPLIT.split(text) if m.strip()) for text in member_text]
        if member_text is not None
        else None
    )

    known_ids = [t for t in team_ids or () if t]
    if team_ids is not None and len(set(known_ids)) < len(known_ids):
        # A submission log: keep each team's best row (the first among equal bests, as Kaggle does).
        key = np.where(np.isnan(scores), np.inf, -scores if higher_is_better else scores)
        order = np.argsort(key, kind="stable")
        seen: set[str] = set()
        best: list[int] = []
        for i in order.tolist():
            team = team_ids[i]
            if team == "" or team not in seen:
                seen.add(team)
                best.append(i)
        best.sort()
        scores = scores[best]
        team_ids = [team_ids[i] for i in best]
        team_names = [team_names[i] for i in best] if team_names is not None else None
        dates = [dates[i] for i in best] if dates is not None else None
        members = [members[i] for i in best] if members is not None else None

    return Leaderboard.from_scores(
        scores,
        higher_is_better=higher_is_better,
        source=source,
        name=_competition_name(path),
        team_ids=team_ids or (),
        team_names=team_names or (),
        dates=dates or (),
        members=members or (),
    )
