"""The clusters notebook under `marimo run`, in a real Chromium, against a real store."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.intel.graph_data import CLUSTERS, T0, planted_market
from walltrack.intel.blacklist import blacklisted_wallets
from walltrack.intel.clusters import build_clusters
from walltrack.models.config import ClusterConfig
from walltrack.store import Database
from walltrack.store.repositories import FundingTransferRepository, SwapRepository

pytestmark = pytest.mark.browser


def test_clusters_render_and_a_cluster_can_be_blacklisted(
    db: Database, db_url: str, page: Page, marimo_app
) -> None:
    swaps, transfers = planted_market()
    SwapRepository(db).copy_frame(swaps)
    FundingTransferRepository(db).copy_frame(transfers)
    build_clusters(db, ClusterConfig(), now=T0)
    with db.connection() as conn:
        first = conn.execute("SELECT id, leader FROM clusters ORDER BY size DESC, id"
                             ).fetchone()
    cluster_id, leader = first
    group = next(c for c in CLUSTERS.values() if c["leader"] == leader)
    with marimo_app("clusters.py", {"WALLTRACK_DATABASE_URL": db_url}) as app:
        page.goto(app.url)
        body = page.locator("body")
        expect(body).to_contain_text("2 clusters", timeout=60_000)
        expect(body).to_contain_text(cluster_id)
        expect(body).to_contain_text(leader[:4])
        # the chosen cluster's members with their roles, and its graph picture
        expect(body).to_contain_text("Members")
        expect(body).to_contain_text(group["funder"])
        expect(page.locator("canvas, svg.marks").first).to_be_attached(timeout=30_000)
        page.get_by_role("button", name=f"Blacklist the whole cluster {cluster_id}").click()
        expect(body).to_contain_text("Blacklisted", timeout=30_000)
    assert blacklisted_wallets(db) == {group["leader"], group["funder"], *group["members"]}
