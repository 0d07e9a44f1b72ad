"""Agents: a chat generator and tools in a loop (:class:`Agent`), with tool-call confirmation."""

from haybale.components.agents.agent import Agent
from haybale.components.agents.confirmation import ConfirmationPolicy, ToolDecision

__all__ = ["Agent", "ConfirmationPolicy", "ToolDecision"]
