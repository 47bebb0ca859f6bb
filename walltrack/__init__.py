"""WallTrack: smart-money discovery, wallet graph and copy trading for Solana memecoins."""

__version__ = "0.1.0"
