"""The dashboard in a real browser (Playwright driving Debian's chromium): submit a run, watch it, see the result.

Needs the ``playwright`` package and ``/usr/bin/chromium`` (``scripts/ci_browser.sh`` installs it). Without
them the test is skipped, unless ``AGENTK_REQUIRE_BROWSER=1`` (CI) turns the skip into a failure. The
screenshot goes to ``$AGENTK_ARTIFACTS_DIR`` when set (CI uploads it), else to the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("AGENTK_CHROMIUM", "/usr/bin/chromium"))


def _require_browser() -> Any:
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed"
    if missing is None and not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (scripts/ci_browser.sh installs Debian's chromium)"
    if missing is not None:
        if os.environ.get("AGENTK_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return sync_playwright


def test_dashboard_submits_a_run_streams_logs_and_shows_the_placement(
    live_server: Callable[..., Any], tmp_path: Path
) -> None:
    sync_playwright = _require_browser()
    server = live_server(workers=1)
    artefacts = Path(os.environ.get("AGENTK_ARTIFACTS_DIR") or tmp_path)
    artefacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1300, "height": 1500})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(server.url + "/")
            page.wait_for_selector("#competition option[value=churn]", state="attached")
            page.wait_for_selector("#health.ok")
            assert page.is_hidden("#token-form")  # auth is off on loopback: no token asked for
            page.select_option("#competition", "churn")
            page.fill("#budget", "20")
            page.fill("#folds", "2")
            page.click("#submit-run")
            page.wait_for_url("**/#/runs/*")
            run_id = page.url.rsplit("/", 1)[1]

            # Log lines arrive while the run is still going, not all at the end.
            page.wait_for_function("document.querySelectorAll('#log li').length >= 3", timeout=90_000)
            live = page.eval_on_selector("#run-state", "e => e.textContent")
            lines_while_live = page.eval_on_selector_all("#log li", "items => items.length")

            page.wait_for_function(
                "document.querySelector('#run-state').textContent === 'SUCCEEDED' && "
                "document.querySelector('#placement').textContent.includes(' of ') && "
                "document.querySelector('#lb-marker') !== null",
                timeout=120_000,
            )
            # The artifact list is fetched after the final result: wait for it rather than race it.
            page.wait_for_function("document.querySelectorAll('#artifacts a').length >= 3", timeout=30_000)
            final_score = page.text_content("#final-score") or ""
            placement = page.text_content("#placement") or ""
            percentile = page.text_content("#percentile") or ""
            medal = page.text_content("#medal") or ""
            log = page.eval_on_selector_all("#log li", "items => items.map(i => i.textContent)")
            phases = page.eval_on_selector_all("#timeline rect", "rects => rects.map(r => r.dataset.phase)")
            cv_points = page.eval_on_selector_all("#cv-chart circle", "c => c.length")
            memory = page.text_content("#memory") or ""
            artifacts = page.eval_on_selector_all("#artifacts a", "links => links.map(a => a.dataset.path)")
            page.screenshot(path=str(artefacts / "dashboard-run.png"), full_page=True)
        finally:
            browser.close()

    run = __import__("httpx").get(f"{server.url}/api/runs/{run_id}", timeout=10).json()
    assert live in ("QUEUED", "RUNNING") and lines_while_live >= 3
    assert run["state"] == "SUCCEEDED"
    assert final_score == f"{run['test_score']:.5f}"
    assert placement == f"{run['rank']} of {run['teams']}"
    assert percentile == f"{run['beats_pct']:.1f}%"
    assert medal == (run["medal"] or "none")
    assert any("succeeded" in line for line in log) and any("test auc" in line for line in log)
    assert phases == ["setup", "optimise", "finalise"] and cv_points >= 1
    assert "memory" in memory.lower()  # the placeholder until memory_store events exist
    assert {"submission.csv", "result.json", "events.jsonl"} <= set(artifacts)
    assert not errors, errors
    assert all(url.startswith(server.url) for url in requests), [u for u in requests if not u.startswith(server.url)]
    assert (artefacts / "dashboard-run.png").stat().st_size > 10_000
    if os.environ.get("AGENTK_ARTIFACTS_DIR"):
        shutil.copy(artefacts / "dashboard-run.png", tmp_path / "dashboard-run.png")
