"""A thin, typed layer over the real ``kaggle`` client: lazy import, timeouts, retries, no secrets out.

Why a layer at all:

* ``import kaggle`` needs ``six``, prints login help to stdout, creates a config folder and, with
  ``KAGGLE_API_TOKEN`` set, calls the network: it is imported here, lazily, with stdout captured.
* the client sends requests without a timeout (a stalled server hangs it forever): every request gets
  ``RetryPolicy.request_timeout`` through an HTTP adapter mounted on the client's session.
* retries belong to the caller, who knows which calls are safe to repeat: reads are retried with
  exponential backoff on HTTP 5xx/429 and network errors; :meth:`KaggleClient.submit` never is (the
  submission manager reconciles instead). The client's own hidden retry loop is switched off.
* errors become :class:`~agentk.kaggle.KaggleApiError` (or a subclass) with Kaggle's own message, and
  every message passes through a :class:`~agentk.kaggle._credentials.Redactor`.

``KAGGLE_API_ENVIRONMENT=LOCALHOST`` (the client's own switch) is honoured even when ``kaggle`` was
imported before it was set, and ``AGENTK_KAGGLE_API_ENDPOINT`` then names the local server (default
``http://localhost``); both exist for tests and the local fake server only.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from agentk.errors import CompetitionNotFoundError
from agentk.kaggle._credentials import KaggleCredentials, Redactor, resolve_credentials
from agentk.kaggle._errors import KaggleApiError, KaggleCredentialsError

__all__ = [
    "CompetitionInfo",
    "DataFile",
    "KaggleClient",
    "LeaderboardEntry",
    "PollPolicy",
    "RetryPolicy",
    "SubmissionInfo",
    "SubmissionLimits",
]

logger = logging.getLogger("agentk.kaggle")
_T = TypeVar("_T")


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise KaggleApiError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise KaggleApiError(f"{name} must be a non-negative number, got {raw!r}")
    return value


@dataclass(frozen=True)
class RetryPolicy:
    """How API calls are retried.

    Attributes:
        attempts: Tries per call, the first included.
        initial_delay: Seconds before the first retry; then multiplied by ``multiplier`` up to ``max_delay``.
        request_timeout: Seconds any single HTTP request may take to connect or to deliver the next bytes.
    """

    attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    request_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_delay < 0 or self.multiplier < 1 or self.request_timeout <= 0:
            raise ValueError(f"invalid retry policy: {self}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetryPolicy:
        """Defaults overridden by ``AGENTK_KAGGLE_RETRIES``, ``_RETRY_DELAY``, ``_TIMEOUT``."""
        env = os.environ if env is None else env
        return cls(
            attempts=max(1, int(_env_float(env, "AGENTK_KAGGLE_RETRIES", cls.attempts))),
            initial_delay=_env_float(env, "AGENTK_KAGGLE_RETRY_DELAY", cls.initial_delay),
            request_timeout=_env_float(env, "AGENTK_KAGGLE_TIMEOUT", cls.request_timeout) or cls.request_timeout,
        )

    def delays(self) -> Iterator[float]:
        """The waits between attempts (``attempts - 1`` of them)."""
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield min(delay, self.max_delay)
            delay *= self.multiplier


@dataclass(frozen=True)
class PollPolicy:
    """How a submission's status is polled until Kaggle has scored it."""

    initial: float = 5.0
    multiplier: float = 1.5
    max_interval: float = 60.0
    timeout: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PollPolicy:
        """Defaults overridden by ``AGENTK_KAGGLE_POLL_INTERVAL`` and ``AGENTK_KAGGLE_POLL_TIMEOUT``."""
        env = os.environ if env is None else env
        return cls(
            initial=_env_float(env, "AGENTK_KAGGLE_POLL_INTERVAL", cls.initial),
            timeout=_env_float(env, "AGENTK_KAGGLE_POLL_TIMEOUT", cls.timeout),
        )


@dataclass(frozen=True)
class CompetitionInfo:
    """What Kaggle says about a competition (the fields AgentK uses)."""

    slug: str
    title: str
    url: str
    description: str
    evaluation_metric: str
    deadline: datetime | None
    team_count: int
    max_daily_submissions: int
    awards_points: bool
    kernels_only: bool
    submissions_disabled: bool
    category: str
    reward: str


