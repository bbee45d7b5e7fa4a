"""Safe extraction of downloaded archives (zip and tar, plain or gz/bz2/xz compressed).

Every archive AgentK downloads (competition data, leaderboards) goes through :func:`safe_extract`. It
trusts nothing in the archive:

* member names must be relative, normalised paths of printable characters: no ``..``, no absolute
  paths or drive letters, no backslashes, no duplicates (also after case folding), no file that is
  also used as a directory;
* only regular files and directories are extracted: symbolic links, hard links, devices, FIFOs,
  sockets and sparse or encrypted members are refused;
* caps on the total number of bytes written, the number of members, the compression ratio and the
  nesting of archives inside archives; sizes are enforced while streaming, so lying headers do not help;
* zip entries whose data overlap (a classic zip-bomb construction) are refused;
* extraction happens in a temporary folder beside ``dest`` that is renamed to ``dest`` only when every
  member was written, so a failed or interrupted extraction never leaves a half-written ``dest``.

Archives found inside the archive (``train.csv.zip`` in a competition bundle) are extracted in place,
their members replacing them, up to ``ExtractLimits.max_depth`` levels; the byte and member caps apply
to all levels together.
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
import os
import re
import shutil
import stat
import struct
import tarfile
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from agentk.errors import DataFormatError, UserInputError

__all__ = ["ExtractLimits", "UnsafeArchiveError", "archive_kind", "safe_extract"]

_CHUNK = 1 << 20
_ZIP_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_ZIP_LOCAL_MAGIC = b"PK\x03\x04"
_ALLOWED_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_COMPONENT_BYTES = 255
_MAX_PATH_DEPTH = 64
_PARTIAL_MARK = ".partial-"


class UnsafeArchiveError(DataFormatError):
    """An archive was refused because one of its members is unsafe or a cap was exceeded.

    Attributes:
        member: The offending member name as written in the archive ("" when the archive as a whole
            is refused).
    """

    def __init__(self, message: str, *, member: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.member = member


@dataclass(frozen=True)
class ExtractLimits:
    """Caps applied while extracting one archive (all nesting levels together).

    Attributes:
        max_total_bytes: Bytes written in all (default 20 GiB).
        max_members: Members (files and directories) in all levels (default 100,000).
        max_ratio: Largest compression ratio (uncompressed / compressed) of a member, and of the whole
            extraction against the archive's size; only checked above ``ratio_floor_bytes``.
        max_depth: Levels of archives inside archives that are extracted; a deeper archive is refused
            (0: inner archives are refused).
        ratio_floor_bytes: Outputs smaller than this are never refused for their ratio alone (a few
            kilobytes of zeros compress very well and harm nobody).
    """

    max_total_bytes: int = 20 * 1024**3
    max_members: int = 100_000
    max_ratio: float = 200.0
    max_depth: int = 2
    ratio_floor_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_total_bytes <= 0 or self.max_members <= 0 or self.max_ratio <= 1 or self.max_depth < 0:
            raise ValueError(f"invalid extraction limits: {self}")


def archive_kind(path: Path) -> str | None:
    """``"zip"``, ``"tar"`` (plain or compressed) or ``None``, from the file's first bytes, not its name."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return "tar" if _compressed_tar(path, head) else None
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _compressed_tar(path: Path, head: bytes) -> bool:
    opener = gzip.open if head.startswith(b"\x1f\x8b") else bz2.open if head.startswith(b"BZh") else lzma.open
    try:
        with opener(path, "rb") as stream:
            block = stream.read(512)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    return len(block) >= 262 and block[257:262] == b"ustar"


