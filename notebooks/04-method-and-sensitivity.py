# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (exportrisk)
#     language: python
#     name: exportrisk
# ---

# %% [markdown]
# # The method and its sensitivity
#
# A licence line's score is its context, the weighted mean of D (the destination's record), E (documented
# abuse) and U (the end-user), kept in part by the goods factor (I, the nature of the goods), plus X
# (transaction and exporter points), capped at 100; floors then lift it to a band where prior use or naming
# as an operator demands. Every number is in `exportrisk/metadata/scoring.yaml`, the reasons in
# `docs/methodology.md`. Do the bands depend on the weights chosen?

# %%
# %matplotlib inline
import dataclasses

import pandas as pd
from IPython.display import display
from matplotlib.ticker import PercentFormatter

import exportrisk as er
from exportrisk.schema import BANDS
from exportrisk.scoring import score as scoring

cfg = scoring.load_config()
lines = er.load("score_lines")

# %% [markdown]
# ## Weights and bands

# %%
weights = {f"context: {k}": v for k, v in dataclasses.asdict(cfg.weights).items()}
weights |= {f"destination measure: {k}": m.weight for k, m in cfg.destination.measures.items()}
weights["goods: share of the context kept whatever the goods"] = cfg.goods.keep_share
er.display(pd.DataFrame({"weight": weights}).rename_axis("what"))

# %%
er.display(pd.DataFrame({"from score": cfg.bands}).rename_axis("band"))

# %% [markdown]
# The components behind each band, as means over the licence lines in it:

# %%
components = ["d_score", "e_score", "u_score", "i_score", "x_score", "score", "coverage"]
er.display(lines.groupby("band", observed=True)[components].mean())

# %% [markdown]
# ## How bands move with the weights
#
# `exportrisk.scoring.score.sensitivity` multiplies every weight by its own random factor (seeded, up to ±50%),
# renormalises, and rescores every licence, 200 times. `er.load` runs it if its table is missing. Below: the
# share of each band's licences that change band in at least one draw, and in most draws.

# %%
sensitivity = er.load("sensitivity")
summary = er.load("sensitivity_summary").pivot(index="scope", columns="statistic", values="value")
moved = summary.loc[["all", *BANDS], ["licences", "share_band_depends_on_weights", "share_band_kept_in_under_half"]]
er.display(moved.dropna())

# %%
shown = moved.dropna().drop(index="all")
with er.plots.styled():
    fig, (ax,) = er.plots.new_figure()
    ax.bar(shown.index, shown["share_band_depends_on_weights"], label="in at least one draw")
    ax.bar(shown.index, shown["share_band_kept_in_under_half"], label="in most draws")
    ax.set_title("Licences whose band depends on the weights")
    ax.set_ylabel("Share of the band's licences")
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.legend(loc="upper left")
display(fig)

# %% [markdown]
# Where they go: each licence's band with the configuration's weights (rows) and the highest band any draw
# gives it (columns). Moderate, a band between two thresholds, moves most; most High licences are held
# there by a floor, which does not depend on the weights.

# %%
er.display(pd.crosstab(sensitivity["score_band"], sensitivity["highest_band"]))

# %% [markdown]
# The ranking of destination countries by mean licence score hardly moves (Kendall's tau between the
# ranking with the configuration's weights and each draw's):

# %%
er.display(summary.loc[["all"], ["countries_ranked", "kendall_tau_median", "kendall_tau_p05", "kendall_tau_min"]])

# %% [markdown]
# ## One alternative, by hand
#
# `er.score` takes any scoring configuration: here D, E and U weigh the same, on the cyber-surveillance lines.
# Rows: band with the configuration's weights; columns: with equal weights.

# %%
licences = er.load("licences")
surveillance = licences[licences["surveillance_type"].notna()]
equal = dataclasses.replace(cfg, weights=scoring.Weights(destination=1 / 3, abuse=1 / 3, end_user=1 / 3))
er.display(pd.crosstab(er.score(surveillance)["band"], er.score(surveillance, equal)["band"]))
