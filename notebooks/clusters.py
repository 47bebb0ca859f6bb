import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="WallTrack — clusters")


@app.cell
def _():
    import marimo as mo

    from walltrack.errors import WallTrackError
    from walltrack.intel.clusters import blacklist_cluster
    from walltrack.models import utcnow
    from walltrack.ui.cluster_view import cluster_edges, cluster_rows, graph_chart, member_rows
    from walltrack.ui.session import open_notebook_db

    return (
        WallTrackError,
        blacklist_cluster,
        cluster_edges,
        cluster_rows,
        graph_chart,
        member_rows,
        mo,
        open_notebook_db,
        utcnow,
    )


@app.cell
def _(open_notebook_db):
    db, db_error = open_notebook_db()
    return db, db_error


@app.cell
def _(mo):
    mo.md("""
    # Clusters
    Groups of wallets funded together that buy the same launches within minutes — and the
    wallet that buys first.
    """)
    return


@app.cell
def _(WallTrackError, cluster_rows, db, db_error):
    try:
        clusters = cluster_rows(db) if db is not None else []
        load_error = db_error
    except WallTrackError as exc:
        clusters, load_error = [], str(exc)
    return clusters, load_error


@app.cell
def _(clusters, load_error, mo):
    mo.stop(load_error is not None,
            mo.callout(mo.md(f"**Store unavailable.** {load_error}"), kind="danger"))
    mo.stop(not clusters, mo.callout(
        mo.md("No clusters yet: run `python jobs/build_clusters.py`."), kind="info"))
    mo.vstack([
        mo.md(f"**{len(clusters)} clusters**"),
        mo.ui.table(clusters, selection=None, label="Clusters", page_size=20),
    ])
    return


@app.cell
def _(clusters, mo):
    mo.stop(not clusters)
    chosen = mo.ui.dropdown(options=[c["cluster"] for c in clusters],
                            value=clusters[0]["cluster"], label="Cluster")
    chosen
    return (chosen,)


@app.cell
def _(chosen, cluster_edges, db, graph_chart, member_rows, mo):
    members = member_rows(db, chosen.value)
    edges = cluster_edges(db, chosen.value)
    mo.vstack([
        mo.md(f"### {chosen.value}: {len(members)} wallets, {edges.height} edges"),
        mo.ui.altair_chart(graph_chart(members, edges)),
        mo.ui.table(members, selection=None, label="Members", page_size=20),
    ])
    return


@app.cell
def _(chosen, mo):
    reason = mo.ui.text(value="insider cluster", label="Reason")
    blacklist = mo.ui.run_button(label=f"Blacklist the whole cluster {chosen.value}",
                                 kind="danger")
    mo.hstack([reason, blacklist], justify="start")
    return blacklist, reason


@app.cell
def _(WallTrackError, blacklist, blacklist_cluster, chosen, db, mo, reason,
      utcnow):
    mo.stop(not blacklist.value)
    try:
        changed = blacklist_cluster(db, chosen.value, reason.value, now=utcnow())
        outcome = mo.callout(mo.md(f"Blacklisted {changed} wallets of {chosen.value}."),
                             kind="success")
    except WallTrackError as exc:
        outcome = mo.callout(mo.md(f"Blacklisting failed: {exc}"), kind="danger")
    outcome
    return


if __name__ == "__main__":
    app.run()
