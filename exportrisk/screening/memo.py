"""A screening memo as HTML (Jinja2, escaped) and as PDF (fpdf2), from one findings structure.

The PDF is drawn with fpdf2, a pure-Python PDF writer on PyPI: no browser or system library to install
(WeasyPrint needs Pango, wkhtmltopdf a binary), real text with wrapping, page breaks and links, and the
DejaVu Sans font matplotlib already ships for any character a source name has. Creation dates are fixed to
the screening date so that the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
import pandas as pd
from fpdf import FPDF

from exportrisk import listcols
from exportrisk.errors import InputError
from exportrisk.ingest.files import atomic_path
from exportrisk.reference import pseudonyms
from exportrisk.screening.screen import COMPONENTS, Memo, readable

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _or(value: object, default: str = "") -> str:
    """A cell as text (a list's values joined), ``default`` where it is missing (NA has no truth value)."""
    if isinstance(value, list | tuple | np.ndarray):
        return listcols.SEPARATOR.join(map(str, value)) or default
    return default if value is None or pd.isna(value) or value == "" else str(value)


def _date(value: object) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _reported(row: dict[str, object]) -> str:
    """When a relation was first reported, as precisely as known, and whether that was after the screening."""
    date = row["published_date"]
    if date is None or pd.isna(date):
        return "not dated"
    precision = row["published_date_precision"]
    text = pd.Timestamp(date).strftime({"year": "%Y", "month": "%Y-%m"}.get(str(precision), "%Y-%m-%d"))
    return text + (" (reported after this date)" if row["reported_after"] else "")


def sections(memo: Memo) -> list[tuple[str, Sequence[str | dict[str, Any]]]]:
    """The memo's sections as (title, paragraphs or rows), in reading order; both renderers draw these."""
    app, top = memo.application, memo.top
    head = [
        f"Exporter: {app['exporter']}; end user: {_or(app['end_user'], 'not named')} "
        f"({_or(app['end_user_type'], 'type not given')}); destination: {app['destination_label']}; "
        f"goods: {app['goods']}; value: {_or(app['value'], 'not given')} {_or(app['currency'])}; "
        f"licensing state: {app['licensing_country_code']}; date: {_date(app['date'])}.",
    ]
    score = [
        memo.reason,
        f"Interval: best {top['score_best']:.1f}, worst {top['score_worst']:.1f}; band of the score itself: "
        f"{top['score_band']}. Components: "
        + ", ".join(f"{name} {top[c]:.1f}" for c, name in COMPONENTS.items() if pd.notna(top[c]))
        + f". Floors: {_or(top['floors'], 'none')}. Flags: {_or(top['flags'], 'none')}.",
    ]
    score += [
        f"Line {r['line_no']} ({_or(r['control_code'], 'no control code')}): {r['score']:.1f}, {r['band']}"
        for r in memo.lines.to_dict("records")
    ]
    evidence: list[dict[str, Any] | str] = [
        {
            "date": _date(r["published_date"]),
            "what": f"{_or(r['title'], r['kind'])} ({_or(r['publisher'], '')}; {r['kind']}, {r['country_role']}, "
            f"{r['strength']}; vendor {_or(r['vendor_name'], 'not named')}; confidence {_or(r['confidence'], 'n/a')})",
            "urls": list(r["source_urls"]),
        }
        for r in memo.evidence.to_dict("records")
    ]
    evidence += [
        {
            "date": f"{_date(r['first'])} to {_date(r['last'])}",
            "what": f"{r['entries']} {r['kind']} entries of the Pegasus victim database (not listed one by one)",
            "urls": list(r["urls"])[:10],
        }
        for r in memo.victim_entries.to_dict("records")
    ]
    if not evidence:
        evidence = ["No evidence about the destination was public before this date."]
    out: list[tuple[str, Sequence[str | dict[str, Any]]]] = [("Application", head), ("Score and reason", score)]
    out.append(("Evidence about the destination public before the date", evidence))
    end_user = app["end_user"]
    out.append(
        (
            "Evidence about the end user",
            [
                f"The evidence database records states and vendors, not agencies: nothing is recorded about "
                f"{_or(end_user, 'the end user')} apart from the destination's evidence above."
            ],
        )
    )
    out += network_sections(memo)
    similar = [
        f"{r['vendor']}: shared states {', '.join(r['shared_states']) or '-'}; products "
        f"{', '.join(r['shared_products']) or '-'}; owners {', '.join(r['shared_owners']) or '-'}"
        for r in memo.similar.to_dict("records")
    ] or ["No other vendor shares states, products or owners with the exporter in the evidence public by then."]
    out.append(("Similar exporters", similar))
    publishers = ", ".join(memo.refusal_publishers) or "none"
    precedent = [
        f"{_date(r['decision_date'])} {r['licensing_country_code']} {r['outcome']} {r['licence_id']} "
        f"({r['control_code']}; criteria {_or(r['refusal_criteria'], 'not given')}) {_or(r['source_url'], '')}".strip()
        for r in memo.precedent.to_dict("records")
    ]
    precedent.append(
        f"{len(memo.precedent)} comparable refusal(s) or revocation(s) found. Licensing states whose published data "
        f"in this project include refusals: {publishers}; other states publish none, so no precedent from them."
    )
    out.append(("Precedent", precedent))
    out.append(("What would change the band", change_lines(memo)))
    return out


def network_sections(memo: Memo) -> list[tuple[str, list]]:
    if memo.exporter is None:
        return [("Exporter network", ["The exporter matches no curated entity: no network is known for it."])]
    net, ex = memo.network, memo.exporter
    assert net is not None
    lines = [f"Matched to {ex['entity_id']} ({ex['match_type']}, confidence {ex['confidence']})."]
    lines += [f"{r['name']} ({r['hops']} hop(s)): {r['path']}" for r in net["affiliates"].to_dict("records")]
    relations: list[dict[str, Any] | str] = [
        {
            "date": _reported(r),
            "what": f"{r['subject']} -[{r['label']}]-> {r['object']} (confidence {r['confidence']}): {_or(r['note'])}",
            "urls": list(r["source_urls"]),
        }
        for r in net["relations"].to_dict("records")
    ]
    later = int(net["relations"]["reported_after"].sum())
    if later:
        lines.append(
            f"{later} of the {len(relations)} links below were first reported, in the sources curated, only after this "
            "date: they held then by their reported dates, but an officer on the day may not have known them."
        )
    misuse = [
        f"{_date(r['published_date'])}: {r['network_path']} -> {r['evidence_id']}"
        for r in net["misuse"].to_dict("records")
    ]
    victims = int(net["victim_entries"]["entries"].iloc[0])
    if victims:
        misuse.append(
            f"and {victims} entries of the Pegasus victim database (vendor {net['victim_entries']['via'].iloc[0]})"
        )
    return [
        ("Exporter network on the date", lines if len(net["affiliates"]) else [*lines, "No relation in force then."]),
        ("Links in force, with when each was first reported", relations or ["None."]),
        ("Documented misuse reached through the network", misuse or ["None public before the date."]),
    ]


def change_lines(memo: Memo) -> list[str]:
    out = []
    if len(memo.changes):
        c = memo.changes.iloc[0]
        out.append(
            f"Smallest change of one input that moves the band: {c['change']} gives {c['score']:.1f}, {c['band']}."
        )
        out += [f"Also: {r['change']}: {r['score']:.1f}, {r['band']}" for r in memo.changes.iloc[1:].to_dict("records")]
    else:
        out.append("No single change of the end-user type or the exporter link moves the band.")
    top = memo.top
    if pd.notna(top["reassessment_date"]):
        out.append(
            f"Reassessment date: {_date(top['reassessment_date'])}, when the score reaches the reassessment band."
        )
    if memo.next_evidence is not None:
        ev = memo.next_evidence
        out.append(
            f"Screen again after {_date(ev['published_date'])}: the next evidence in the database about the "
            f"destination or the exporter's network ({_or(ev['title'], ev['kind'])}) was published then."
        )
    return out


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Screening {{ id }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
h1{font-size:1.4em}td:first-child{white-space:nowrap}h2{font-size:1.1em;border-bottom:1px solid #ccc}
td{vertical-align:top;padding:2px 6px}
.band{font-weight:bold}</style></head><body>
<h1>Screening memo {{ id }}: <span class="band">{{ band }}</span></h1>
{% for title, items in sections %}<h2>{{ title }}</h2>
{% if items and items[0] is mapping %}<table>{% for r in items %}<tr><td>{{ r.date }}</td><td>{{ r.what }}<br>
{% for u in r.urls %}<a href="{{ u }}">{{ u }}</a> {% endfor %}</td></tr>{% endfor %}</table>
{% else %}{% for p in items %}<p>{{ p }}</p>{% endfor %}{% endif %}{% endfor %}
<p><small>exportrisk screening, method {{ method }}; evidence and relations as public before the date.</small></p>
</body></html>
"""
)


def html(memo: Memo) -> str:
    return TEMPLATE.render(
        id=memo.application["application_id"],
        band=memo.band,
        sections=sections(memo),
        method=memo.top["method_version"],
    )


def pdf(memo: Memo) -> bytes:
    doc = FPDF(format="A4")
    doc.set_creation_date(dt.datetime.combine(pd.Timestamp(memo.application["date"]).date(), dt.time(), dt.UTC))
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    doc.set_margins(18, 18, 18)
    line = {"new_x": "LMARGIN", "new_y": "NEXT"}  # each cell starts a new line at the left margin
    doc.add_page()
    doc.set_font("DejaVu", "B", 14)
    doc.multi_cell(0, 7, f"Screening memo {memo.application['application_id']}: {memo.band}", **line)
    for title, items in sections(memo):
        doc.ln(2)
        doc.set_font("DejaVu", "B", 11)
        doc.multi_cell(0, 6, title, **line)
        doc.set_font("DejaVu", "", 9)
        for item in items:
            if isinstance(item, dict):
                doc.multi_cell(0, 4.5, f"{item['date']}  {item['what']}", **line)
                for url in item["urls"]:
                    doc.set_text_color(0, 0, 160)
                    doc.multi_cell(0, 4.5, url, link=url, **line)
                    doc.set_text_color(0)
            else:
                doc.multi_cell(0, 4.5, item, **line)
            doc.ln(1)
    return bytes(doc.output())


def check_published(text: str, where: Path) -> None:
    """A memo never shows a victim's id (names cannot get in: victim entries are only counted)."""
    if pseudonyms.VICTIM_ID.search(text):
        raise InputError(where, "would show a victim's id: a bug, the memo was not written")


def write(memo: Memo, folder: Path, formats: tuple[str, ...] = ("html", "pdf")) -> dict[str, str]:
    """Write the memo's files (atomically) into ``folder``; returns {'memo_html': path, 'memo_pdf': path}."""
    out = {}
    stem = folder / f"screening-{memo.application['application_id']}"
    page = html(memo)
    check_published(page, stem.with_suffix(".html"))
    if "html" in formats:
        with atomic_path(stem.with_suffix(".html")) as tmp:
            tmp.write_text(page, encoding="utf-8")
        readable(stem.with_suffix(".html"))
        out["memo_html"] = str(stem.with_suffix(".html"))
    if "pdf" in formats:
        with atomic_path(stem.with_suffix(".pdf")) as tmp:
            tmp.write_bytes(pdf(memo))
        readable(stem.with_suffix(".pdf"))
        out["memo_pdf"] = str(stem.with_suffix(".pdf"))
    return out
