"""Reasoner tests reach no hosted model: every socket may connect to the loopback interface only.

The guard is at the socket layer, under every HTTP client (httpx for openai/anthropic/ollama), so a test
that forgot a base URL fails loudly instead of calling a provider. The provider variables also point at a
dead loopback port. ``ScriptedChatModel`` is the langchain double; the small real model (``local_gguf``) is
a fixture of ``tests/agent/conftest.py``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

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
