"""The event journal: append-only, durable, tolerant of a torn last line."""

from __future__ import annotations

from pathlib import Path

from agentk.runs import Event, EventJournal, read_events


def test_append_and_read_back(tmp_path: Path) -> None:
    seen: list[Event] = []
    journal = EventJournal(tmp_path / "events.jsonl", [seen.append])
    journal.append("phase", "setup", phase="setup")
    journal.append("score", "cv", model="lightgbm", cv_score=0.5)
    events = read_events(tmp_path / "events.jsonl")
    assert [e.seq for e in events] == [1, 2] and events == seen
    assert events[1].data == {"model": "lightgbm", "cv_score": 0.5}


def test_torn_last_line_is_skipped_and_sequence_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    journal = EventJournal(path)
    journal.append("a", "one")
    journal.append("b", "two")
    with path.open("a") as fh:
        fh.write('{"seq": 3, "ts": "x", "type": "c", "mess')  # a crash mid-write
    assert [e.seq for e in read_events(path)] == [1, 2]
    reopened = EventJournal(path)
    reopened.append("c", "three")
    assert [(e.seq, e.message) for e in read_events(path)] == [(1, "one"), (2, "two"), (3, "three")]


def test_missing_journal_reads_empty(tmp_path: Path) -> None:
    assert read_events(tmp_path / "nope.jsonl") == []
