"""Credentials: found in the client's order, refused when unsafe, and never shown anywhere."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from agentk.kaggle import (
    KaggleApiError,
    KaggleClient,
    KaggleCredentialsError,
    fetch_competition,
    resolve_credentials,
    submit_and_score,
)
from agentk.kaggle._credentials import Redactor
from agentk.kaggle.fake_server import FakeKaggleServer
from tests.kaggle.conftest import FAST_POLL, FAST_RETRY, SECRET_KEY, USERNAME, KaggleEnv


def _kaggle_json(folder: Path, mode: int, content: dict[str, str] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kaggle.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    path.chmod(mode)
    return path


def test_missing_credentials_fail_before_any_work(tmp_path: Path) -> None:
    env = {"KAGGLE_CONFIG_DIR": str(tmp_path / "empty")}
    with pytest.raises(KaggleCredentialsError, match="no Kaggle credentials") as caught:
        resolve_credentials(env)
    assert caught.value.hint and "KAGGLE_API_TOKEN" in caught.value.hint


def test_fetch_without_credentials_fails_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KaggleCredentialsError):
        fetch_competition("titanic", tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_order_token_then_environment_then_kaggle_json(tmp_path: Path) -> None:
    _kaggle_json(tmp_path, 0o600, {"username": "file-user", "key": "file-key-123"})
    base = {"KAGGLE_CONFIG_DIR": str(tmp_path)}
    assert resolve_credentials(base).source.endswith("kaggle.json")
    pair = resolve_credentials({**base, "KAGGLE_USERNAME": "env-user", "KAGGLE_KEY": "env-key-123"})
    assert (pair.kind, pair.username, pair.secret.get_secret_value()) == ("key", "env-user", "env-key-123")
    token = resolve_credentials({**base, "KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k", "KAGGLE_API_TOKEN": "tok-1234"})
    assert (token.kind, token.secret.get_secret_value()) == ("token", "tok-1234")


def test_token_file_path(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-token-5678\n")
    path.chmod(0o600)
    creds = resolve_credentials({"KAGGLE_API_TOKEN": str(path)})
    assert creds.secret.get_secret_value() == "file-token-5678"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_kaggle_json_is_refused(tmp_path: Path, mode: int) -> None:
    path = _kaggle_json(tmp_path, mode, {"username": "u", "key": SECRET_KEY})
    with pytest.raises(KaggleCredentialsError, match="read by other users") as caught:
        resolve_credentials({"KAGGLE_CONFIG_DIR": str(tmp_path)})
    assert caught.value.hint == f"run: chmod 600 {path}"
    assert SECRET_KEY not in str(caught.value)


def test_malformed_kaggle_json_does_not_echo_it(tmp_path: Path) -> None:
    _kaggle_json(tmp_path, 0o600, f'{{"username": "u", "key": "{SECRET_KEY}"')  # truncated JSON
    with pytest.raises(KaggleCredentialsError, match="not valid JSON") as caught:
        resolve_credentials({"KAGGLE_CONFIG_DIR": str(tmp_path)})
    assert SECRET_KEY not in str(caught.value)


def test_incomplete_pair(tmp_path: Path) -> None:
    with pytest.raises(KaggleCredentialsError, match="KAGGLE_KEY is not set"):
        resolve_credentials({"KAGGLE_USERNAME": "u", "KAGGLE_CONFIG_DIR": str(tmp_path)})


def test_credentials_never_print(tmp_path: Path) -> None:
    creds = resolve_credentials({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": SECRET_KEY})
    assert SECRET_KEY not in repr(creds) and SECRET_KEY not in str(creds)
    assert Redactor(creds.secrets())(f"x {SECRET_KEY} y") == "x *** y"


def test_wrong_key_is_refused_by_the_server(
    kaggle_env: KaggleEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wrong = "WRONG-key-but-still-secret-123"
    monkeypatch.setenv("KAGGLE_KEY", wrong)
    with pytest.raises(KaggleCredentialsError, match="HTTP 401") as caught:
        fetch_competition("titanic", tmp_path / "c", client=KaggleClient(retry=FAST_RETRY))
    assert wrong not in str(caught.value)


def test_access_token_is_introspected_and_sent_as_bearer(
    competitions_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kagglesdk import kaggle_env

    token = "TOKEN-secret-abcdef-123456"
    with FakeKaggleServer(competitions_dir, username=USERNAME, token=token) as server:
        monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
        monkeypatch.setenv("KAGGLE_API_TOKEN", token)
        monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, server.url)
        client = KaggleClient(retry=FAST_RETRY)
        assert client.competition("titanic").evaluation_metric == "Categorization Accuracy"
        monkeypatch.setenv("KAGGLE_API_TOKEN", "TOKEN-revoked-000000")
        with pytest.raises(KaggleCredentialsError, match="KAGGLE_API_TOKEN"):
            _ = KaggleClient(retry=FAST_RETRY).api


def test_secret_never_appears_in_logs_errors_or_files(
    kaggle_env: KaggleEnv,
    tmp_path: Path,
    competitions_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    server = kaggle_env.server
    root = tmp_path / "c"
    run_dir = tmp_path / "run"
    errors: list[str] = []
    # a successful fetch and submission, with retried 500s and a timeout on the way
    server.faults.http_500 = {"ListCompetitions": 1, "CreateSubmission": 1}
    fetch_competition("titanic", root, client=kaggle_env.client())
    submit_and_score(
        "titanic",
        competitions_dir / "titanic/private/answers.csv",
        run_dir=run_dir,
        cv_score=0.7,
        message="m",
        client=kaggle_env.client(),
        poll=FAST_POLL,
    )
    # failures: exhausted retries, a scoring error, the limit
    server.faults.http_500 = {"ListCompetitions": 9}
    server.faults.score_error = "boom"
    for action in (
        lambda: fetch_competition("titanic", root, client=kaggle_env.client()),
        lambda: submit_and_score(
            "titanic",
            competitions_dir / "titanic/public/sample_submission.csv",
            run_dir=run_dir,
            cv_score=0.1,
            message="m",
            client=kaggle_env.client(),
            poll=FAST_POLL,
        ),
    ):
        try:
            action()
        except (KaggleApiError, KaggleCredentialsError) as error:
            errors.append(f"{error!s} {error!r} {error.__cause__!r} {error.__context__!r}")
    assert len(errors) == 2
    captured = capfd.readouterr()
    texts = [*errors, caplog.text, captured.out, captured.err]
    texts += [p.read_text(errors="replace") for d in (root, run_dir) for p in d.rglob("*") if p.is_file()]
    assert caplog.records, "the flows log something"
    for text in texts:
        assert SECRET_KEY not in text
