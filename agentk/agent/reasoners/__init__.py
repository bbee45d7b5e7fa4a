"""Reasoners choose the loop's next action: an offline policy (the default) or an LLM through langchain."""

from __future__ import annotations

from agentk.agent.reasoners._base import Decision, Reasoner, Source
from agentk.agent.reasoners._bundled_model import BundledModelError, bundled_model_path
from agentk.agent.reasoners._models import LocalLlamaServer, ModelSpec, open_chat_model, parse_spec
from agentk.agent.reasoners.llm import LLMReasoner, allowed_actions, nested_decision_schema
from agentk.agent.reasoners.policy import FamilyBandit, PolicyReasoner, priors_from_memories, run_rewards
from agentk.agent.reasoners.transcript import TranscriptHook, TranscriptWriter, read_transcript, redact

__all__ = [
    "BundledModelError",
    "Decision",
    "FamilyBandit",
    "LLMReasoner",
    "LocalLlamaServer",
    "ModelSpec",
    "PolicyReasoner",
    "Reasoner",
    "Source",
    "TranscriptHook",
    "TranscriptWriter",
    "allowed_actions",
    "bundled_model_path",
    "nested_decision_schema",
    "open_chat_model",
    "parse_spec",
    "priors_from_memories",
    "read_transcript",
    "redact",
    "run_rewards",
]
