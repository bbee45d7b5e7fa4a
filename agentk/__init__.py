"""AgentK: an autonomous data-science agent service for Kaggle-style competitions."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
