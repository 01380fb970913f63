"""The devnet's local compute node: runs PROGRAM messages as isolated local processes."""

from __future__ import annotations

from fishnet_stack.devnet.crn.node import ComputeNode
from fishnet_stack.devnet.crn.source import ProgramSource

__all__ = ["ComputeNode", "ProgramSource"]
