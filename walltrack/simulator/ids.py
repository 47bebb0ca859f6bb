"""Deterministic, valid-looking Solana identifiers drawn from a seeded generator.

A random base58 string is a valid 32-byte key (64-byte signature) when its numeric value is
in range; fixing the first digit keeps it there, so no big-integer work is needed and a
million ids cost a few numpy operations.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from solders.pubkey import Pubkey
from solders.signature import Signature

ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALPHA = np.frombuffer(ALPHABET, dtype=np.uint8)


def _random_base58(rng: np.random.Generator, n: int, length: int, first_max: int) -> np.ndarray:
    digits = rng.integers(0, 58, size=(n, length), dtype=np.uint8)
    # First digit in 1..first_max: the value is ≥ 58^(len-1) (no leading zero byte) and
    # < first_max·58^(len-1) < 256^bytes (fits) — so it decodes to exactly the right size.
    digits[:, 0] = rng.integers(1, first_max + 1, size=n, dtype=np.uint8)
    chars = _ALPHA[digits]
    return chars.view(f"S{length}").ravel()


def addresses(rng: np.random.Generator, n: int, suffix: str = "") -> list[str]:
    """``n`` 44-character base58 public keys (optionally ending in ``suffix``, like 'pump')."""
    raw = _random_base58(rng, n, 44, 16)
    if suffix:
        tail = np.frombuffer(suffix.encode(), dtype=np.uint8)
        arr = raw.view(np.uint8).reshape(n, 44).copy()
        arr[:, 44 - len(tail) :] = tail
        raw = arr.view("S44").ravel()
    return [s.decode() for s in raw.tolist()]


def signatures(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` 88-character base58 transaction signatures (64 bytes each)."""
    return [s.decode() for s in _random_base58(rng, n, 88, 4).tolist()]


@lru_cache(maxsize=500_000)
def derived_address(*parts: str) -> str:
    """A stable address derived from other ids (token accounts, vaults): hash → base58.

    Rendering derives several per transaction, so base58 is done by solders (Rust) and
    repeated ones (vaults, token accounts) come from the cache.
    """
    return str(Pubkey.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()))


def derived_signature(*parts: str) -> str:
    return str(Signature.from_bytes(hashlib.sha512("/".join(parts).encode()).digest()))
