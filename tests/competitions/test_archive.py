"""The safe extractor: a corpus of hostile archives is refused and nothing lands outside the destination."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentk.competitions.archive import ExtractLimits, UnsafeArchiveError, archive_kind, safe_extract
from agentk.errors import DataFormatError, UserInputError

# Small caps keep the bombs small: the corpus must run in seconds.
SMALL = ExtractLimits(max_total_bytes=8 * 1024 * 1024, max_members=500, max_ratio=50, max_depth=2)


def _zip(path: Path, entries: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names, which is the point
        with zipfile.ZipFile(path, "w", compression=compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def _zip_with_mode(path: Path, name: str, data: bytes, mode: int) -> Path:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _tarinfo(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def _overlapping_zip(path: Path) -> Path:
    """Two central-directory entries that point at the same local header and data."""
    _zip(path, [("a.csv", b"x" * 1000), ("b.csv", b"y" * 1000)])
    raw = bytearray(path.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # the second central entry (b.csv)
    struct.pack_into("<L", raw, central + 42, 0)  # its local header offset -> a.csv's
    path.write_bytes(bytes(raw))
    return path


def _nested(path: Path, depth: int) -> Path:
    data = b"id,value\n1,2\n"
    name = "inner.csv"
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, data)
        data, name = buffer.getvalue(), f"level{level}.zip"
    path.write_bytes(data)
    return path


def _nested_bomb(path: Path) -> Path:
    """A zip of ten zips of 2 MiB of zeros each: every level looks modest, the sum is over the cap."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (1024 * 1024))
    return _zip(path, [(f"part{i}.zip", inner.getvalue()) for i in range(10)], compression=zipfile.ZIP_STORED)


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[Path], Path]
    member: str  # the member the error must name ("" where the archive as a whole is refused)
    outside: str = ""  # a path (relative to the test's tmp_path) the archive tries to write


