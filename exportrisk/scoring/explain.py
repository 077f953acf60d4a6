"""One sentence of why per score: the band, the floor that set it, and the largest contributors in points.

Each contribution is what a component adds to the raw score: D, E and U their share of the context times the
goods factor, X and P their points; the goods are always named, as they scale the rest. Built once per
distinct combination of inputs, so its cost does not grow with the lines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exportrisk import listcols
from exportrisk.ingest.parse import per_unique
from exportrisk.scoring.frames import distinct_rows, first_rows

FLOOR_TEXT = {
    "critical": "Critical floor",
    "prior_use": "prior-use floor",
    "named_operator": "named-operator floor",
    "political_terror": "political-terror floor",
}
X_TEXT = {
    "destination_hidden": "destination not stated",
    "transit": "transit country",
    "re_export": "re-export",
    "exporter_linked": "exporter linked to misuse",
}
TOP = 3
NO_TEXT = pa.scalar(None, pa.string())


def why(parts: pd.DataFrame) -> pd.Series:
    """The sentence for each row of ``parts``.

    Columns: band, floors (list of names), d, e, u (null when absent), weight_d, weight_e, weight_u (their
    shares of the context, 0 when absent), goods_factor, goods_rule, i, x, x_flags (list), p,
    evidence_ids, precedent_ids.

    Each phrase is written once per distinct value it shows, and the sentences are put together in Arrow:
    the cost hardly grows with the rows.
    """
    g = parts["goods_factor"].to_numpy(dtype=float)
    n_evidence, n_refusals = listcols.counts(parts["evidence_ids"]), listcols.counts(parts["precedent_ids"])
    d, e, u = (parts[c].astype(float).fillna(0).to_numpy() for c in ("d", "e", "u"))
    p, x = parts["p"].to_numpy(dtype=float), parts["x"].to_numpy(dtype=float)
    x_named = per_list(parts["x_flags"], lambda names: ", ".join(X_TEXT[n] for n in names if n in X_TEXT))
    candidates = [
        (parts["weight_d"].to_numpy() * d * g, phrases(lambda v: f"destination record D {v:.0f}", d)),
        (
            parts["weight_e"].to_numpy() * e * g,
            phrases(
                lambda n, v: f"{n} piece{'s' if n != 1 else ''} of surveillance evidence (E {v:.0f})", n_evidence, e
            ),
        ),
        (parts["weight_u"].to_numpy() * u * g, phrases(lambda v: f"end-user U {v:.0f}", u)),
        (
            p,
            phrases(
                lambda n, v: f"{n} earlier refusal{'s' if n != 1 else ''} to this destination (+{v:.1f})", n_refusals, p
            ),
        ),
        (x, phrases(lambda f, v: f"{f} (+{v:.0f})", x_named.fillna("").to_numpy(dtype=object), x)),
    ]
    points = np.column_stack([c[0] for c in candidates])
    order = np.argsort(-points, axis=1, kind="stable")
    texts, rows = pa.concat_arrays([c[1] for c in candidates]), np.arange(len(parts))
    top = [
        pc.if_else(pa.array(points[rows, k] >= 0.05), texts.take(pa.array(k * len(parts) + rows)), NO_TEXT)
        for k in order[:, :TOP].T
    ]
    floor = per_list(parts["floors"], lambda names: next((FLOOR_TEXT[n] for n in names if n in FLOOR_TEXT), None))
    rule = parts["goods_rule"].fillna("goods").to_numpy(dtype=object)
    goods = phrases(lambda r, t: f"{r} (tier {t:.0f})", rule, parts["i"].to_numpy(dtype=float))
    body = pc.binary_join_element_wise(pa.array(floor.array, pa.string()), *top, goods, "; ", null_handling="skip")
    band = pa.array(per_unique(parts["band"], str).array, pa.string())
    return pd.Series(pd.array(pc.binary_join_element_wise(band, body, ": "), dtype="string"))


def phrases(write: Callable[..., str], *columns: np.ndarray) -> pa.Array:
    """``write`` of each row's values, called once per distinct combination (floats told apart by their bits,
    so that 0.0 and -0.0 each read as they print)."""
    keys = pd.DataFrame({i: c.view(np.int64) if c.dtype == float else c for i, c in enumerate(columns)})
    at, _ = distinct_rows(keys)
    first = first_rows(at)
    return pa.array([write(*(c[i] for c in columns)) for i in first], pa.string()).take(pa.array(at))


def per_list(lists: pd.Series, write: Callable[[list[str]], str | None]) -> pd.Series:
    """``write`` of each row's list of names, called once per distinct list (null for a null list)."""
    return per_unique(listcols.join(lists, "\x1f"), lambda joined: write(joined.split("\x1f")))
