"""Kaggle integration: competition references, metadata, data, submissions, leaderboards.

Everything goes through the real ``kaggle`` package, imported lazily (see :class:`KaggleClient`);
:mod:`agentk.kaggle.fake_server` is a local server speaking Kaggle's API for tests and demos.
"""

from __future__ import annotations

from agentk.kaggle._client import (
    CompetitionInfo,
    DataFile,
    KaggleClient,
    LeaderboardEntry,
    PollPolicy,
    RetryPolicy,
    SubmissionInfo,
    SubmissionLimits,
)
from agentk.kaggle._credentials import KaggleCredentials, kaggle_config_dir, resolve_credentials
from agentk.kaggle._errors import (
    KaggleApiError,
    KaggleCredentialsError,
    KernelOnlyCompetitionError,
    SubmissionLimitError,
    SubmissionScoringError,
)
from agentk.kaggle._leaderboard import (
    LeaderboardRow,
    normalise_leaderboard,
    read_leaderboard_download,
    write_leaderboard,
)
from agentk.kaggle._source import KaggleSource, fetch_competition
from agentk.kaggle._submissions import (
    JOURNAL_NAME,
    SubmissionManager,
    SubmissionRecord,
    choose_final_submissions,
    submit_and_score,
)
from agentk.kaggle.urls import is_valid_slug, looks_like_kaggle_ref, parse_competition_ref

__all__ = [
    "JOURNAL_NAME",
    "CompetitionInfo",
    "DataFile",
    "KaggleApiError",
    "KaggleClient",
    "KaggleCredentials",
    "KaggleCredentialsError",
    "KaggleSource",
    "KernelOnlyCompetitionError",
    "LeaderboardEntry",
    "LeaderboardRow",
    "PollPolicy",
    "RetryPolicy",
    "SubmissionInfo",
    "SubmissionLimitError",
    "SubmissionLimits",
    "SubmissionManager",
    "SubmissionRecord",
    "SubmissionScoringError",
    "choose_final_submissions",
    "fetch_competition",
    "is_valid_slug",
    "kaggle_config_dir",
    "looks_like_kaggle_ref",
    "normalise_leaderboard",
    "parse_competition_ref",
    "read_leaderboard_download",
    "resolve_credentials",
    "submit_and_score",
    "write_leaderboard",
]
