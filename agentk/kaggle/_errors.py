"""Errors of the Kaggle integration; every one is an :class:`agentk.errors.AgentKError` a user can act on.

None of them ever carries a credential: messages are built from slugs, HTTP statuses and Kaggle's own
error text, and :class:`agentk.kaggle.KaggleClient` scrubs known secrets from anything it re-raises.
"""

from __future__ import annotations

from agentk.errors import AgentKError, UserInputError

__all__ = [
    "KaggleApiError",
    "KaggleCredentialsError",
    "KernelOnlyCompetitionError",
    "SubmissionLimitError",
    "SubmissionScoringError",
]


class KaggleCredentialsError(UserInputError):
    """No usable Kaggle credentials, unsafe ones (a ``kaggle.json`` others can read), or refused ones."""


class KernelOnlyCompetitionError(UserInputError):
    """The competition accepts only notebook (kernel) submissions, which AgentK does not support yet."""


class KaggleApiError(AgentKError):
    """A Kaggle API call failed (after retries where retrying is safe).

    Attributes:
        status: The HTTP status when there was a response, else ``None`` (timeouts, refused connections).
        transient: Whether the failure was of a kind that retrying may fix (5xx, 429, network errors).
    """

    def __init__(
        self, message: str, *, status: int | None = None, transient: bool = False, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.transient = transient


class SubmissionLimitError(KaggleApiError):
    """Kaggle's submission allowance (daily or total) is used up; nothing was submitted."""


class SubmissionScoringError(KaggleApiError):
    """Kaggle finished scoring a submission with status ERROR; the message carries Kaggle's error text."""