def safe_extract(archive: Path, dest: Path, limits: ExtractLimits | None = None) -> list[Path]:
    """Extract ``archive`` into ``dest`` (which must not exist, or be an empty folder).

    Args:
        archive: A zip or tar file (tar may be gzip, bzip2 or xz compressed); the kind is read from the
            content, not the name.
        dest: The folder to create.
        limits: Caps; ``ExtractLimits()`` when omitted.

    Returns:
        The extracted regular files (paths under ``dest``), sorted.

    Raises:
        UnsafeArchiveError: a member is unsafe or a cap was exceeded; nothing is left at ``dest``.
        DataFormatError: the file is not a supported archive or is corrupt.
        UserInputError: ``dest`` exists and is not an empty folder.
    """
    limits = limits or ExtractLimits()
    archive = Path(archive)
    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise UserInputError(f"cannot extract {archive.name}: {dest} already exists and is not an empty folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(dest)
    staging = dest.parent / f".{dest.name}{_PARTIAL_MARK}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        budget = _Budget(limits, archive_size=max(archive.stat().st_size, 1))
        _extract_any(archive, staging, budget, depth=0)
        if dest.exists():
            dest.rmdir()
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _remove_stale_partials(dest: Path) -> None:
    """Remove what a killed earlier extraction into ``dest`` left behind (only our own staging folders)."""
    prefix = f".{dest.name}{_PARTIAL_MARK}"
    for entry in dest.parent.iterdir():
        if entry.name.startswith(prefix) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


class _Budget:
    """The caps shared by every nesting level of one extraction."""

    def __init__(self, limits: ExtractLimits, archive_size: int) -> None:
        self.limits = limits
        self.archive_size = archive_size
        self.bytes_written = 0
        self.members = 0

    def add_member(self, archive: Path, name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise UnsafeArchiveError(
                f"unsafe archive {archive.name}: more than {self.limits.max_members} members "
                f"(member {name!r} is one too many)",
                member=name,
            )

    def add_bytes(self, archive: Path, name: str, count: int) -> None:
        self.bytes_written += count
        limits = self.limits
        if self.bytes_written > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"unsafe archive {archive.name}: member {name!r} takes the extracted size over "
                f"{limits.max_total_bytes} bytes",
                member=name,
            )
        if self.bytes_written > limits.ratio_floor_bytes and self.bytes_written / self.archive_size > limits.max_ratio:
            raise UnsafeArchiveError(
                f"unsafe archive {archive.name}: member {name!r} takes the overall compression ratio over "
                f"{limits.max_ratio:g}",
                member=name,
            )


def _extract_any(archive: Path, target: Path, budget: _Budget, depth: int) -> None:
    kind = archive_kind(archive)
    if kind == "zip":
        _extract_zip(archive, target, budget)
    elif kind == "tar":
        _extract_tar(archive, target, budget)
    else:
        raise DataFormatError(f"{archive.name} is not a zip or tar archive (or it is corrupt)")
    _extract_nested(archive, target, budget, depth)


def _extract_nested(outer: Path, root: Path, budget: _Budget, depth: int) -> None:
    """Extract archives found among the files just written, in place, one level deeper."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if archive_kind(path) is None:
            continue
        name = str(path.relative_to(root))
        if depth + 1 > budget.limits.max_depth:
            raise UnsafeArchiveError(
                f"unsafe archive {outer.name}: member {name!r} is an archive nested deeper than "
                f"{budget.limits.max_depth} levels",
                member=name,
            )
        inner_dir = path.parent / f".{path.name}{_PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
        inner_dir.mkdir()
        try:
            _extract_any(path, inner_dir, budget, depth + 1)
        except UnsafeArchiveError as error:
            member = f"{name}/{error.member}" if error.member else name
            detail = error.message.removeprefix(f"unsafe archive {path.name}: ")
            if error.member:
                detail = detail.replace(repr(error.member), repr(member), 1)
            raise UnsafeArchiveError(
                f"unsafe archive {outer.name}: {detail} (inside the nested archive {name!r})", member=member
            ) from error
        path.unlink()
        _merge_into(inner_dir, path.parent, outer, name)


def _merge_into(source: Path, parent: Path, outer: Path, inner_name: str) -> None:
    for entry in sorted(source.iterdir()):
        final = parent / entry.name
        if final.exists() or final.is_symlink():
            raise UnsafeArchiveError(
                f"unsafe archive {outer.name}: nested archive {inner_name!r} would overwrite {entry.name!r}",
                member=inner_name,
            )
        os.rename(entry, final)
    source.rmdir()


# ---------------------------------------------------------------------------------------------- names


def _safe_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The path components of a member name, or :class:`UnsafeArchiveError`."""

    def refuse(reason: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"unsafe archive {archive.name}: member {name!r} {reason}", member=name)

    if not name or not name.strip("/"):
        raise refuse("has an empty name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise refuse("has control characters in its name")
    if "\\" in name:
        raise refuse("has a backslash in its name (path traversal on Windows)")
    if name.startswith("/") or _DRIVE.match(name):
        raise refuse("has an absolute path")
    parts = tuple(part for part in name.rstrip("/").split("/") if part != ".")
    if any(part == ".." for part in parts):
        raise refuse("escapes the destination (path traversal with '..')")
    if any(part == "" for part in parts):
        raise refuse("has an empty path component")
    if not parts:
        raise refuse("has an empty name")
    if len(parts) > _MAX_PATH_DEPTH:
        raise refuse(f"is nested deeper than {_MAX_PATH_DEPTH} folders")
    if any(len(part.encode("utf-8", "surrogateescape")) > _MAX_COMPONENT_BYTES for part in parts):
        raise refuse(f"has a path component longer than {_MAX_COMPONENT_BYTES} bytes")
    return parts


class _Layout:
    """Which paths are files and which are folders, to refuse duplicates and file/folder clashes."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.files: set[tuple[str, ...]] = set()
        self.dirs: set[tuple[str, ...]] = set()
        self.folded: dict[str, tuple[str, ...]] = {}

    def add(self, name: str, parts: tuple[str, ...], is_dir: bool) -> None:
        def refuse(reason: str) -> UnsafeArchiveError:
            return UnsafeArchiveError(f"unsafe archive {self.archive.name}: member {name!r} {reason}", member=name)

        key = "/".join(parts).casefold()
        if parts in self.files or (not is_dir and parts in self.dirs):
            raise refuse("is a duplicate or overlapping entry")
        previous = self.folded.get(key)
        if previous is not None and previous != parts:
            raise refuse("differs from another member only by letter case")
        for cut in range(1, len(parts)):
            if parts[:cut] in self.files:
                raise refuse("is inside a path that is also a file")
        if is_dir:
            self.dirs.add(parts)
        else:
            self.files.add(parts)
        self.folded[key] = parts
        for cut in range(1, len(parts)):
            self.dirs.add(parts[:cut])


def _target_path(root: Path, parts: tuple[str, ...]) -> Path:
    path = root.joinpath(*parts)
    # Defence in depth: the checks above already make this impossible.
    if not path.resolve().is_relative_to(root.resolve()):
        raise UnsafeArchiveError(f"member {'/'.join(parts)!r} resolves outside the destination")
    return path


def _make_dirs(root: Path, parts: tuple[str, ...]) -> None:
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise UnsafeArchiveError(f"refusing to write through a link at {current}")
        if not current.exists():
            current.mkdir()


@contextmanager
def _exclusive_file(path: Path) -> Iterator[BinaryIO]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as handle:
        yield handle


def _copy_member(
    source: IO[bytes], path: Path, archive: Path, name: str, declared: int, budget: _Budget, compressed: int
) -> None:
    """Stream one member to ``path`` with every cap enforced on the bytes actually produced."""
    limits = budget.limits
    written = 0
    with _exclusive_file(path) as out:
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > declared:
                raise UnsafeArchiveError(
                    f"unsafe archive {archive.name}: member {name!r} is larger than its header says ({declared} bytes)",
                    member=name,
                )
            if written > limits.ratio_floor_bytes and written / max(compressed, 1) > limits.max_ratio:
                raise UnsafeArchiveError(
                    f"unsafe archive {archive.name}: member {name!r} has a compression ratio above "
                    f"{limits.max_ratio:g} (a zip bomb?)",
                    member=name,
                )
            budget.add_bytes(archive, name, len(chunk))
            out.write(chunk)


def _check_declared(archive: Path, name: str, size: int, compressed: int | None, budget: _Budget) -> None:
    """Refuse on header sizes before reading any data (the stream checks catch headers that lie)."""
    limits = budget.limits
    if size < 0:
        raise UnsafeArchiveError(f"unsafe archive {archive.name}: member {name!r} has a negative size", member=name)
    if budget.bytes_written + size > limits.max_total_bytes:
        raise UnsafeArchiveError(
            f"unsafe archive {archive.name}: member {name!r} takes the extracted size over "
            f"{limits.max_total_bytes} bytes",
            member=name,
        )
    if compressed is not None and size > limits.ratio_floor_bytes and size / max(compressed, 1) > limits.max_ratio:
        raise UnsafeArchiveError(
            f"unsafe archive {archive.name}: member {name!r} has a compression ratio of "
            f"{size / max(compressed, 1):.0f}, above {limits.max_ratio:g} (a zip bomb?)",
            member=name,
        )


# ----------------------------------------------------------------------------------------------- zip


def _extract_zip(archive: Path, root: Path, budget: _Budget) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise DataFormatError(f"{archive.name} is not a readable zip archive: {error}") from error
    with zf:
        infos = zf.infolist()
        if len(infos) + budget.members > budget.limits.max_members:
            extra = infos[budget.limits.max_members - budget.members].filename
            raise UnsafeArchiveError(
                f"unsafe archive {archive.name}: {len(infos)} members, more than the cap of "
                f"{budget.limits.max_members} (member {extra!r} is one too many)",
                member=extra,
            )
        _check_zip_overlap(archive, zf, infos)
        layout = _Layout(archive)
        plan: list[tuple[zipfile.ZipInfo, tuple[str, ...], bool]] = []
        declared_total = 0
        for info in infos:
            name = info.filename
            parts = _safe_parts(archive, name)
            mode = info.external_attr >> 16
            is_dir = info.is_dir()
            file_type = stat.S_IFMT(mode)
            if file_type:  # Unix file-type bits are set (archives made on Windows leave them zero)
                if stat.S_ISLNK(mode):
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} is a symbolic link", member=name
                    )
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} is a device, FIFO or socket",
                        member=name,
                    )
                is_dir = is_dir or stat.S_ISDIR(mode)
            if info.flag_bits & 0x1:
                raise UnsafeArchiveError(f"unsafe archive {archive.name}: member {name!r} is encrypted", member=name)
            if info.compress_type not in _ALLOWED_ZIP_METHODS:
                raise UnsafeArchiveError(
                    f"unsafe archive {archive.name}: member {name!r} uses an unsupported compression method "
                    f"({info.compress_type})",
                    member=name,
                )
            layout.add(name, parts, is_dir)
            if not is_dir:
                _check_declared(archive, name, info.file_size, info.compress_size, budget)
                declared_total += info.file_size
                if budget.bytes_written + declared_total > budget.limits.max_total_bytes:
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} takes the extracted size over "
                        f"{budget.limits.max_total_bytes} bytes",
                        member=name,
                    )
            plan.append((info, parts, is_dir))
        for info, parts, is_dir in plan:
            budget.add_member(archive, info.filename)
            path = _target_path(root, parts)
            if is_dir:
                _make_dirs(root, parts)
                continue
            _make_dirs(root, parts[:-1])
            try:
                with zf.open(info) as source:
                    _copy_member(source, path, archive, info.filename, info.file_size, budget, info.compress_size)
            except (zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
                raise DataFormatError(f"{archive.name}: member {info.filename!r} is corrupt: {error}") from error


def _check_zip_overlap(archive: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse entries whose local header or data overlap another entry or the central directory."""
    central_start = getattr(zf, "start_dir", None)
    spans: list[tuple[int, int, str]] = []
    with archive.open("rb") as handle:
        for info in infos:
            handle.seek(info.header_offset)
            header = handle.read(_ZIP_LOCAL_HEADER.size)
            if len(header) != _ZIP_LOCAL_HEADER.size or header[:4] != _ZIP_LOCAL_MAGIC:
                raise UnsafeArchiveError(
                    f"unsafe archive {archive.name}: member {info.filename!r} has no valid local header",
                    member=info.filename,
                )
            fields = _ZIP_LOCAL_HEADER.unpack(header)
            name_len, extra_len = fields[-2], fields[-1]
            end = info.header_offset + _ZIP_LOCAL_HEADER.size + name_len + extra_len + info.compress_size
            spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_start_a, end_a, name_a), (start_b, _end_b, name_b) in itertools.pairwise(spans):
        if start_b < end_a:
            raise UnsafeArchiveError(
                f"unsafe archive {archive.name}: member {name_b!r} overlaps member {name_a!r} "
                "(overlapping entries, a zip-bomb construction)",
                member=name_b,
            )
    if spans and isinstance(central_start, int) and spans[-1][1] > central_start:
        name = spans[-1][2]
        raise UnsafeArchiveError(
            f"unsafe archive {archive.name}: member {name!r} overlaps the central directory", member=name
        )


# ----------------------------------------------------------------------------------------------- tar


def _extract_tar(archive: Path, root: Path, budget: _Budget) -> None:
    try:
        tf = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by the `with` below
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
        raise DataFormatError(f"{archive.name} is not a readable tar archive: {error}") from error
    with tf:
        layout = _Layout(archive)
        plan: list[tuple[tarfile.TarInfo, tuple[str, ...]]] = []
        declared_total = 0
        members_here = 0
        try:
            while True:
                member = tf.next()
                if member is None:
                    break
                members_here += 1
                name = member.name
                if budget.members + members_here > budget.limits.max_members:
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: more than {budget.limits.max_members} members "
                        f"(member {name!r} is one too many)",
                        member=name,
                    )
                parts = _safe_parts(archive, name)
                if member.issym() or member.islnk():
                    kind = "symbolic" if member.issym() else "hard"
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} is a {kind} link to {member.linkname!r}",
                        member=name,
                    )
                if member.issparse():
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} is a sparse file", member=name
                    )
                if not (member.isreg() or member.isdir()):
                    raise UnsafeArchiveError(
                        f"unsafe archive {archive.name}: member {name!r} is a device, FIFO or special file",
                        member=name,
                    )
                layout.add(name, parts, member.isdir())
                if member.isreg():
                    _check_declared(archive, name, member.size, None, budget)
                    declared_total += member.size
                    if budget.bytes_written + declared_total > budget.limits.max_total_bytes:
                        raise UnsafeArchiveError(
                            f"unsafe archive {archive.name}: member {name!r} takes the extracted size over "
                            f"{budget.limits.max_total_bytes} bytes",
                            member=name,
                        )
                    if (
                        declared_total > budget.limits.ratio_floor_bytes
                        and declared_total / budget.archive_size > budget.limits.max_ratio
                    ):
                        raise UnsafeArchiveError(
                            f"unsafe archive {archive.name}: member {name!r} takes the compression ratio "
                            f"over {budget.limits.max_ratio:g} (a tar bomb?)",
                            member=name,
                        )
                plan.append((member, parts))
        except (tarfile.TarError, EOFError, lzma.LZMAError, OSError) as error:
            raise DataFormatError(f"{archive.name} is a corrupt tar archive: {error}") from error
        # Ratio of a tar member alone is meaningless (compression spans the whole stream); the overall
        # ratio against the archive's size is checked by the budget while streaming.
        for member, parts in plan:
            budget.add_member(archive, member.name)
            path = _target_path(root, parts)
            if member.isdir():
                _make_dirs(root, parts)
                continue
            _make_dirs(root, parts[:-1])
            try:
                source = tf.extractfile(member)
                if source is None:  # pragma: no cover - isreg() members always have data
                    raise DataFormatError(f"{archive.name}: member {member.name!r} has no data")
                with source:
                    _copy_member(source, path, archive, member.name, member.size, budget, budget.archive_size)
            except (tarfile.TarError, EOFError, lzma.LZMAError, OSError) as error:
                raise DataFormatError(f"{archive.name}: member {member.name!r} is corrupt: {error}") from error
