"""Helius client (placeholder while the HTTP part is written)."""

from walltrack.clients.helius_swaps import to_swaps

__all__ = ["to_swaps"]
