"""Precedent: the licensing state's own refusals for the same destination, public before the decision day.

A state that refused a licence under the repression criterion has said, in public, that exports of that kind
to that destination risk being used for internal repression. The refusals count as they were published (the
UK publishes its refusals with their criteria in quarterly statistics), never before: a refusal is public from
the first day of the month ``lag_months`` after the end of its decision's quarter, so a line can never count
its own refusal, nor one decided on or after its day. The method: docs/methodology.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRECEDENT_COLUMNS = ["licence_id", "licensing_country_code", "destination_country_code", "family", "public_date"]
KEY = ["licensing_country_code", "destination_country_code"]


def goods_family(control_code: pd.Series, goods_category: pd.Series) -> pd.Series:
    """Each line's goods family: its military list entry (ML1 ... ML22), its dual-use control entry (five
    characters, e.g. 5A001), else its goods_category: the "essentially identical" goods of a precedent."""
    code = control_code.astype("string").str.upper()
    military = code.str.extract(r"^(ML\d+)", expand=False)
    dual_use = code.str.extract(r"^(\d[A-E]\d{3})", expand=False)
    return military.fillna(dual_use).fillna(goods_category.astype("string")).fillna("unknown")


def public_date(decided: pd.Series, lag_months: int) -> pd.Series:
    """The day a refusal decided on ``decided`` is taken as public: the first day of the month ``lag_months``
    after the end of its quarter (lag 4: a refusal of January-March from 1 August)."""
    quarter_start = decided.dt.to_period("Q").dt.start_time
    return (quarter_start + pd.DateOffset(months=3 + lag_months)).astype("datetime64[ms]")


def precedents(licences: pd.DataFrame, criteria: tuple[str, ...], lag_months: int) -> pd.DataFrame:
    """The refusals that can be precedents: one row per refused licence, destination and goods family, for
    refusals citing one of ``criteria`` (refusal_criteria is ';'-separated), with the day each became public."""
    refused = licences[licences["outcome"].eq("refused") & licences["destination_country_code"].notna()]
    cited = refused["refusal_criteria"].fillna("").astype("string").str.split(";")
    refused = refused[cited.map(lambda c: bool(set(c) & set(criteria))).to_numpy(dtype=bool)]
    out = pd.DataFrame(
        {
            "licence_id": refused["licence_id"].astype("string"),
            "licensing_country_code": refused["licensing_country_code"].astype("string"),
            "destination_country_code": refused["destination_country_code"].astype("string"),
            "family": goods_family(refused["control_code"], refused["goods_category"]),
            "public_date": public_date(refused["decision_date"].astype("datetime64[ms]"), lag_months),
        }
    )
    return out.drop_duplicates().reset_index(drop=True)


def precedent_record(
    keys: pd.DataFrame, found: pd.DataFrame, other_family: float, half_life_years: float
) -> pd.DataFrame:
    """For each row of ``keys`` (licensing_country_code, destination_country_code, family, date): the weight of
    the precedents public strictly before the date and the ids of the refused licences counted.

    A refused licence counts once: 1 if it refused the same goods family, else ``other_family``, times
    0.5 ^ (years since it became public / half_life_years). Returns, row for row: precedent_weight, precedent_ids.
    """
    queries = keys.assign(query=np.arange(len(keys)))
    hits = queries.merge(found.rename(columns={"family": "refused_family"}), on=KEY)
    hits = hits[hits["public_date"] < hits["date"]]
    same = hits["refused_family"].eq(hits["family"]).to_numpy()
    age = (hits["date"] - hits["public_date"]).dt.days.to_numpy() / 365.25
    hits = hits.assign(weight=np.where(same, 1.0, other_family) * 0.5 ** (age / half_life_years))
    per = hits.sort_values(["query", "weight"], ascending=[True, False], kind="stable").drop_duplicates(
        ["query", "licence_id"]
    )
    weight = per.groupby("query")["weight"].sum().reindex(range(len(keys)), fill_value=0.0)
    ids = per.sort_values(["query", "licence_id"], kind="stable").groupby("query")["licence_id"].agg(";".join)
    return pd.DataFrame(
        {
            "precedent_weight": weight.to_numpy(),
            "precedent_ids": pd.array(ids.reindex(range(len(keys))).to_numpy(), dtype="string"),
        }
    )
