"""Kaggle leaderboard downloads, normalised into the format the grader and benchmarks read.

Kaggle's download is a zip holding one CSV, ``TeamId,TeamName,SubmissionDate,Score`` (newer files add
``Rank``, ``LastSubmissionDate``, ``SubmissionCount``, ``TeamMemberUserNames``); a submission log lists a
team once per submission. The normal form is the shared competitions' ``leaderboard.csv``::

    rank,team_id,team_name,score,submission_date

one row per team (its best score), best first, ranked by standard competition ranking (ties share a
rank, the next rank skips: 1, 1, 3).
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentk.competitions.archive import ExtractLimits, safe_extract
from agentk.errors import DataFormatError

__all__ = ["LeaderboardRow", "normalise_leaderboard", "read_leaderboard_download", "write_leaderboard"]

HEADER = ("rank", "team_id", "team_name", "score", "submission_date")
_LEADERBOARD_LIMITS = ExtractLimits(max_total_bytes=2 * 1024**3, max_members=100, max_depth=0)


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    team_id: str
    team_name: str
    score: float
    submission_date: str


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace(" ", "")


def normalise_leaderboard(text: str, *, higher_is_better: bool) -> list[LeaderboardRow]:
    """One row per team, best first, ranked; rows without a numeric score are dropped.

    Raises:
        DataFormatError: no header, or no score column.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise DataFormatError("the leaderboard file is empty")
    columns = {_key(name): i for i, name in enumerate(header)}
    if "score" not in columns:
        raise DataFormatError(f"the leaderboard has no Score column (columns: {', '.join(header)})")
    score_at = columns["score"]
    id_at = columns.get("teamid")
    name_at = columns.get("teamname")
    date_at = columns.get("submissiondate", columns.get("lastsubmissiondate"))

    def cell(row: list[str], at: int | None) -> str:
        return row[at].strip() if at is not None and at < len(row) else ""

    best: dict[str, tuple[float, str, str, str, int]] = {}
    for position, row in enumerate(reader):
        try:
            score = float(cell(row, score_at))
        except ValueError:
            continue
        if not math.isfinite(score):
            continue
        team_id, team_name, date = cell(row, id_at), cell(row, name_at), cell(row, date_at)
        team = f"id:{team_id}" if team_id else f"name:{team_name}" if team_name else f"row:{position}"
        seen = best.get(team)
        if seen is None or (score > seen[0] if higher_is_better else score < seen[0]):
            best[team] = (score, team_id, team_name, date, position)
    ordered = sorted(best.values(), key=lambda v: ((-v[0] if higher_is_better else v[0]), v[4]))
    rows: list[LeaderboardRow] = []
    for index, (score, team_id, team_name, date, _position) in enumerate(ordered):
        rank = rows[-1].rank if rows and rows[-1].score == score else index + 1
        rows.append(LeaderboardRow(rank, team_id, team_name, score, date))
    return rows


def write_leaderboard(rows: list[LeaderboardRow], path: Path) -> None:
    """Write ``rows`` in the normal form (atomically: a temporary file renamed into place)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.rank, row.team_id, row.team_name, repr(row.score), row.submission_date])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    tmp.replace(path)


def read_leaderboard_download(archive: Path, *, higher_is_better: bool) -> list[LeaderboardRow]:
    """Normalised rows from Kaggle's leaderboard download (a zip with one CSV, or the CSV itself)."""
    if archive.read_bytes()[:4] != b"PK\x03\x04":
        return normalise_leaderboard(
            archive.read_text(encoding="utf-8", errors="replace"), higher_is_better=higher_is_better
        )
    with tempfile.TemporaryDirectory(prefix="agentk-lb-", dir=archive.parent) as tmp:
        files = [p for p in safe_extract(archive, Path(tmp) / "lb", _LEADERBOARD_LIMITS) if p.suffix.lower() == ".csv"]
        if len(files) != 1:
            raise DataFormatError(f"the leaderboard download holds {len(files)} CSV files, expected one")
        text = files[0].read_text(encoding="utf-8", errors="replace")
    return normalise_leaderboard(text, higher_is_better=higher_is_better)
