"""Cluster factor: amplification by the wallet's own cluster, confirmation by others.

    members   m = min(1, other members of its cluster that bought the mint in the window
                         / members_saturate)
    leader    l = 1 when the cluster's leader bought in the window (or the wallet is it)
    confirm   i = min(1, distinct watched wallets of *other* clusters (or none) that bought
                         it in the window / confirmations_saturate)
    cluster   = min(1, 0.30 + 0.35 m + 0.15 l + 0.20 i)

A lone, unconfirmed wallet scores 0.30: it can still pass the threshold on its own merits.
"""

from __future__ import annotations

from walltrack.intel.amplification import Amplification
from walltrack.live.scoring.factor import FactorResult, clamp

BASE, MEMBERS, LEADER, CONFIRM = 0.30, 0.35, 0.15, 0.20


def cluster_factor(amp: Amplification, independent: int, *, members_saturate: int,
                   confirmations_saturate: int) -> FactorResult:
    m = min(1.0, amp.members_bought / members_saturate)
    leader = 1.0 if amp.cluster_id is not None and amp.leader_bought else 0.0
    i = min(1.0, independent / confirmations_saturate)
    value = clamp(BASE + MEMBERS * m + LEADER * leader + CONFIRM * i)
    return FactorResult(value, {
        "cluster_id": amp.cluster_id, "cluster_size": amp.cluster_size,
        "members_bought": amp.members_bought, "leader_bought": amp.leader_bought,
        "independent": independent})
