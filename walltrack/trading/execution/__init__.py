"""Execution behind one interface: paper (a fill at the real quote) and live (Jupiter →
sign → simulate → send → confirm → the landed meta). The engine never knows which."""

from walltrack.trading.execution.base import (
    Executor,
    Fill,
    Prepared,
    SendRejected,
    SwapRequest,
)
from walltrack.trading.execution.paper import PaperExecutor

__all__ = ["Executor", "Fill", "PaperExecutor", "Prepared", "SendRejected", "SwapRequest"]
