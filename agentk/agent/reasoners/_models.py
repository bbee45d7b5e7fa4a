"""Chat models from a spec string (``openai:MODEL``, ``anthropic:MODEL``, ``ollama:MODEL``, ``local:PATH.gguf``).

Each backend has its own working structured-output method (ENVIRONMENT.md): OpenAI's ``json_schema``
for OpenAI itself and for xllamacpp's grammar-constrained server, ``function_calling`` for other
OpenAI-compatible servers (llama-cpp-python rejects ``json_schema``), ``function_calling`` for
Anthropic (tool use), ``json_schema`` for Ollama. The provider packages are optional (the ``llm``
extra) and imported only when a spec asks for them.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentk.cpu import free_cores
from agentk.errors import UserInputError

Method = Literal["json_schema", "function_calling", "json_mode"]
PROVIDERS = ("openai", "anthropic", "ollama", "local")
BUNDLED = "bundled"  # local:bundled, the small model of the llm-test extra


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``provider:name`` spec.

    Attributes:
        provider: ``openai`` | ``anthropic`` | ``ollama`` | ``local``.
        name: the model name (a GGUF path for ``local``).
        method: the structured-output method to use with it.
    """

    provider: str
    name: str
    method: Method

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_spec(spec: str, *, method: Method | None = None) -> ModelSpec:
    """Parse ``provider:name``; ``method`` overrides the backend's default structured-output method.

    ``local:bundled`` names the small test model assembled from the ``llm-test`` extra's packages
    (:func:`~agentk.agent.reasoners.bundled_model_path`): a smoke test of the LLM path, no download.

    Raises:
        UserInputError: unknown provider, missing name, or a ``local`` path that is not a ``.gguf`` file.
    """
    provider, sep, name = spec.partition(":")
    provider = provider.strip().lower()
    if not sep or not name.strip() or provider not in PROVIDERS:
        raise UserInputError(
            f"cannot read the LLM spec {spec!r}",
            hint="use openai:MODEL, anthropic:MODEL, ollama:MODEL, local:PATH.gguf or local:bundled",
        )
    name = name.strip()
    if provider == "local" and not name.endswith(".gguf") and name != BUNDLED:
        raise UserInputError(
            f"local models are GGUF files, not {name!r}", hint=f"local:/path/to/model.gguf or local:{BUNDLED}"
        )
    return ModelSpec(provider, name, method or _default_method(provider))


def _default_method(provider: str) -> Method:
    if provider == "openai":
        # OpenAI itself and vLLM take json_schema; other compatible servers (llama-cpp-python) do not.
        return "function_calling" if os.environ.get("OPENAI_BASE_URL") else "json_schema"
    if provider == "anthropic":
        return "function_calling"
    return "json_schema"  # ollama, and xllamacpp for local


@contextlib.contextmanager
def open_chat_model(
    spec: str | ModelSpec,
    *,
    timeout_s: float = 60.0,
    temperature: float = 0.0,
    max_tokens: int | None = None,
    n_ctx: int = 4096,
    threads: int | None = None,
) -> Iterator[tuple[Any, ModelSpec]]:
    """Yield ``(chat_model, spec)`` for the run; a ``local`` model's server is stopped on exit.

    ``max_tokens`` (per answer) defaults to 512, and to 320 for a ``local`` model: a decision needs about
    100 tokens, and an embedded CPU model writes 10 to 40 a second, so a rambling answer is cut sooner.

    Raises:
        UserInputError: the spec is unreadable or its provider package is not installed.
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    if max_tokens is None:
        max_tokens = 320 if parsed.provider == "local" else 512
    if parsed.provider == "local":
        if parsed.name == BUNDLED:
            from agentk.agent.reasoners._bundled_model import bundled_model_path

            path = bundled_model_path()
        else:
            path = Path(parsed.name)
        with LocalLlamaServer(path, n_ctx=n_ctx, threads=threads) as base_url:
            openai = _import("langchain_openai", "openai")
            yield (
                openai.ChatOpenAI(
                    model=path.name,
                    base_url=base_url,
                    api_key="local",
                    request_timeout=timeout_s,
                    max_retries=0,
                    temperature=temperature,
                    max_tokens=max_tokens,
                ),
                parsed,
            )
        return
    if parsed.provider == "openai":
        openai = _import("langchain_openai", "openai")
        kwargs: dict[str, Any] = {}
        if os.environ.get("OPENAI_BASE_URL"):
            kwargs["base_url"] = os.environ["OPENAI_BASE_URL"]
            kwargs["api_key"] = os.environ.get("OPENAI_API_KEY", "not-needed")
        model = openai.ChatOpenAI(
            model=parsed.name,
            request_timeout=timeout_s,
            max_retries=1,
            temperature=temperature,
            max_tokens=max_tokens,
            **kwargs,
        )
    elif parsed.provider == "anthropic":
        anthropic = _import("langchain_anthropic", "anthropic")
        model = anthropic.ChatAnthropic(
            model=parsed.name,
            default_request_timeout=timeout_s,
            max_retries=1,
            temperature=temperature,
            max_tokens=max_tokens,
        )
    else:
        ollama = _import("langchain_ollama", "ollama")
        kwargs = {"base_url": os.environ["OLLAMA_HOST"]} if os.environ.get("OLLAMA_HOST") else {}
        model = ollama.ChatOllama(
            model=parsed.name,
            temperature=temperature,
            num_predict=max_tokens,
            client_kwargs={"timeout": timeout_s},
            **kwargs,
        )
    yield model, parsed


def _import(module: str, provider: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserInputError(
            f"the {provider} backend needs the {module.replace('_', '-')} package",
            hint="pip install 'agentk[llm]'",
        ) from None


class LocalLlamaServer:
    """An embedded xllamacpp server on 127.0.0.1 for the life of a ``with`` block; yields its ``/v1`` URL.

    The model loads in a few seconds; the server stops when the block ends (also on an error).

    ``threads`` defaults to the cores the load average says are free (at most 4, at least 1): llama.cpp's
    threads wait for each other at every step, so one thread more than the free cores is slower than one
    thread less. Measured on 2 busy cores with the 0.5B model: 11 tokens/s with 1 thread, 1 with 2.
    """

    def __init__(self, path: Path, *, n_ctx: int = 4096, threads: int | None = None, port: int | None = None) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.threads = threads or free_cores(4)
        self.port = port
        self._server: Any = None

    def __enter__(self) -> str:
        if not self.path.is_file():
            raise UserInputError(f"no GGUF model at {self.path}")
        xllamacpp = _import("xllamacpp", "local")
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = self.n_ctx
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads  # prompt processing; its default is every core
        params.use_jinja = True
        params.port = self.port or _free_port()
        params.hostnames = ["127.0.0.1"]
        self._server = xllamacpp.Server(params)
        self.port = params.port
        return f"http://127.0.0.1:{params.port}/v1"

    def __exit__(self, *exc: object) -> None:
        server, self._server = self._server, None
        del server  # xllamacpp stops its loop and frees the model when the Server is released


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
