"""Per-asset condition trend: the score of each recording over time with its threshold, the
alarms and the onset of the persistent alarm marked (:mod:`anomaly_diffusion.trend.onset`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from anomaly_diffusion.reports.figures import new_figure
from anomaly_diffusion.trend.timeline import time_label

MAX_PANELS = 6
"""Assets drawn (the most alarming first: persistent, then longest alarm run, then score)."""


def ranked_assets(onsets: pd.DataFrame) -> pd.DataFrame:
    """Assets in report order: persistent alarm first, then the current alarm run, then the
    latest score above threshold."""
    order = onsets.assign(
        _persistent=onsets["status"].eq("persistent alarm"),
        _margin=onsets["last_score"] - onsets["threshold"],
    )
    order = order.sort_values(
        ["_persistent", "alarm_run_now", "_margin"], ascending=False, kind="stable"
    )
    return order.drop(columns=["_persistent", "_margin"])


def plot_asset_trends(units: pd.DataFrame, assets: list[str], *, k: int) -> Figure:
    """One panel per asset in ``assets`` (at most :data:`MAX_PANELS`): unit score (median of
    its windows) against time, dashed threshold, red alarming units, a vertical line at the
    onset of the first persistent alarm (``k`` in a row)."""
    assets = assets[:MAX_PANELS]
    fig = new_figure(8.0, 2.3 * max(1, len(assets)))
    axes = np.atleast_1d(fig.subplots(max(1, len(assets)), 1, squeeze=False)[:, 0])
    for ax, asset in zip(axes, assets, strict=False):
        group = units.loc[units["asset"] == asset]
        x = group["time"]
        clock = pd.api.types.is_datetime64_any_dtype(x)
        score = group["score"].to_numpy(float)
        ax.plot(x, score, marker=".", markersize=3, linewidth=1, color="tab:blue", label="score")
        ax.step(
            x,
            group["threshold"],
            where="post",
            color="black",
            linestyle="--",
            linewidth=1,
            label="threshold",
        )
        alarm = group["alarm"].to_numpy(bool)
        if alarm.any():
            ax.scatter(x[alarm], score[alarm], color="red", s=14, zorder=3, label="alarm")
        onset = group.loc[group["onset"].to_numpy(bool), "time"]
        if len(onset):
            when = onset.iloc[0]
            text = time_label(when)
            ax.axvline(when, color="red", linewidth=1.5, label=f"onset {text} ({k} in a row)")
        ax.set_title(str(asset) or "(unnamed)", fontsize="small", loc="left")
        ax.set_ylabel("score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="upper left")
        if not clock:
            ax.set_xlabel("recording # (no time known: file-name order)")
    if len(assets) and pd.api.types.is_datetime64_any_dtype(units["time"]):
        fig.autofmt_xdate()
    return fig


def asset_table(onsets: pd.DataFrame) -> pd.DataFrame:
    """The report's per-asset rows as display text: asset, state, onset, first alarm,
    alarming in a row now, recordings, latest score / threshold, trend per day."""

    return pd.DataFrame(
        {
            "asset": onsets["asset"],
            "state": onsets["status"],
            "onset": onsets["onset_time"].map(time_label),
            "first alarm": onsets["first_alarm_time"].map(time_label),
            "in a row now": onsets["alarm_run_now"],
            "recordings": onsets["n_units"],
            "latest score / threshold": [
                f"{s:.4g} / {t:.4g}"
                for s, t in zip(onsets["last_score"], onsets["threshold"], strict=True)
            ],
            "trend / day": onsets["trend_per_day"].map(
                lambda v: "\u2014" if pd.isna(v) else f"{v:+.3g}"
            ),
        }
    )
