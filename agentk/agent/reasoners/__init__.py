"""Reasoners choose the loop's next action: an offline policy (the default) or an LLM through langchain."""

from __future__ import annotations

from agentk.agent.reasoners._base import Decision, Reasoner, Source
from agentk.agent.reasoners._models import LocalLlamaServer, ModelSpec, open_chat_model, parse_spec
from agentk.agent.reasoners.llm import LLMReasoner
from agentk.agent.reasoners.policy import FamilyBandit, PolicyReasoner, priors_from_memories, run_rewards

__all__ = [
    "Decision",
    "FamilyBandit",
    "LLMReasoner",
    "LocalLlamaServer",
    "ModelSpec",
    "PolicyReasoner",
    "Reasoner",
    "Source",
    "open_chat_model",
    "parse_spec",
    "priors_from_memories",
    "run_rewards",
]