HOSTILE = [
    Hostile("zip-traversal", lambda d: _zip(d / "a.zip", [("../evil.txt", b"pwned")]), "../evil.txt", "evil.txt"),
    Hostile(
        "zip-deep-traversal",
        lambda d: _zip(d / "a.zip", [("ok/../../../evil.txt", b"pwned")]),
        "ok/../../../evil.txt",
        "evil.txt",
    ),
    Hostile("zip-absolute", lambda d: _zip(d / "a.zip", [("/tmp/agentk-evil.txt", b"x")]), "/tmp/agentk-evil.txt"),
    Hostile("zip-drive-letter", lambda d: _zip(d / "a.zip", [("C:/evil.txt", b"x")]), "C:/evil.txt"),
    Hostile("zip-backslash", lambda d: _zip(d / "a.zip", [("..\\evil.txt", b"x")]), "..\\evil.txt"),
    Hostile("zip-symlink", lambda d: _zip_with_mode(d / "a.zip", "link", b"/etc/passwd", stat.S_IFLNK | 0o777), "link"),
    Hostile("zip-device", lambda d: _zip_with_mode(d / "a.zip", "dev", b"", stat.S_IFCHR | 0o666), "dev"),
    Hostile("zip-fifo", lambda d: _zip_with_mode(d / "a.zip", "fifo", b"", stat.S_IFIFO | 0o666), "fifo"),
    Hostile("zip-bomb-ratio", lambda d: _zip(d / "a.zip", [("zeros.bin", b"\0" * (4 * 1024 * 1024))]), "zeros.bin"),
    Hostile(
        "zip-bomb-total",
        lambda d: _zip(d / "a.zip", [(f"f{i}.bin", os.urandom(1024 * 1024)) for i in range(9)], compression=0),
        "f8.bin",
    ),
    Hostile("zip-overlapping", lambda d: _overlapping_zip(d / "a.zip"), "b.csv"),
    Hostile("zip-duplicate", lambda d: _zip(d / "a.zip", [("a.csv", b"1"), ("a.csv", b"2")]), "a.csv"),
    Hostile("zip-case-duplicate", lambda d: _zip(d / "a.zip", [("A.csv", b"1"), ("a.csv", b"2")]), "a.csv"),
    Hostile("zip-file-and-dir", lambda d: _zip(d / "a.zip", [("a", b"1"), ("a/b.csv", b"2")]), "a/b.csv"),
    Hostile("zip-member-count", lambda d: _zip(d / "a.zip", [(f"f{i}", b"") for i in range(501)]), "f500"),
    Hostile("zip-nested-too-deep", lambda d: _nested(d / "a.zip", 4), "level2.zip/level1.zip/level0.zip"),
    Hostile("zip-nested-bomb", lambda d: _nested_bomb(d / "a.zip"), "part0.zip/zeros.bin"),
    Hostile("tar-traversal", lambda d: _tar(d / "a.tar", [("../evil.txt", b"pwned")]), "../evil.txt", "evil.txt"),
    Hostile("tar-absolute", lambda d: _tar(d / "a.tar", [("/tmp/agentk-evil.txt", b"x")]), "/tmp/agentk-evil.txt"),
    Hostile("tar-symlink", lambda d: _tar(d / "a.tar", [_tarinfo("link", tarfile.SYMTYPE, "/etc")]), "link"),
    Hostile(
        "tar-symlink-then-write",
        lambda d: _tar(d / "a.tar", [_tarinfo("up", tarfile.SYMTYPE, ".."), ("up/evil.txt", b"x")]),
        "up",
        "evil.txt",
    ),
    Hostile(
        "tar-hardlink",
        lambda d: _tar(d / "a.tar", [("a.csv", b"1"), _tarinfo("hard", tarfile.LNKTYPE, "/etc/passwd")]),
        "hard",
    ),
    Hostile("tar-chardev", lambda d: _tar(d / "a.tar", [_tarinfo("null", tarfile.CHRTYPE)]), "null"),
    Hostile("tar-blockdev", lambda d: _tar(d / "a.tar", [_tarinfo("sda", tarfile.BLKTYPE)]), "sda"),
    Hostile("tar-fifo", lambda d: _tar(d / "a.tar", [_tarinfo("pipe", tarfile.FIFOTYPE)]), "pipe"),
    Hostile(
        "tar-gz-bomb",
        lambda d: _tar(d / "a.tar.gz", [("zeros.bin", b"\0" * (4 * 1024 * 1024))], mode="w:gz"),
        "zeros.bin",
    ),
    Hostile("tar-duplicate", lambda d: _tar(d / "a.tar", [("a.csv", b"1"), ("a.csv", b"2")]), "a.csv"),
    Hostile("tar-member-count", lambda d: _tar(d / "a.tar.bz2", [(f"f{i}", b"") for i in range(501)], "w:bz2"), "f500"),
]


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 15
    assert len({h.name for h in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_hostile_archive_is_refused_and_nothing_is_written(hostile: Hostile, tmp_path: Path) -> None:
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    archive = hostile.build(source_dir)
    work = tmp_path / "work"
    work.mkdir()
    dest = work / "deep" / "dest"
    before = _snapshot(tmp_path)

    with pytest.raises(UnsafeArchiveError) as caught:
        safe_extract(archive, dest, SMALL)

    assert caught.value.member == hostile.member
    assert repr(hostile.member) in str(caught.value) or hostile.member in str(caught.value)
    assert not dest.exists()
    # Only the (empty) parent folders of dest may be new; no partial folder, no escaped file.
    new = _snapshot(tmp_path) - before
    assert new <= {"work/deep"}, new
    if hostile.outside:
        assert not (tmp_path / hostile.outside).exists()
        assert not (work / hostile.outside).exists()
    assert not Path("/tmp/agentk-evil.txt").exists()


def test_default_limits_refuse_a_real_zip_bomb(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", [("zeros.bin", b"\0" * (64 * 1024 * 1024))])
    assert archive.stat().st_size < 200_000
    with pytest.raises(UnsafeArchiveError, match="compression ratio"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_header_that_understates_the_size_is_caught_while_streaming(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("data.csv", b"a,b\n" * 1000)], compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<L", raw, central + 24, 10)  # uncompressed size in the central directory: 10 bytes
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_extracts_zip_with_folders(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("train.csv", b"id,y\n1,0\n"), ("images/", b""), ("images/1.txt", b"x")])
    files = safe_extract(archive, tmp_path / "out")
    assert files == [tmp_path / "out" / "images" / "1.txt", tmp_path / "out" / "train.csv"]
    assert (tmp_path / "out" / "train.csv").read_bytes() == b"id,y\n1,0\n"


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_extracts_tar_in_every_compression(tmp_path: Path, mode: str) -> None:
    archive = _tar(tmp_path / "a.tar", [("data/train.csv", b"id,y\n1,0\n"), ("test.csv", b"id\n2\n")], mode)
    assert archive_kind(archive) == "tar"
    files = safe_extract(archive, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in files] == ["data/train.csv", "test.csv"]


def test_nested_archive_is_extracted_in_place(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("train.csv", b"id,y\n1,0\n")
    archive = _zip(tmp_path / "bundle.zip", [("train.csv.zip", inner.getvalue()), ("test.csv", b"id\n2\n")])
    files = safe_extract(archive, tmp_path / "out")
    assert [p.name for p in files] == ["test.csv", "train.csv"]
    assert (tmp_path / "out" / "train.csv").read_bytes() == b"id,y\n1,0\n"


def test_nested_archive_within_depth_is_accepted(tmp_path: Path) -> None:
    archive = _nested(tmp_path / "a.zip", 3)  # the outer archive plus two nested levels
    files = safe_extract(archive, tmp_path / "out", SMALL)
    assert [p.name for p in files] == ["inner.csv"]


def test_nested_archive_that_would_overwrite_is_refused(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("train.csv", b"evil")
    archive = _zip(tmp_path / "a.zip", [("train.csv", b"good"), ("x.zip", inner.getvalue())])
    with pytest.raises(UnsafeArchiveError, match="overwrite"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    path.write_bytes(b"id,y\n1,2\n")
    with pytest.raises(DataFormatError, match="not a zip or tar"):
        safe_extract(path, tmp_path / "out")


def test_truncated_zip_is_a_data_format_error(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("a.csv", os.urandom(5000))])
    archive.write_bytes(archive.read_bytes()[:3000])
    with pytest.raises(DataFormatError):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_existing_destination_is_not_overwritten(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", [("a.csv", b"1")])
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(UserInputError, match="already exists"):
        safe_extract(archive, dest)
    assert (dest / "keep.txt").read_text() == "mine"
    (dest / "keep.txt").unlink()
    assert [p.name for p in safe_extract(archive, dest)] == ["a.csv"]  # an empty folder is fine


def test_interrupted_extraction_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zip(tmp_path / "a.zip", [(f"f{i}.csv", b"1,2\n" * 100) for i in range(5)])
    from agentk.competitions import archive as module

    calls = {"n": 0}
    real = module._copy_member

    def interrupted(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_copy_member", interrupted)
    before = _snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        safe_extract(archive, tmp_path / "out")
    assert _snapshot(tmp_path) == before


def test_leftovers_of_a_killed_extraction_are_cleaned(tmp_path: Path) -> None:
    stale = tmp_path / ".out.partial-deadbeef"
    (stale / "half").mkdir(parents=True)
    archive = _zip(tmp_path / "a.zip", [("a.csv", b"1")])
    safe_extract(archive, tmp_path / "out")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "out"]