@dataclass(frozen=True)
class DataFile:
    name: str
    size: int


@dataclass(frozen=True)
class SubmissionInfo:
    """One submission as Kaggle reports it; scores are ``None`` until published (or when absent)."""

    ref: int
    description: str
    file_name: str
    status: str  # PENDING, COMPLETE or ERROR
    public_score: float | None
    private_score: float | None
    error: str
    date: datetime | None


@dataclass(frozen=True)
class SubmissionLimits:
    num_today: int
    num_total: int
    num_allowed_now: int
    limited_by_total: bool


@dataclass(frozen=True)
class LeaderboardEntry:
    team_id: int
    team_name: str
    score: float | None
    submission_date: datetime | None


def parse_score(value: object) -> float | None:
    """Kaggle sends scores as strings; empty means not (yet) published."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        score = float(text)
    except ValueError:
        logger.warning("kaggle: ignoring a score that is not a number: %r", text[:40])
        return None
    return score if math.isfinite(score) else None


def _slug_of(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -------------------------------------------------------------------------------------------- the import


def _import_kaggle_api_class() -> Any:
    """``kaggle.api.kaggle_api_extended.KaggleApi``, imported with its stdout chatter captured."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as error:
        raise KaggleApiError(
            f"the kaggle package cannot be imported ({error})", hint="pip install kaggle six"
        ) from None
    return KaggleApi


def _use_local_endpoint(api: Any) -> None:
    if os.environ.get("KAGGLE_API_ENVIRONMENT") != "LOCALHOST":
        return
    from kagglesdk import kaggle_env

    endpoint = os.environ.get("AGENTK_KAGGLE_API_ENDPOINT")
    if endpoint:
        kaggle_env._env_to_endpoint[kaggle_env.KaggleEnv.LOCAL] = endpoint.rstrip("/")
    if "--local" not in api.args:  # kaggle was imported before the variable was set
        api.args = [*api.args, "--local"]


