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
# # Licences overview
#
# Which export licences the project holds, who decided them and when, and how risky they look by the
# project's ex-ante score. Tables come from `er.load`, which builds a missing one from `data/raw/` first;
# every number is computed by the library (`exportrisk.reporting.sections`, the same functions the country reports use).
# Edit the `.py` file beside this notebook: jupytext keeps the pair in sync.

# %%
# %matplotlib inline
import exportrisk as er
from exportrisk import reports

licences = er.load("licences")
scored = reports.scored_lines(licences, er.load("score_lines"))
units = reports.licence_units(scored)  # a licence counts once, by its highest-scoring line
source = ", ".join(sorted(licences["source"].unique()))

# %% [markdown]
# ## What the data holds
#
# A licence that names several destinations or control codes has one line per destination and code. Values
# are in each state's currency and counted once per licence, even where a source repeats one value on
# several lines.

# %%
states = units.groupby(["licensing_country_code", "source"]).agg(
    licences=("licence_id", "size"),
    lines=("n_lines", "sum"),
    first_year=("year", "min"),
    last_year=("year", "max"),
    currency=("currency_code", "first"),
    value=("value", "sum"),
)
er.display(states.reset_index())

# %%
by_state = reports.by_year_and_state(units)
er.plots.licences_by_year_and_state(by_state, "Licences per decision year and licensing state", source)

# %% [markdown]
# ## How risky, by the ex-ante score
#
# Each licence's band is that of its highest-scoring line, scored with what was public before its decision
# date. A band is *indeterminate* where the data gaps (a missing indicator, an unknown end-user) leave room
# for two bands. The UK publishes values in one currency, so its chart shows value by band as well.

# %%
er.display(reports.band_distribution(units))

# %%
uk = units[units["licensing_country_code"].eq("GBR")]
er.plots.licences_by_year_and_band(reports.by_year_and_band(uk), "UK licences by risk band", source)

# %% [markdown]
# ## The highest-risk licences, and surveillance goods
#
# The ten highest scores with their components: D the destination's record, E documented abuse, U the
# end-user, I the goods, X the transaction and the exporter. Then every cyber-surveillance line whose band
# is High or above.

# %%
er.display(reports.top_licences(units, scored))

# %%
surveillance = reports.surveillance_to_high(scored)
er.display(surveillance.groupby(["destination", "surveillance type"]).size().nlargest(10).reset_index(name="lines"))

# %% [markdown]
# ## Nothing is lost
#
# Every raw row ends in a table (licences, indicators, evidence, ...) or here, as a reject with a reason; the
# counts reconcile per raw file.

# %%
rejects = er.load("rejects")
er.display(rejects.groupby(["table", "reason_code"], observed=True).size().reset_index(name="rows"))
