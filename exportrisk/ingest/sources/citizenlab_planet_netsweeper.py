"""Citizen Lab's Planet Netsweeper: Netsweeper filtering installations in countries of human-rights concern.

``installations_found_SUBSET.csv`` lists, per IP, a Netsweeper installation (the Canadian vendor's Internet
filtering product) on a network in one of the ten countries Citizen Lab flagged for human-rights concern,
with its GeoIP country corrected by hand where the network's owner showed it (ISO-2 ``country``). The full list
(``installations_found_ALL.csv``) also holds installations in Canada, the US and the UK, mostly schools and
companies: no statement about a government, so it is not read. An installation on a country's networks makes
the state a customer relation of the vendor, with no abuse shown by the file itself (strength
customer_relation_only, kind vendor_customer_report): one piece of evidence per country; further
installations in it go to rejects as repeats.

When it became public: the report "Planet Netsweeper" of April 2018, taken as public from 2018-04-30 (late,
never early).
"""

from pathlib import Path

import pandas as pd

from exportrisk.ingest.rejects import mark
from exportrisk.ingest.sources import Staged, read_source_csv, source_file
from exportrisk.reference import countries

NAME = "citizenlab-planet-netsweeper"
FILE = "installations_found_SUBSET.csv"
VENDOR, PRODUCT = "Netsweeper", "Netsweeper"
PUBLISHED = "2018-04-30"
URLS = (
    "https://citizenlab.ca/2018/04/planet-netsweeper/ ; "
    "https://github.com/citizenlab/planetnetsweeper/tree/863e58a599325a1f9ca91638d3b7be960398f828"
)
COLUMNS = {"evidence_id": "country", "country_raw": "country"}


def stage(folder: Path) -> Staged:
    """The installations as customer evidence rows, one kept per country."""
    raw, malformed = read_source_csv(folder, FILE, ["country", "ip"])
    alpha2 = raw["country"].str.strip().str.upper().replace("", pd.NA)
    alpha3 = countries.alpha3(alpha2)
    rows = pd.DataFrame(
        {
            "source": NAME,
            "source_file": source_file(folder, FILE),
            "source_row": raw["source_row"],
            "evidence_id": NAME + ":" + alpha2.str.lower(),
            "kind": "vendor_customer_report",
            "country_raw": alpha3,
            "country_role": "customer",
            "vendor_name": VENDOR,
            "product": PRODUCT,
            "published_date_raw": PUBLISHED,
            "strength": "customer_relation_only",
            "publisher": "Citizen Lab",
            "title": "Planet Netsweeper: installation",
            "source_urls": URLS,
        },
        index=raw.index,
    )
    mark(rows, alpha2.isna(), "missing_value", "country", "no country for this installation")
    mark(rows, alpha2.notna() & alpha3.isna(), "unknown_country", "country", "not an ISO 3166 alpha-2 code")
    return Staged(source_file(folder, FILE), rows, raw, COLUMNS, malformed)
