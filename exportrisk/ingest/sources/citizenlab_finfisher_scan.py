"""Citizen Lab's FinFisher scan: FinSpy command servers with Citizen Lab's guess of the government customer.

Each row is a server (IP) matching FinFisher fingerprints, hosted in ``Geolocation`` (ISO-2), with a
``Customer Guess`` (a country name, blank when unattributed, or the vendor itself). A hosting country is not
a customer (servers for Malaysia sat in Singapore, for Australia in the US): only the customer guess names a
state, as a customer of the vendor, with no abuse shown (strength customer_relation_only, kind
vendor_customer_report). One piece of evidence per customer guess; further servers of the same customer go to
rejects as repeats, an unattributed or vendor-owned server as missing.

When it became public. Citizen Lab published the servers by hosting country in "You Only Click Twice"
(2013-03-13) and "For Their Eyes Only" (2013-05-01, eleven more countries); the per-server customer guesses
came out with the scan file (2015-02-01). A guess is public from the report date where a server the guess
names was hosted in that same country and the report listed it (the report then showed the state's own
server); otherwise from the file's date.
"""

from pathlib import Path

import pandas as pd

from exportrisk.ingest.rejects import mark
from exportrisk.ingest.sources import Staged, read_source_csv, source_file
from exportrisk.reference import countries

NAME = "citizenlab-finfisher-scan"
FILE = "ff.csv"
VENDOR, PRODUCT = "Gamma International", "FinSpy"
VENDOR_GUESS = "gamma international"  # the vendor's own servers: no customer
FILE_PUBLISHED = "2015-02-01"
FILE_URL = "https://github.com/citizenlab/spyware-scan/blob/539a310811280855def2d51ff4baa80f748affed/ff/results/ff.csv"
# Hosting countries each report listed (ISO 3166 alpha-3), from ../shared/facts/surveillance-vendors.md
REPORTS = {
    "2013-03-13": (
        "https://cyberdialogue.ca/2013/03/you-only-click-twice-finfishers-global-proliferation-by-morgan-marquis-"
        "boire-bill-marczak-claudio-guarnieri-and-john-scott-railton",
        "AUS BHR BGD BRN CAN CZE EST ETH DEU IND IDN JPN LVA MYS MEX MNG NLD QAT SRB SGP TKM ARE GBR USA VNM",
    ),
    "2013-05-01": (
        "http://www.scmagazine.com/finfisher-command-and-control-hubs-turn-up-in-11-new-countries/article/291252/",
        "HUN TUR ROU PAN LTU MKD ZAF PAK NGA BGR AUT",
    ),
}
COLUMNS = {
    "evidence_id": "Customer Guess",
    "country_raw": "Customer Guess",
    "published_date_raw": "Customer Guess",
    "source_urls": "Customer Guess",
}


def stage(folder: Path) -> Staged:
    """The servers as customer evidence rows, one kept per customer guess, dated as the module says."""
    raw, malformed = read_source_csv(folder, FILE, ["Geolocation", "Customer Guess", "Month First Seen"])
    guess = raw["Customer Guess"].str.strip().replace("", pd.NA)
    key = guess.map(countries.normalise, na_action="ignore").astype("string")
    code = countries.lookup(guess, countries.source_mapping(NAME).entries)["country_code"]
    hosted_at_home = code.notna() & code.eq(countries.alpha3(raw["Geolocation"]))
    report_day = pd.Series(pd.NA, index=raw.index, dtype="string")
    for day, (_, listed) in REPORTS.items():
        report_day = report_day.fillna(
            pd.Series(day, index=raw.index).where(hosted_at_home & code.isin(listed.split()))
        )
    earliest = report_day.fillna(FILE_PUBLISHED).groupby(key).transform("min")
    url = earliest.map({day: f"{url} ; {FILE_URL}" for day, (url, _) in REPORTS.items()}).fillna(FILE_URL)
    rows = pd.DataFrame(
        {
            "source": NAME,
            "source_file": source_file(folder, FILE),
            "source_row": raw["source_row"],
            "evidence_id": NAME + ":" + code.str.lower().fillna(key.str.replace(" ", "-")),
            "kind": "vendor_customer_report",
            "country_raw": guess,
            "country_role": "customer",
            "vendor_name": VENDOR,
            "product": PRODUCT,
            "published_date_raw": earliest,
            "strength": "customer_relation_only",
            "publisher": "Citizen Lab",
            "title": "FinFisher scan: customer guess",
            "source_urls": url,
        },
        index=raw.index,
    )
    mark(rows, guess.isna(), "missing_value", "Customer Guess", "no customer guess for this server")
    mark(rows, key.eq(VENDOR_GUESS), "missing_value", "Customer Guess", "the vendor's own server names no customer")
    return Staged(source_file(folder, FILE), rows, raw, COLUMNS, malformed)
