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

from exportrisk import listcols
from exportrisk.scoring.frames import distinct_rows, gather_column

PRECEDENT_COLUMNS = ["licence_id", "licensing_country_code", "destination_country_code", "family", "public_date"]
KEY = ["licensing_country_code", "destination_country_code"]


def goods_family(control_code: pd.Series, goods_category: pd.Series) -> pd.Series:
    """Each line's goods family: its military list entry (ML1 ... ML22, or a UK national one such as PL5001),
    its dual-use control entry (five characters, e.g. 5A001), else its goods_category: the "essentially
    identical" goods of a precedent. Worked out once per distinct (control_code, goods_category)."""
    given = pd.DataFrame({"code": control_code, "category": goods_category}).reset_index(drop=True)
    at, distinct = distinct_rows(given)
    code = distinct["code"].astype("string").str.upper()
    military = code.str.extract(r"^((?:ML|PL)\d+)", expand=False)
    dual_use = code.str.extract(r"^(\d[A-E]\d{3})", expand=False)
    family = military.fillna(dual_use).fillna(distinct["category"].astype("string")).fillna("unknown")
    return gather_column(family, at).set_axis(control_code.index)


def public_date(decided: pd.Series, lag_months: int) -> pd.Series:
    """The day a refusal decided on ``decided`` is taken as public: the first day of the month ``lag_months``
    after the end of its quarter (lag 4: a refusal of January-March from 1 August)."""
    quarter_start = decided.dt.to_period("Q").dt.start_time
    return (quarter_start + pd.DateOffset(months=3 + lag_months)).astype("datetime64[ms]")


def precedents(licences: pd.DataFrame, criteria: tuple[str, ...], lag_months: int) -> pd.DataFrame:
    """The refusals that can be precedents: one row per refused licence, destination and goods family, for
    refusals citing one of ``criteria`` (refusal_criteria lists them), with the day each became public."""
    read = [*KEY, "licence_id", "control_code", "goods_category", "decision_date", "refusal_criteria"]
    refused = licences.loc[licences["outcome"].eq("refused") & licences["destination_country_code"].notna(), read]
    refused = refused[listcols.contains(refused["refusal_criteria"], criteria)]
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

    The refusals of each (licensing state, destination) sorted by the day they became public, those a row
    counts are one run of them, found by binary search: rows and refusals are never joined all with all.
    """
    n = len(keys)
    both = pd.concat([keys[[*KEY, "family"]], found[[*KEY, "family"]]], ignore_index=True)
    group, _ = distinct_rows(both[KEY])  # a null equal to a null, as a join matches them
    family, _ = distinct_rows(both[["family"]])
    time, _ = pd.factorize(
        np.concatenate([keys["date"].to_numpy("datetime64[ms]"), found["public_date"].to_numpy("datetime64[ms]")]),
        sort=True,
    )
    ranks = time.max(initial=-1) + 1
    time = np.where(time < 0, ranks, time)  # no date: counts nothing, is counted by nothing
    place = group * (ranks + 1) + time  # (group, time) as one sortable number
    by_place = np.argsort(place[n:], kind="stable")
    refusals = place[n:][by_place]
    first = np.searchsorted(refusals, group[:n] * (ranks + 1), side="left")
    count = np.where(time[:n] < ranks, np.searchsorted(refusals, place[:n], side="left") - first, 0)
    row = np.repeat(np.arange(n), count)
    refusal = by_place[np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + np.repeat(first, count)]
    same = family[:n][row] == family[n:][refusal]
    days = keys["date"].to_numpy("datetime64[ms]")[row] - found["public_date"].to_numpy("datetime64[ms]")[refusal]
    age = days.astype("timedelta64[D]").astype(np.int64) / 365.25
    weight = np.where(same, 1.0, other_family) * 0.5 ** (age / half_life_years)
    licence, ids = pd.factorize(found["licence_id"].astype("string"), sort=True)
    # a licence counted twice (several families) counts once, with its highest weight; rows in licence_id order
    pair = row * max(len(ids), 1) + licence[refusal]
    by_pair = np.argsort(pair, kind="stable")
    once = np.flatnonzero(np.diff(pair[by_pair], prepend=-1) != 0)
    weight = np.maximum.reduceat(weight[by_pair], once) if len(once) else weight
    row, licence = np.divmod(pair[by_pair][once], max(len(ids), 1))
    heaviest = np.lexsort((-weight, row))  # summed from the heaviest, as it always was
    total = pd.Series(weight[heaviest]).groupby(row[heaviest]).sum().reindex(range(n), fill_value=0.0)
    return pd.DataFrame(
        {
            "precedent_weight": total.to_numpy(),
            "precedent_ids": listcols.per_group(row, pd.Series(ids.take(licence)), n),
        }
    )