def _make_api(timeout: float) -> Any:
    kaggle_api_class = _import_kaggle_api_class()
    import requests
    import requests.adapters

    class _TimeoutAdapter(requests.adapters.HTTPAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            return super().send(
                request,
                stream=stream,
                timeout=timeout if timeout is not None else default_timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )

    default_timeout = timeout

    class _Api(kaggle_api_class):  # type: ignore[misc,valid-type]
        def build_kaggle_client(self) -> Any:
            client = super().build_kaggle_client()
            http = client.http_client()
            http._init_session()  # the client has no public hook for its session
            adapter = _TimeoutAdapter()
            http._session.mount("http://", adapter)
            http._session.mount("https://", adapter)
            return client

        def with_retry(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
            return func  # retries are decided by KaggleClient, per call

    return _Api()


# -------------------------------------------------------------------------------------------- the client


class KaggleClient:
    """Kaggle's API through the real ``kaggle`` package, with timeouts, retries and scrubbed errors.

    Credentials are resolved when the client is made (before any import or network call); the
    ``kaggle`` package is imported and authenticated on first use. Methods are safe to call from one
    thread at a time.
    """

    def __init__(
        self,
        credentials: KaggleCredentials | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials if credentials is not None else resolve_credentials()
        self.retry = retry if retry is not None else RetryPolicy.from_env()
        self.redact = Redactor(self.credentials.secrets())
        self._sleep = sleep
        self._api: Any = None

    # -- plumbing

    @property
    def api(self) -> Any:
        """The authenticated ``KaggleApi`` instance (made on first use)."""
        if self._api is None:
            api = _make_api(self.retry.request_timeout)
            _use_local_endpoint(api)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    api.authenticate()
            except SystemExit:
                raise KaggleCredentialsError(
                    f"the kaggle client could not authenticate with the credentials from {self.credentials.source}",
                    hint="check that the token or key is current at https://www.kaggle.com/settings/api",
                ) from None
            except Exception as error:
                raise self._translate("authenticate", error) from None
            used = api.config_values.get("token" if self.credentials.kind == "token" else "key")
            if used != self.credentials.secret.get_secret_value():
                raise KaggleCredentialsError(
                    f"Kaggle did not accept the {self.credentials.kind} from {self.credentials.source}",
                    hint="check that it is current at https://www.kaggle.com/settings/api",
                )
            self._api = api
        return self._api

    def _call(self, op: str, fn: Callable[[], _T], *, retry: bool = True) -> _T:
        delays = self.retry.delays() if retry else iter(())
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except SystemExit:
                raise KaggleCredentialsError("the kaggle client gave up on authentication") from None
            except Exception as error:
                failure = self._translate(op, error)
            transient = isinstance(failure, KaggleApiError) and failure.transient
            wait = next(delays, None) if transient else None
            if wait is None:
                if isinstance(failure, KaggleApiError) and transient and retry:
                    failure = type(failure)(
                        f"{failure.message} (gave up after {attempt} attempts)",
                        status=failure.status,
                        transient=True,
                        hint=failure.hint,
                    )
                raise failure
            logger.warning("kaggle: %s failed (%s); retry %d in %.2fs", op, failure.message, attempt, wait)
            self._sleep(wait)

    def _translate(self, op: str, error: BaseException) -> KaggleApiError | KaggleCredentialsError:
        """A scrubbed error for an exception raised by the client."""
        import requests

        if isinstance(error, KaggleApiError | KaggleCredentialsError):
            return error
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(error, requests.HTTPError) and isinstance(status, int):
            detail = self._kaggle_message(response) or str(error)
            detail = self.redact(detail)[:500]
            if status in (401, 403):
                return KaggleCredentialsError(
                    f"Kaggle refused the request {op} (HTTP {status}): {detail}",
                    hint="check your Kaggle credentials, and that you accepted the competition's rules on its web page",
                )
            transient = status == 429 or status >= 500
            return KaggleApiError(
                f"Kaggle API {op} failed: HTTP {status}: {detail}", status=status, transient=transient
            )
        transient = isinstance(
            error, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError
        ) or type(error).__module__.startswith("urllib3")
        kind = "timed out" if isinstance(error, requests.Timeout) else "failed"
        detail = self.redact(str(error))[:500]
        return KaggleApiError(f"Kaggle API {op} {kind}: {type(error).__name__}: {detail}", transient=transient)

    @staticmethod
    def _kaggle_message(response: Any) -> str:
        try:
            body = response.json()
        except Exception:
            return ""
        if isinstance(body, dict):
            return str(body.get("message") or body.get("error") or "")
        return ""

    # -- competitions

    def competition(self, slug: str) -> CompetitionInfo:
        """Metadata of one competition.

        Raises:
            CompetitionNotFoundError: Kaggle knows no competition with this slug.
        """

        def find() -> Any:
            listed = self.api.competitions_list(search=slug)
            for item in getattr(listed, "competitions", None) or []:
                if _slug_of(item.ref or "") == slug:
                    return item
            return None

        found = self._call("ListCompetitions", find)
        if found is None:
            found = self._call("GetCompetition", lambda: self._get_competition(slug))
        if found is None:
            raise CompetitionNotFoundError(
                f"Kaggle has no competition {slug!r}",
                hint="check the slug in the competition's URL: https://www.kaggle.com/competitions/<slug>",
            )
        return CompetitionInfo(
            slug=slug,
            title=found.title or slug,
            url=found.url or f"https://www.kaggle.com/competitions/{slug}",
            description=found.description or "",
            evaluation_metric=found.evaluation_metric or "",
            deadline=_utc(found.deadline),
            team_count=int(found.team_count or 0),
            max_daily_submissions=int(found.max_daily_submissions or 0),
            awards_points=bool(found.awards_points),
            kernels_only=bool(found.is_kernels_submissions_only),
            submissions_disabled=bool(found.submissions_disabled),
            category=found.category or "",
            reward=found.reward or "",
        )

    def _get_competition(self, slug: str) -> Any:
        from kagglesdk.competitions.types.competition_api_service import ApiGetCompetitionRequest

        request = ApiGetCompetitionRequest()
        request.competition_name = slug
        try:
            with self.api.build_kaggle_client() as kaggle:
                return kaggle.competitions.competition_api_client.get_competition(request)
        except Exception as error:
            if getattr(getattr(error, "response", None), "status_code", None) == 404:
                return None
            raise

    def list_files(self, slug: str) -> list[DataFile]:
        """The competition's data files (all pages)."""
        files: list[DataFile] = []
        token: str | None = None
        for _ in range(1000):

            def fetch(token: str | None = token) -> Any:
                return self.api.competition_list_files(slug, token, 200)

            page = self._call("ListDataFiles", fetch)
            files.extend(DataFile(str(f.name), int(f.total_bytes or 0)) for f in page.files or [])
            token = page.next_page_token or None
            if not token:
                break
        return files

    def download_files(self, slug: str, directory: Path) -> Path:
        """Download the competition's data bundle (not unzipped) into ``directory``; its path."""
        directory.mkdir(parents=True, exist_ok=True)

        def download() -> Path:
            with contextlib.redirect_stdout(io.StringIO()):
                self.api.competition_download_files(slug, path=str(directory), force=True, quiet=True, unzip=False)
            found = sorted(p for p in directory.glob(f"{slug}.*") if p.is_file() and p.suffix != ".kaggle-partial")
            if not found:
                raise KaggleApiError(f"Kaggle's download of {slug} produced no file")
            return found[0]

        return self._call("DownloadDataFiles", download)

    def leaderboard_download(self, slug: str, directory: Path) -> Path:
        """Download the public leaderboard (a zip holding one CSV) into ``directory``; its path."""
        directory.mkdir(parents=True, exist_ok=True)

        def download() -> Path:
            with contextlib.redirect_stdout(io.StringIO()):
                self.api.competition_leaderboard_download(slug, str(directory), quiet=True)
            return directory / f"{slug}.zip"

        return self._call("DownloadLeaderboard", download)

    def leaderboard_view(self, slug: str, limit: int = 20) -> list[LeaderboardEntry]:
        """The top of the public leaderboard."""

        def view() -> Any:
            with contextlib.redirect_stdout(io.StringIO()):
                return self.api.competition_leaderboard_view(slug, page_size=limit)

        rows = self._call("GetLeaderboard", view) or []
        return [
            LeaderboardEntry(int(r.team_id or 0), r.team_name or "", parse_score(r.score), _utc(r.submission_date))
            for r in rows
            if r is not None
        ]

    # -- submissions

    def submission_limits(self, slug: str) -> SubmissionLimits:
        limits = self._call("GetSubmissionLimits", lambda: self.api.competition_get_submission_limits(slug))
        return SubmissionLimits(
            num_today=int(limits.num_today or 0),
            num_total=int(limits.num_total or 0),
            num_allowed_now=int(limits.num_allowed_now or 0),
            limited_by_total=bool(limits.limited_by_total),
        )

    def submit(self, slug: str, file: Path, description: str) -> int:
        """Upload ``file`` and create a submission; its ref. Never retried: a retry could submit twice."""

        def submit() -> int:
            response = self.api.competition_submit(str(file), description, slug, quiet=True)
            ref = int(getattr(response, "ref", 0) or 0)
            if not ref:
                message = getattr(response, "message", "") or "no submission ref returned"
                raise KaggleApiError(f"Kaggle did not accept the submission: {message}", transient=True)
            return ref

        return self._call("CreateSubmission", submit, retry=False)

    def list_submissions(self, slug: str, *, max_pages: int = 10, page_size: int = 50) -> list[SubmissionInfo]:
        """This team's submissions, newest first (up to ``max_pages`` pages)."""
        found: list[SubmissionInfo] = []
        for page in range(1, max_pages + 1):

            def fetch(page: int = page) -> Any:
                return self.api.competition_submissions(slug, page_number=page, page_size=page_size)

            batch = self._call("ListSubmissions", fetch)
            items = [self._submission(s) for s in batch or [] if s is not None]
            found.extend(items)
            if len(items) < page_size:
                break
        return found

    def get_submission(self, ref: int) -> SubmissionInfo:
        return self._submission(self._call("GetSubmission", lambda: self.api.get_submission(ref)))

    @staticmethod
    def _submission(raw: Any) -> SubmissionInfo:
        status = getattr(raw.status, "name", str(raw.status or "PENDING"))
        return SubmissionInfo(
            ref=int(raw.ref or 0),
            description=raw.description or "",
            file_name=raw.file_name or "",
            status=status.removeprefix("SUBMISSION_STATUS_"),
            public_score=parse_score(raw.public_score),
            private_score=parse_score(raw.private_score),
            error=raw.error_description or "",
            date=_utc(raw.date),
        )
