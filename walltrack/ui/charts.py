"""Altair chart builders the notebooks share (shown with ``mo.ui.altair_chart``)."""

from __future__ import annotations

import altair as alt
import polars as pl

GAIN, LOSS = "#2e7d32", "#c62828"
OUTCOME_COLORS = {
    "eligible → opened": "#2e7d32", "eligible → confirmation": "#66bb6a",
    "eligible → refused": "#ef6c00", "eligible": "#fdd835", "log_only": "#b0bec5",
    "log_only → ignored": "#90a4ae", "eligible → mirror_exit": "#5c6bc0",
    "eligible → ignored": "#78909c",
}


def equity_chart(curve: pl.DataFrame, *, width: int = 640) -> alt.VConcatChart:
    """Equity over time, its drawdown from the running peak beneath (shared time axis)."""
    base = alt.Chart(curve).encode(x=alt.X("at:T", title=None))
    equity = alt.layer(
        base.mark_line(color="#1565c0", interpolate="step-after").encode(
            y=alt.Y("equity_sol:Q", title="equity (SOL)", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("at:T"), alt.Tooltip("equity_sol:Q", format=".4f"),
                     alt.Tooltip("peak_sol:Q", format=".4f")]),
        base.mark_line(color="#9e9e9e", strokeDash=[4, 3], interpolate="step-after").encode(
            y="peak_sol:Q"),
    ).properties(height=220, width=width, title="Equity")
    dd = base.mark_area(color=LOSS, opacity=0.5, interpolate="step-after").encode(
        y=alt.Y("drawdown:Q", title="drawdown", axis=alt.Axis(format="%"),
                scale=alt.Scale(reverse=True)),
        tooltip=[alt.Tooltip("at:T"), alt.Tooltip("drawdown:Q", format=".1%")],
    ).properties(height=100, width=width)
    return alt.vconcat(equity, dd, spacing=4)


def daily_pnl_chart(daily: pl.DataFrame, *, width: int = 640) -> alt.Chart:
    """Realized PnL per day: gains green, losses red."""
    return (
        alt.Chart(daily)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None, timeUnit="utcyearmonthdate"),
            y=alt.Y("pnl_sol:Q", title="realized PnL (SOL)"),
            color=alt.Color("sign:N", legend=None,
                            scale=alt.Scale(domain=["gain", "loss"], range=[GAIN, LOSS])),
            tooltip=[alt.Tooltip("day:T", timeUnit="utcyearmonthdate"),
                     alt.Tooltip("pnl_sol:Q", format="+.4f"), "fills:Q"],
        )
        .properties(height=220, width=width, title="Daily realized PnL")
    )


def signals_chart(per_day: pl.DataFrame, *, width: int = 640) -> alt.Chart:
    """Signals per day, stacked by outcome (the scoring's decision → the engine's action)."""
    seen = per_day["outcome"].unique().sort().to_list()
    domain = [o for o in OUTCOME_COLORS if o in seen] + [o for o in seen
                                                         if o not in OUTCOME_COLORS]
    palette = [OUTCOME_COLORS.get(o, "#8d6e63") for o in domain]
    return (
        alt.Chart(per_day)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None, timeUnit="utcyearmonthdate"),
            y=alt.Y("sum(signals):Q", title="signals", stack="zero"),
            color=alt.Color("outcome:N", title="outcome",
                            scale=alt.Scale(domain=domain, range=palette)),
            tooltip=[alt.Tooltip("day:T", timeUnit="utcyearmonthdate"), "outcome:N",
                     "signals:Q"],
        )
        .properties(height=220, width=width, title="Signals per day")
    )
