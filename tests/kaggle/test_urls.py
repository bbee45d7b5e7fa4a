"""URL parsing: only Kaggle's own competition URLs and bare slugs; everything else is refused clearly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentk.errors import UserInputError
from agentk.kaggle import is_valid_slug, looks_like_kaggle_ref, parse_competition_ref
from agentk.kaggle.urls import SLUG_PATTERN


@pytest.mark.parametrize(
    ("ref", "slug"),
    [
        ("https://www.kaggle.com/competitions/titanic", "titanic"),
        ("https://www.kaggle.com/competitions/titanic/", "titanic"),
        ("https://www.kaggle.com/competitions/titanic/data?select=train.csv", "titanic"),
        ("https://www.kaggle.com/competitions/playground-series-s4e2/leaderboard#x", "playground-series-s4e2"),
        (
            "https://www.kaggle.com/c/house-prices-advanced-regression-techniques",
            "house-prices-advanced-regression-techniques",
        ),
        ("https://kaggle.com/c/titanic", "titanic"),
        ("HTTPS://WWW.KAGGLE.COM/competitions/titanic", "titanic"),
        ("  titanic  ", "titanic"),
        ("GiveMeSomeCredit", "GiveMeSomeCredit"),
    ],
)
def test_accepted(ref: str, slug: str) -> None:
    assert parse_competition_ref(ref) == slug


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("https://www.kaggle.com.evil.com/competitions/titanic", "host"),
        ("https://evil.com/competitions/titanic", "host"),
        ("https://kaggle.co/competitions/titanic", "host"),
        ("https://www.kaggle.com.@evil.com/competitions/titanic", "user information"),
        ("https://www.kaggle.com@evil.com/competitions/titanic", "user information"),
        ("https://user:pass@www.kaggle.com/competitions/titanic", "user information"),
        ("https://www.kaggle.com:8080/competitions/titanic", "port"),
        ("https://127.0.0.1/competitions/titanic", "host"),
        ("https://[::1]/competitions/titanic", "host"),
        ("ftp://www.kaggle.com/competitions/titanic", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "https://"),
        ("www.kaggle.com/competitions/titanic", "https://"),
        ("https://www.kaggle.com/datasets/titanic", "path"),
        ("https://www.kaggle.com/competitions/", "slug"),
        ("https://www.kaggle.com/competitions/../etc", "slug"),
        ("https://www.kaggle.com/competitions/ti%74anic", "slug"),
        ("https://www.kaggle.com/competitions/tit\nanic", "control"),
        ("https://www.kаggle.com/competitions/titanic", "non-ASCII"),  # Cyrillic 'а'
        ("https://www.kaggle.com\\@evil.com/c/titanic", "user information"),
        ("-titanic", "slug"),
        ("titanic-", "slug"),
        ("../titanic", "https://"),
        ("", "empty"),
        ("tit anic", "spaces"),
    ],
)
def test_refused_with_a_clear_message(ref: str, reason: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_competition_ref(ref)
    assert reason in str(caught.value)
    assert caught.value.hint and "kaggle.com/competitions" in caught.value.hint


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_gives_a_valid_slug_or_an_error(text: str) -> None:
    try:
        slug = parse_competition_ref(text)
    except UserInputError:
        return
    assert SLUG_PATTERN.fullmatch(slug)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["https://www.kaggle.com/competitions/", "https://www.kaggle.com/c/", "http://kaggle.com/c/", ""]),
    st.from_regex(SLUG_PATTERN, fullmatch=True),
    st.sampled_from(["", "/", "/data", "/leaderboard?tab=public"]),
)
def test_valid_references_round_trip(prefix: str, slug: str, suffix: str) -> None:
    ref = prefix + slug + (suffix if prefix else "")
    assert parse_competition_ref(ref) == slug
    assert is_valid_slug(slug)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=60), st.text(max_size=30))
def test_url_like_text_on_other_hosts_is_refused(host: str, path: str) -> None:
    ref = f"https://{host}/competitions/{path}"
    try:
        slug = parse_competition_ref(ref)
    except UserInputError:
        return
    assert host.lower() in ("www.kaggle.com", "kaggle.com")
    assert SLUG_PATTERN.fullmatch(slug)


def test_looks_like_kaggle_ref() -> None:
    assert looks_like_kaggle_ref("https://www.kaggle.com/competitions/titanic")
    assert looks_like_kaggle_ref("https://evil.com/x")  # claimed, so that it is refused with a clear error
    assert looks_like_kaggle_ref("kaggle:titanic")
    assert not looks_like_kaggle_ref("titanic")  # bare slugs: local names win
    assert not looks_like_kaggle_ref("./competitions/titanic")
