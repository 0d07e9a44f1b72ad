"""Agents: a chat generator and tools in a loop (:class:`Agent`)."""

from haybale.components.agents.agent import Agent

__all__ = ["Agent"]
