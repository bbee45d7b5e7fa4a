"""Errors a user can act on.

Every error that reaches a user (CLI, API, events) is an :class:`AgentKError`. Its message says what is
wrong; ``hint`` says what to do about it (a flag, a setting, a file to fix). Messages never contain
secrets: code that formats an error from user-supplied values must not include credentials.
"""

from __future__ import annotations


class AgentKError(Exception):
    """Base class of every error AgentK reports to a user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class UserInputError(AgentKError):
    """The input (a file, a reference, an option) is wrong; nothing was changed."""


class DataFormatError(UserInputError):
    """A data file is missing, unreadable, empty or malformed."""


class SubmissionError(UserInputError):
    """A submission does not match the expected format (ids, columns, rows, values)."""


class UnknownMetricError(UserInputError):
    """A metric name is not in the registry."""


class TaskInferenceError(UserInputError):
    """Something about the task cannot be inferred; the hint names the override."""


class CompetitionNotFoundError(UserInputError):
    """A competition reference does not resolve to any known competition."""
