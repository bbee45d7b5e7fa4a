"""Model specs, and a real small local model served by xllamacpp on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentk.agent.actions import ACTIONS
from agentk.agent.reasoners import LLMReasoner, open_chat_model, parse_spec
from agentk.errors import UserInputError


def test_parse_spec_and_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert parse_spec("openai:gpt-4.1-mini").method == "json_schema"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert parse_spec("openai:qwen").method == "function_calling"  # llama-cpp-python rejects json_schema
    assert parse_spec("anthropic:claude-x").method == "function_calling"
    assert parse_spec("ollama:qwen2.5").method == "json_schema"
    local = parse_spec("local:/models/q.gguf")
    assert (local.provider, local.name, local.method, str(local)) == (
        "local",
        "/models/q.gguf",
        "json_schema",
        "local:/models/q.gguf",
    )
    assert parse_spec("openai:x", method="json_mode").method == "json_mode"
    for bad in ("gpt-4", "azure:x", "openai:", "local:/models/q.bin"):
        with pytest.raises(UserInputError):
            parse_spec(bad)


def test_open_chat_model_builds_each_backend_without_calling_it() -> None:
    with open_chat_model("openai:some-model", timeout_s=5) as (model, spec):
        assert type(model).__name__ == "ChatOpenAI" and spec.provider == "openai"
        assert str(model.openai_api_base).startswith("http://127.0.0.1")
    with open_chat_model("ollama:qwen2.5") as (model, _):
        assert type(model).__name__ == "ChatOllama"
    with pytest.raises(UserInputError, match="no GGUF model"), open_chat_model("local:/nowhere/m.gguf"):
        pass


def test_open_chat_model_reports_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_anthropic(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("langchain_anthropic"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_anthropic)
    monkeypatch.delitem(__import__("sys").modules, "langchain_anthropic", raising=False)
    with pytest.raises(UserInputError, match="langchain-anthropic"), open_chat_model("anthropic:claude"):
        pass


@pytest.mark.slow
def test_local_model_decides_through_xllamacpp(local_gguf: Path) -> None:
    state = {
        "phase": "optimise",
        "task": {"task_type": "binary", "metric": "auc", "higher_is_better": True, "n_rows": 300},
        "candidates": ["lightgbm", "linear"],
        "history": [{"action": "profile", "args": {}}, {"action": "infer_task", "args": {}}],
        "results": [],
    }
    actions = {name: ACTIONS[name] for name in ("train_model", "tune", "finalise", "stop")}
    start = time.monotonic()
    with open_chat_model(f"local:{local_gguf}", timeout_s=120, max_tokens=200, threads=2) as (model, spec):
        assert spec.method == "json_schema"
        reasoner = LLMReasoner(model, method=spec.method, retries=1, timeout_s=120)
        decision = reasoner.decide(state, [], actions)
        summary = reasoner.summarise_task(state)
    seconds = time.monotonic() - start
    # Plumbing, not quality: either a valid action came back, or the fallback was counted.
    assert decision.action in actions
    if decision.source == "llm":
        assert decision.args == actions[decision.action].args_model.model_validate(decision.args.model_dump())
        assert reasoner.fallbacks == 0
    else:
        assert decision.source == "fallback" and reasoner.fallbacks >= 1
    assert decision.tokens_in > 0 and decision.tokens_out > 0
    assert summary
    print(f"local model: {decision.source} {decision.action} in {seconds:.1f}s, tokens {reasoner.tokens_used}")
