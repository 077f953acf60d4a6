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
# # The founding case: a renewed Circles Bulgaria application, May 2019
#
# On 14 May 2019 Access Now asked Bulgaria and Cyprus to "carefully scrutinize any further or renewed
# technology export applications or transfers from NSO Group, its affiliates, or similar surveillance
# technology exporters". Circles Bulgaria, an SS7 location-tracking firm merged with NSO in 2014, held a
# Bulgarian export licence. This notebook screens a renewed Circles Bulgaria application, dated the day of the
# letter, to each state Citizen Lab's "Hide and Seek" (2018) named as a Pegasus operator with prior abusive
# spyware use, with `er.screen`: what a licensing officer could have known that day, and only that.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import pandas as pd
from IPython.display import display
from matplotlib.figure import Figure

import exportrisk as er
from exportrisk.reporting.plots import BAND_COLOURS

# %% tags=["parameters"]
exporter = "Circles Bulgaria"
goods = "5A001.f"  # mobile telecommunications interception equipment: what an SS7 tracking system is read as
day = "2019-05-14"  # the day of the letter
earlier = "2016-01-01"  # the same application before the UAE case of August 2016 was public
finding = "curated:citizenlab-2018-hide-and-seek"

# %% [markdown]
# ## The states named in "Hide and Seek"
#
# The curated evidence holds one line per state the report names among the operators with prior abusive use.

# %%
evidence = er.load("evidence")
named = evidence[evidence["evidence_id"].eq(finding)]
states = sorted(named["country_code"].dropna())
er.display(named[["country_code", "country_raw", "published_date", "strength", "source_urls"]])


# %%
def screen_all(date: str) -> pd.DataFrame:
    """One application per state, screened as of ``date`` (the table only: memos are for single cases)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "applications.csv"
        pd.DataFrame(
            {
                "application_id": [f"circles-{s.lower()}" for s in states],
                "exporter": exporter,
                "destination": states,
                "goods": goods,
                "date": date,
            }
        ).to_csv(path, index=False)
        return er.screen(csv=path, out=Path(folder) / "out", memos=False)


may_2019 = screen_all(day)
columns = ["destination_country_code", "band", "score", "score_best", "score_worst", "floors", "smallest_change"]
er.display(may_2019[columns])

# %% [markdown]
# ## Scores on the day of the letter, and before August 2016
#
# Bars: each state's score on 14 May 2019 in the colour of its band; dots: the same application dated
# 1 January 2016, before Citizen Lab's finding on the UAE (24 August 2016) and before NSO's misuse reached
# Circles through the network.

# %%
before = screen_all(earlier).set_index("destination_country_code")["score"]
scores = may_2019.set_index("destination_country_code")
with er.plots.styled():
    fig = Figure(figsize=(7, 3.5), layout="tight")
    ax = fig.subplots()
    ax.bar(scores.index, scores["score"], color=[BAND_COLOURS[b] for b in scores["band"]], label=day)
    ax.scatter(before.index, before.reindex(scores.index), color="black", zorder=3, label=earlier)
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (0-100)")
    ax.set_title(f"{exporter}, {goods}: screened on {day} (bars) and {earlier} (dots)")
    ax.legend(loc="lower right")
display(fig)

# %% [markdown]
# ## Why: the reason of each screening
#
# The reason names the floors that apply (a government named as an operator of surveillance tools, or
# documented as having used them) and the exporter's link to documented misuse through its network.

# %%
for row in may_2019.itertuples():
    print(f"{row.destination_country_code}: {row.reason}\n")

# %% [markdown]
# ## The path from Circles Bulgaria to NSO Group on that day
#
# The network as it stood on the day: the 2014 merger links Circles to NSO, and through it to NSO's owners
# and affiliates. Our sources reported the merger only in 2020-2021: the memo of a single screening says which
# links were reported after its date.

# %%
er.display(er.affiliates(exporter, day)[["name", "hops", "relation_kinds", "path"]])

# %% [markdown]
# ## What the data cannot say
#
# Bulgaria published no licence-level data on surveillance exports before 2021, so whether such applications
# were made, and to whom, is unknown here: the screening shows what a decision could have weighed, not what
# was decided. The European Parliament's PEGA inquiry (2023) called Bulgaria and Cyprus export hubs for spyware.
