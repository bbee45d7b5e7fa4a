"""The catalogue: where competitions live on disk, and how a reference resolves to one.

Folder layouts read here:

* the shared format: ``<slug>/{description.md, metric.txt, leaderboard*.csv, competition.yaml?}``,
  ``<slug>/public/{train,test,sample_submission}.csv``, ``<slug>/private/answers.csv``;
* images in one folder per class: ``<slug>/public/train/<class>/<image>``, ``<slug>/public/test/<image>`` and
  a sample submission, no train.csv (:mod:`agentk.competitions.image_folders` writes the tables in the run's
  workspace);
* MLE-bench's prepared layout: ``<slug>/prepared/public/...`` and ``<slug>/prepared/private/...``.

A :class:`CompetitionEntry` knows where the answers are; the agent never gets one. It gets the
:class:`~agentk.competitions.Competition` made by :meth:`CompetitionEntry.prepare_workspace`, whose files are
copies of the public files inside the run's own folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentk.competitions._model import Competition
from agentk.errors import CompetitionNotFoundError, DataFormatError, UserInputError

_SAMPLE_NAMES = ("sample_submission.csv", "sampleSubmission.csv", "sample_submission.csv.zip")
_ANSWER_NAMES = ("answers.csv", "test.csv", "solution.csv")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_OVERRIDE_KEYS = {"target", "id_column", "task_type", "columns", "metric", "files", "title"}


@dataclass(frozen=True)
class CompetitionEntry:
    """A competition on disk, answers included. For the runner and the grader only."""

    slug: str
    root: Path
    public_dir: Path
    title: str
    description: str
    metric_spec: str | None
    answers: Path | None
    leaderboards: tuple[Path, ...]
    source: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def public_file(self, role: str) -> Path:
        """The path of ``train``, ``test`` or ``sample_submission`` in the public folder."""
        files = self.overrides.get("files") or {}
        if role in files:
            path = self.public_dir / str(files[role])
            if not path.is_file():
                raise DataFormatError(f"competition.yaml names {role} file {files[role]!r}, which does not exist")
            return path
        candidates = _SAMPLE_NAMES if role == "sample_submission" else (f"{role}.csv",)
        for name in candidates:
            if (self.public_dir / name).is_file():
                return self.public_dir / name
        if role == "sample_submission":
            found = sorted(self.public_dir.glob("*submission*.csv"))
            if len(found) == 1:
                return found[0]
        raise DataFormatError(
            f"{self.slug}: no {role} file in {self.public_dir}",
            hint=f"name it {candidates[0]} or set `files: {{{role}: NAME}}` in competition.yaml",
        )

    def metric(self) -> tuple[str, bool]:
        """The canonical metric name and its direction."""
        from agentk.competitions.metrics import get_metric, parse_metric_spec

        override = self.overrides.get("metric")
        if override:
            metric = get_metric(str(override))
            return metric.name, metric.higher_is_better
        if not self.metric_spec:
            raise UserInputError(
                f"{self.slug}: the metric is not known (no metric.txt)",
                hint="write metric.txt ('<name> <higher|lower>'), set `metric:` in competition.yaml "
                "or pass --metric NAME",
            )
        metric, higher = parse_metric_spec(self.metric_spec)
        return metric.name, higher

    def prepare_workspace(self, dest: Path) -> Competition:
        """Copy the public files into ``dest`` and describe them as the agent's :class:`Competition`."""
        from agentk.competitions.image_folders import has_class_folders, write_image_tables

        sample = self.public_file("sample_submission")
        class_folders = "train" not in (self.overrides.get("files") or {}) and has_class_folders(self.public_dir)
        if not class_folders:
            train, test = self.public_file("train"), self.public_file("test")
        metric, higher = self.metric()
        dest.mkdir(parents=True, exist_ok=True)
        for src in sorted(self.public_dir.rglob("*")):
            target = dest / src.relative_to(self.public_dir)
            if src.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            elif src.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
        (dest / "description.md").write_text(self.description, encoding="utf-8")
        if class_folders:  # train/<class>/<image>, test/<image>: write the tables the agent reads
            train_csv, test_csv = write_image_tables(dest, dest / sample.relative_to(self.public_dir))
            train, test = self.public_dir / train_csv.name, self.public_dir / test_csv.name
        return Competition(
            slug=self.slug,
            title=self.title,
            description=self.description,
            metric=metric,
            higher_is_better=higher,
            input_dir=dest,
            train=dest / train.relative_to(self.public_dir),
            test=dest / test.relative_to(self.public_dir),
            sample_submission=dest / sample.relative_to(self.public_dir),
            source=self.source,
            overrides={k: v for k, v in self.overrides.items() if k != "files"},
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-able description for listings (no answers path)."""
        try:
            metric: str | None = self.metric()[0]
        except UserInputError:
            metric = None
        return {
            "slug": self.slug,
            "title": self.title,
            "source": self.source,
            "metric": metric,
            "path": str(self.root),
            "has_answers": self.answers is not None,
            "leaderboards": [p.name for p in self.leaderboards],
        }


def load_folder(path: Path, *, source: str = "local") -> CompetitionEntry:
    """Read a competition folder in the shared format or MLE-bench's prepared layout."""
    root = path.resolve()
    if not root.is_dir():
        raise CompetitionNotFoundError(f"not a competition folder: {path}")
    if (root / "prepared" / "public").is_dir():
        public, private, source = root / "prepared" / "public", root / "prepared" / "private", "mlebench"
    elif (root / "public").is_dir():
        public, private = root / "public", root / "private"
    else:
        raise DataFormatError(
            f"{path} is not a competition folder: it has no public/ (or prepared/public/) subfolder",
            hint="lay it out as <slug>/public/{train,test,sample_submission}.csv (see the README)",
        )
    overrides = _read_overrides(root)
    slug = _slugify(str(overrides.get("slug") or root.name))
    description = _first_text(root / "description.md", public / "description.md") or ""
    metric_spec = _first_text(root / "metric.txt", public / "metric.txt")
    title = str(overrides.get("title") or _title_from(description) or slug)
    answers = next((private / n for n in _ANSWER_NAMES if (private / n).is_file()), None)
    leaderboards = tuple(sorted(root.glob("leaderboard*.csv")))
    return CompetitionEntry(
        slug=slug,
        root=root,
        public_dir=public,
        title=title,
        description=description,
        metric_spec=metric_spec.strip() if metric_spec else None,
        answers=answers,
        leaderboards=leaderboards,
        source=str(overrides.get("source") or source),
        overrides={k: v for k, v in overrides.items() if k in _OVERRIDE_KEYS},
    )


class Catalog:
    """Registered competitions: an index file under ``AGENTK_HOME/competitions`` plus the built-ins."""

    def __init__(self, home: Path) -> None:
        self.root = home / "competitions"
        self._index = self.root / "index.json"

    def _read_index(self) -> dict[str, str]:
        if not self._index.is_file():
            return {}
        try:
            data = json.loads(self._index.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"the competition index {self._index} is corrupt: {exc}") from None
        return {str(k): str(v) for k, v in data.items()}

    def register(self, path: Path) -> CompetitionEntry:
        """Register a competition folder by reference (the folder is read, not copied)."""
        entry = load_folder(path)
        for role in ("train", "test", "sample_submission"):
            entry.public_file(role)
        entry.metric()
        index = self._read_index()
        index[entry.slug] = str(entry.root)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._index.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._index)
        return entry

    def registered(self) -> dict[str, Path]:
        return {slug: Path(p) for slug, p in self._read_index().items()}

    def entries(self) -> list[CompetitionEntry]:
        """Built-in competitions (materialised on first use) and registered ones."""
        from agentk.competitions.bundled import list_builtin

        out = [self.builtin(spec.name) for spec in list_builtin()]
        for path in self.registered().values():
            if path.is_dir():
                out.append(load_folder(path))
        return out

    def builtin(self, name: str) -> CompetitionEntry:
        from agentk.competitions.bundled import materialise

        return load_folder(materialise(name, self.root / "builtin"), source="builtin")

    def resolve(self, ref: str, *, metric: str | None = None) -> CompetitionEntry:
        """Resolve a reference: a folder path, a built-in name, a registered slug or a Kaggle URL.

        A Kaggle reference downloads the competition (``metric`` overrides Kaggle's metric name); call
        :meth:`check` first to fail fast without that.
        """
        kind, value = self.check(ref)
        if kind == "folder":
            return load_folder(Path(value))
        if kind == "builtin":
            return self.builtin(value)
        if kind == "registered":
            return load_folder(self.registered()[value])
        return self._kaggle(value, metric)

    def check(self, ref: str) -> tuple[str, str]:
        """Classify a reference without downloading anything: ``(kind, value)`` or a clear error.

        Kinds: ``folder`` (a path), ``builtin`` (a name), ``registered`` (a slug), ``kaggle`` (a slug).
        """
        from agentk.competitions.bundled import list_builtin

        ref = ref.strip()
        if not ref:
            raise UserInputError("empty competition reference")
        path = _expand(ref)
        if path.is_dir():
            load_folder(path)
            return "folder", str(path)
        names = [spec.name for spec in list_builtin()]
        if ref in names:
            return "builtin", ref
        registered = self.registered()
        if ref in registered:
            return "registered", ref
        if _is_kaggle_ref(ref):
            from agentk.kaggle import parse_competition_ref

            return "kaggle", parse_competition_ref(ref)
        known = ", ".join(names + sorted(registered))
        raise CompetitionNotFoundError(
            f"unknown competition {ref!r}: not a folder, a built-in or a registered competition",
            hint=f"known: {known}; or pass a folder path or a Kaggle URL",
        )

    def _kaggle(self, slug: str, metric: str | None) -> CompetitionEntry:
        from agentk.kaggle import fetch_competition

        folder = fetch_competition(slug, self.root / "kaggle", metric_override=metric)
        return load_folder(folder, source="kaggle")


def _is_kaggle_ref(ref: str) -> bool:
    from agentk.kaggle import looks_like_kaggle_ref

    return looks_like_kaggle_ref(ref)


def _read_overrides(root: Path) -> dict[str, Any]:
    path = root / "competition.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFormatError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFormatError(f"{path} must hold a mapping (key: value lines)")
    return {str(k): v for k, v in data.items()}


def _first_text(*paths: Path) -> str | None:
    for p in paths:
        if p.is_file():
            return p.read_text(encoding="utf-8", errors="replace")
    return None


def _title_from(description: str) -> str | None:
    for line in description.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not _SLUG_RE.match(slug):
        raise UserInputError(f"cannot make a competition slug from {name!r}")
    return slug


def _expand(ref: str) -> Path:
    """``ref`` as a path with ``~`` expanded; unchanged when it names no home (``~0``: no user "0")."""
    try:
        return Path(ref).expanduser()
    except RuntimeError:
        return Path(ref)
