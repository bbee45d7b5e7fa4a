"""Model specs and backends (the real small local model is exercised in test_real_llm.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import agentk.cpu
from agentk.agent.reasoners import LocalLlamaServer, open_chat_model, parse_spec
from agentk.agent.reasoners._models import free_cores
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


def test_local_server_threads_follow_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """llama.cpp threads wait for each other: on busy cores fewer threads are faster (see LocalLlamaServer)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(agentk.cpu, "busy_cores", lambda window=0.25: 5.6)
    assert free_cores(4) == 2 and LocalLlamaServer(Path("m.gguf")).threads == 2
    monkeypatch.setattr(agentk.cpu, "busy_cores", lambda window=0.25: 0.2)
    assert free_cores(4) == 4 and LocalLlamaServer(Path("m.gguf"), threads=3).threads == 3
    monkeypatch.setattr(agentk.cpu, "busy_cores", lambda window=0.25: 30.0)
    assert free_cores(4) == 1
