"""Time the orchestrator keeps after its loop for writing the submission."""

from __future__ import annotations

from agentk.agent.orchestrator import finalise_reserve


def test_without_a_student_the_reserve_is_a_tenth_capped_at_30_s() -> None:
    assert finalise_reserve(600.0, wants_student=False) == 30.0
    assert finalise_reserve(120.0, wants_student=False) == 12.0


def test_a_student_to_distil_keeps_the_full_tenth() -> None:
    assert finalise_reserve(600.0, wants_student=True) == 60.0
    assert finalise_reserve(3_600.0, wants_student=True) == 360.0
