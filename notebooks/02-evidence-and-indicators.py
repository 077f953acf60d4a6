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
# # Evidence and indicators over time
#
# The score asks what was public *before* each licence was decided: the destination's human-rights indices
# (component D) and documented surveillance abuse (component E). This notebook shows that evidence over time,
# for every state and for one country, and what a decision on a given day could have known. People targeted
# appear only by a pseudonymous id and the kind of person they are, never by name.

# %%
# %matplotlib inline
import pandas as pd

import exportrisk as er
from exportrisk.reporting import runner as report_runner
from exportrisk.reporting import sections as reports

# %% tags=["parameters"]
country = "Mexico"  # an ISO3 code or any country name the mappings know
decided = "2015-06-01"  # a decision day: what could it know?
later = "2022-01-01"  # and what was known by this later day

# %%
evidence = er.load("evidence")
spec = reports.check_parameters(country, "destination")
source = ", ".join(sorted(evidence["source"].unique()))

# %% [markdown]
# ## Published evidence, all states
#
# Each marker is a day on which evidence was published, sized by the entries that day: targeting incidents
# (one person targeted), published findings naming operator states, legal complaints, a vendor's customer
# lists, listings of vendors and export hubs. It appeared from 2016 on, after most licences here were decided.

# %%
er.plots.evidence_timeline(reports.evidence_by_day(evidence), "Published evidence of spyware abuse", source)

# %% [markdown]
# ## The evidence naming one state

# %%
country_evidence = reports.country_evidence(evidence, spec)
er.plots.evidence_timeline(
    reports.evidence_by_day(country_evidence), f"Evidence naming {spec.country_name}'s state", source
)

# %%
er.display(reports.evidence_listing(country_evidence))

# %% [markdown]
# ## Human-rights indicators
#
# Political Terror Scale and Freedom House on one scale, 0 (best) to 100 (worst), each year as its latest
# edition gives it.

# %%
indicators = er.load("indicators")
trends = reports.indicator_trends(indicators, report_runner.indicator_titles(), spec, first_year=2000)
er.plots.indicator_trends(
    trends, f"{spec.country_name}: human-rights indicators", ", ".join(sorted(indicators["source"].unique()))
)

# %% [markdown]
# ## What a decision could know
#
# On the decision day, the score reads each indicator's latest value published strictly before it (a value
# more than two years behind the newest edition is not used; one behind at all is flagged stale) and only the
# evidence published before it.

# %%
er.display(er.indicators_as_of(decided, spec.country_code))

# %%
known = {day: er.evidence_as_of(day, spec.country_code)["kind"].value_counts() for day in (decided, later)}
er.display(pd.DataFrame(known).fillna(0).astype(int).rename_axis("kind").reset_index())

# %% [markdown]
# ## Ex ante and in hindsight
#
# The licences to this state were decided before most of its evidence appeared. Their ex-ante band uses only
# what was public then; the hindsight band uses all the evidence, and is never the basis of a score. Rows:
# ex-ante band; columns: hindsight band; cells: licence lines.

# %%
lines = er.load("score_lines")
to_country = lines[lines["destination_country_code"].eq(spec.country_code).fillna(False).astype(bool)]
er.display(pd.crosstab(to_country["band"], to_country["hindsight_band"]))
