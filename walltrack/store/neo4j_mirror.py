"""Optional Neo4j mirror of the wallet graph, for exploration (DESIGN.md section 3).

Pure Cypher generation (``constraint_statements``, ``mirror_statements``) plus an async sync
through the official driver. Every write is a batched ``UNWIND $rows AS r MERGE …``, so a
re-run changes nothing (idempotent). Labels ``Wallet``, ``Token``, ``Cluster``;
relationships ``FUNDED_BY``, ``SYNCED_BUY``, ``EARLY_ON`` (wallet → wallet), ``MEMBER_OF``
(wallet → cluster, with role and leads) and ``SHARED`` (cluster → token, its shared
tokens). EARLY_ON edges are not mirrored by ``read_graph`` (too many, little to explore).
Runs only when ``WALLTRACK_NEO4J_URI`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from walltrack.errors import StoreError
from walltrack.logging import get_logger
from walltrack.settings import Settings
from walltrack.store import Database

log = get_logger(__name__)

BATCH = 1_000
EDGE_KINDS = ("FUNDED_BY", "SYNCED_BUY", "EARLY_ON")


@dataclass(frozen=True)
class Statement:
    cypher: str
    params: dict[str, Any]


def constraint_statements() -> list[Statement]:
    return [Statement(
        f"CREATE CONSTRAINT {label.lower()}_{key} IF NOT EXISTS "
        f"FOR (n:{label}) REQUIRE n.{key} IS UNIQUE", {})
        for label, key in (("Wallet", "address"), ("Token", "mint"), ("Cluster", "id"))]


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


WALLETS = ("UNWIND $rows AS r MERGE (w:Wallet {address: r.address}) "
           "SET w.score = r.score, w.status = r.status, w.cluster_id = r.cluster_id")
TOKENS = "UNWIND $rows AS r MERGE (:Token {mint: r.mint})"
CLUSTERS = ("UNWIND $rows AS r MERGE (c:Cluster {id: r.id}) "
            "SET c.size = r.size, c.leader = r.leader, c.funder = r.funder, "
            "c.mean_score = r.mean_score")
MEMBERS = ("UNWIND $rows AS r MATCH (w:Wallet {address: r.wallet}) "
           "MATCH (c:Cluster {id: r.cluster_id}) MERGE (w)-[m:MEMBER_OF]->(c) "
           "SET m.role = r.role, m.leads = r.leads")
SHARED = ("UNWIND $rows AS r MATCH (c:Cluster {id: r.cluster_id}) "
          "MATCH (t:Token {mint: r.mint}) MERGE (c)-[:SHARED]->(t)")


def edge_cypher(kind: str) -> str:
    if kind not in EDGE_KINDS:  # the label is interpolated: only known kinds
        raise ValueError(f"unknown edge kind {kind!r}")
    return (f"UNWIND $rows AS r MERGE (a:Wallet {{address: r.src}}) "
            f"MERGE (b:Wallet {{address: r.dst}}) MERGE (a)-[e:{kind}]->(b) "
            "SET e.weight = r.weight, e.src_first = r.src_first, e.dst_first = r.dst_first, "
            "e.tokens = r.tokens")


def mirror_statements(
    wallets: list[dict[str, Any]], clusters: list[dict[str, Any]],
    members: list[dict[str, Any]], edges: list[dict[str, Any]], *, batch: int = BATCH,
) -> list[Statement]:
    """Statements that mirror the given rows; nodes before relationships."""
    wallet_rows = {w["address"]: w for w in wallets}
    for m in members:
        wallet_rows.setdefault(m["wallet"], {"address": m["wallet"], "score": None,
                                             "status": None, "cluster_id": m["cluster_id"]})
    mints = sorted({t for c in clusters for t in c.get("shared_tokens", [])})
    shared = [{"cluster_id": c["id"], "mint": t} for c in clusters
              for t in c.get("shared_tokens", [])]
    out: list[Statement] = []
    plan: list[tuple[str, list[dict[str, Any]]]] = [
        (WALLETS, [wallet_rows[a] for a in sorted(wallet_rows)]),
        (TOKENS, [{"mint": t} for t in mints]),
        (CLUSTERS, [{k: c.get(k) for k in ("id", "size", "leader", "funder", "mean_score")}
                    for c in clusters]),
        (MEMBERS, members),
        (SHARED, shared),
    ]
    for kind in EDGE_KINDS:
        plan.append((edge_cypher(kind), [
            {k: e.get(k) for k in ("src", "dst", "weight", "src_first", "dst_first", "tokens")}
            for e in edges if e["kind"] == kind]))
    for cypher, rows in plan:
        out.extend(Statement(cypher, {"rows": chunk}) for chunk in _batches(rows, batch))
    return out


def read_graph(db: Database) -> tuple[list[dict[str, Any]], ...]:
    with db.cursor() as cur:
        cur.execute("SELECT address, score, status, cluster_id FROM wallets "
                    "WHERE cluster_id IS NOT NULL")
        wallets = cur.fetchall()
        cur.execute("SELECT id, size, leader, funder, mean_score, shared_tokens FROM clusters")
        clusters = cur.fetchall()
        cur.execute("SELECT cluster_id, wallet, role, leads FROM cluster_members")
        members = cur.fetchall()
        cur.execute("SELECT src, dst, kind, weight, src_first, dst_first, tokens "
                    "FROM wallet_edges WHERE kind <> 'EARLY_ON'")
        edges = cur.fetchall()
    return wallets, clusters, members, edges


async def sync_to_neo4j(db: Database, settings: Settings) -> int | None:
    """Mirror the store's graph to ``settings.neo4j_uri``; return the number of statements
    run (None: no Neo4j configured)."""
    uri = settings.neo4j_uri
    if not uri:
        return None
    from neo4j import AsyncGraphDatabase
    from neo4j.exceptions import Neo4jError, ServiceUnavailable

    password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else ""
    auth = (settings.neo4j_user, password)
    statements = constraint_statements() + mirror_statements(*read_graph(db))
    try:
        async with AsyncGraphDatabase.driver(uri, auth=auth) as driver:
            for st in statements:
                await driver.execute_query(st.cypher, st.params)
    except (Neo4jError, ServiceUnavailable, OSError) as exc:
        raise StoreError(f"Neo4j mirror failed: {type(exc).__name__}",
                         hint="check WALLTRACK_NEO4J_URI and the credentials") from None
    log.info("neo4j_mirrored", statements=len(statements))
    return len(statements)
