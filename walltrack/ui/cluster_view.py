"""What the clusters notebook shows: the cluster list, one cluster's members and its graph
picture (networkx layout → altair). Reads the store; no business rules here."""

from __future__ import annotations

from typing import Any

import altair as alt
import networkx as nx
import polars as pl

from walltrack.store import Database
from walltrack.store.frames import query_frame


def short(address: str | None) -> str:
    return "" if not address else f"{address[:4]}…{address[-4:]}"


def cluster_rows(db: Database) -> list[dict[str, Any]]:
    """One row per cluster, largest first."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT id, size, leader, funder, mean_score, shared_tokens, computed_at "
            "FROM clusters ORDER BY size DESC, id")
        rows = cur.fetchall()
    return [{
        "cluster": r["id"], "size": r["size"], "leader": r["leader"],
        "mean score": None if r["mean_score"] is None else round(r["mean_score"], 3),
        "shared tokens": len(r["shared_tokens"]),
        "tokens": ", ".join(short(t) for t in r["shared_tokens"][:5]),
        "funder": r["funder"], "computed": r["computed_at"].isoformat(timespec="minutes"),
    } for r in rows]


def member_rows(db: Database, cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's members with their roles and profile metrics (when profiled)."""
    with db.cursor() as cur:
        cur.execute(
            """SELECT m.wallet, m.role, m.leads, w.status, w.score,
                      x.closed_trades, x.win_rate, x.realized_pnl_sol, x.roi
               FROM cluster_members m
               LEFT JOIN wallets w ON w.address = m.wallet
               LEFT JOIN wallet_metrics x ON x.wallet = m.wallet
               WHERE m.cluster_id = %s
               ORDER BY CASE m.role WHEN 'leader' THEN 0 WHEN 'member' THEN 1 ELSE 2 END,
                        m.leads DESC, m.wallet""", (cluster_id,))
        rows = cur.fetchall()
    def rnd(v: float | None, n: int = 3) -> float | None:
        return None if v is None else round(v, n)
    return [{"wallet": r["wallet"], "role": r["role"], "leads": r["leads"],
             "status": r["status"] or "not tracked", "score": rnd(r["score"]),
             "trades": r["closed_trades"], "win rate": rnd(r["win_rate"]),
             "pnl SOL": rnd(r["realized_pnl_sol"]), "roi": rnd(r["roi"])} for r in rows]


def cluster_edges(db: Database, cluster_id: str) -> pl.DataFrame:
    """FUNDED_BY and SYNCED_BUY edges between the cluster's members."""
    return query_frame(
        db, """SELECT e.src, e.dst, e.kind, e.weight FROM wallet_edges e
               JOIN cluster_members a ON a.wallet = e.src AND a.cluster_id = %s
               JOIN cluster_members b ON b.wallet = e.dst AND b.cluster_id = %s
               WHERE e.kind IN ('FUNDED_BY', 'SYNCED_BUY') ORDER BY e.src, e.dst, e.kind""",
        (cluster_id, cluster_id),
        schema={"src": pl.String, "dst": pl.String, "kind": pl.String, "weight": pl.Float64})


def graph_chart(members: list[dict[str, Any]], edges: pl.DataFrame, *, seed: int = 42
                ) -> alt.LayerChart:
    """Nodes placed by a seeded spring layout; funding edges dashed, synced buys solid and
    thicker with more shared tokens; the leader drawn larger and in its own colour."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted(m["wallet"] for m in members))
    graph.add_weighted_edges_from(edges.select("src", "dst", "weight").iter_rows())
    pos = nx.spring_layout(graph, seed=seed) if graph.number_of_nodes() else {}
    nodes = pl.DataFrame([{
        "wallet": m["wallet"], "label": short(m["wallet"]), "role": m["role"],
        "leads": m["leads"], "x": float(pos[m["wallet"]][0]), "y": float(pos[m["wallet"]][1]),
    } for m in members])
    segs = pl.DataFrame([{
        "kind": k, "weight": wt, "x": float(pos[s][0]), "y": float(pos[s][1]),
        "x2": float(pos[d][0]), "y2": float(pos[d][1]),
    } for s, d, k, wt in edges.iter_rows() if s in pos and d in pos], schema={
        "kind": pl.String, "weight": pl.Float64, "x": pl.Float64, "y": pl.Float64,
        "x2": pl.Float64, "y2": pl.Float64})
    axis = alt.Axis(labels=False, ticks=False, title=None, grid=False)
    lines = alt.Chart(segs).mark_rule(opacity=0.6).encode(
        x=alt.X("x:Q", axis=axis), y=alt.Y("y:Q", axis=axis), x2="x2:Q", y2="y2:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=["FUNDED_BY", "SYNCED_BUY"],
                                                  range=["#888888", "#1f77b4"])),
        strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(
            domain=["FUNDED_BY", "SYNCED_BUY"], range=[[4, 4], [1, 0]])),
        strokeWidth=alt.StrokeWidth("weight:Q", scale=alt.Scale(range=[1, 5])),
        tooltip=["kind", "weight"],
    )
    points = alt.Chart(nodes).mark_circle(stroke="black").encode(
        x="x:Q", y="y:Q",
        color=alt.Color("role:N", scale=alt.Scale(domain=["leader", "member", "funder"],
                                                  range=["#d62728", "#2ca02c", "#ff7f0e"])),
        size=alt.Size("role:N", scale=alt.Scale(domain=["leader", "member", "funder"],
                                                range=[600, 200, 300]), legend=None),
        tooltip=["wallet", "role", "leads"],
    )
    labels = alt.Chart(nodes).mark_text(dy=-14, fontSize=10).encode(x="x:Q", y="y:Q",
                                                                     text="label:N")
    # Edge kinds and member roles are two legends: a shared colour scale would merge them.
    return (lines + points + labels).resolve_scale(color="independent").properties(
        width=520, height=380)
