"""One sentence of why per score: the band, the floor that set it, and the largest contributors in points.

Each contribution is what a component adds to the raw score: D, E and U their share of the context times the
goods factor, X and P their points; the goods are always named, as they scale the rest. Built once per
distinct combination of inputs, so its cost does not grow with the lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exportrisk import listcols

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


def why(parts: pd.DataFrame) -> pd.Series:
    """The sentence for each row of ``parts``.

    Columns: band, floors (list of names), d, e, u (null when absent), weight_d, weight_e, weight_u (their
    shares of the context, 0 when absent), goods_factor, goods_rule, i, x, x_flags (list), p,
    evidence_ids, precedent_ids.
    """
    g = parts["goods_factor"].to_numpy(dtype=float)
    n_evidence, n_refusals = listcols.counts(parts["evidence_ids"]), listcols.counts(parts["precedent_ids"])
    d, e, u = (parts[c].astype(float).fillna(0).to_numpy() for c in ("d", "e", "u"))
    candidates = [
        (parts["weight_d"].to_numpy() * d * g, [f"destination record D {v:.0f}" for v in d]),
        (
            parts["weight_e"].to_numpy() * e * g,
            [
                f"{n} piece{'s' if n != 1 else ''} of surveillance evidence (E {v:.0f})"
                for n, v in zip(n_evidence, e, strict=True)
            ],
        ),
        (parts["weight_u"].to_numpy() * u * g, [f"end-user U {v:.0f}" for v in u]),
        (
            parts["p"].to_numpy(dtype=float),
            [
                f"{n} earlier refusal{'s' if n != 1 else ''} to this destination (+{v:.1f})"
                for n, v in zip(n_refusals, parts["p"], strict=True)
            ],
        ),
        (
            parts["x"].to_numpy(dtype=float),
            [
                ", ".join(X_TEXT[f] for f in flags or () if f in X_TEXT) + f" (+{v:.0f})"
                for flags, v in zip(listcols.arrow(parts["x_flags"]).to_pylist(), parts["x"], strict=True)
            ],
        ),
    ]
    points = np.column_stack([c[0] for c in candidates])
    order = np.argsort(-points, axis=1, kind="stable")
    goods = [
        f"{rule} (tier {tier:.0f})" for rule, tier in zip(parts["goods_rule"].fillna("goods"), parts["i"], strict=True)
    ]
    out = []
    floors = listcols.arrow(parts["floors"]).to_pylist()
    for row, (band, fired) in enumerate(zip(parts["band"].astype(str), floors, strict=True)):
        named = [FLOOR_TEXT[f] for f in fired or () if f in FLOOR_TEXT][:1]
        top = [candidates[k][1][row] for k in order[row, :TOP] if points[row, k] >= 0.05]
        out.append(f"{band}: " + "; ".join([*named, *top, goods[row]]))
    return pd.Series(pd.array(out, dtype="string"))
