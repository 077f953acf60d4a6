"""Country names resolve through committed mappings; unknown names are reported, never guessed."""

import pandas as pd
import pytest

from exportrisk.errors import InputError
from exportrisk.reference.countries import (
    COUNTRY_DIR,
    iso_names,
    load_mapping,
    normalise,
    parse_mapping,
    resolve,
    split_destination,
    valid_codes,
)


def test_normalise_folds_case_padding_and_unicode():
    assert normalise("SAOEDI-ARABIË   ") == normalise("Saoedi-Arabië") == "saoedi-arabië"
    assert normalise("Sa\u0301o Tome") == normalise("S\u00e1o Tome")


def test_exact_iso_names_only_no_fuzzy_guesses():
    names = iso_names()
    assert names[normalise("Korea, Republic of")].country_code == "KOR"
    assert normalise("Republic of Korea") not in names  # a fuzzy matcher would say PRK
    assert valid_codes()["DDR"]  # historic states are valid codes


@pytest.mark.parametrize("path", sorted(COUNTRY_DIR.glob("*.csv")), ids=lambda p: p.name)
def test_every_committed_mapping_is_valid(path):
    mapping = load_mapping(path.stem)
    assert len(mapping) > len(iso_names())


def test_mapping_errors_name_file_row_and_column():
    rows = [{"name": "Atlantis", "country_code": "ATL", "destination_type": "country"}]
    with pytest.raises(InputError, match=r"m\.csv, row 2, column 'country_code': 'ATL' is not an ISO"):
        parse_mapping(rows, "m.csv")
    twice = [
        {"name": "Holland", "country_code": "NLD", "destination_type": "country"},
        {"name": "HOLLAND ", "country_code": "DEU", "destination_type": "country"},
    ]
    with pytest.raises(InputError, match="row 3, column 'name'"):
        parse_mapping(twice, "m.csv")


def test_split_destination_handles_via_and_lists():
    mapping = {**iso_names(), **parse_mapping([{"name": "VAE", "country_code": "ARE"}], "m.csv")}
    dest, transit = split_destination("Pakistan via VAE", mapping)
    assert ([d.country_code for d in dest], transit.country_code) == (["PAK"], "ARE")
    dest, transit = split_destination(
        "Irak, via Sharjah", {**mapping, "irak": mapping["iraq"], "sharjah": mapping["are"]}
    )
    assert ([d.country_code for d in dest], transit.country_code) == (["IRQ"], "ARE")
    dest, transit = split_destination("Spain, France en Italy", mapping)
    assert [d.country_code for d in dest] == ["ESP", "FRA", "ITA"] and transit is None
    assert split_destination("Spain, Atlantis", mapping) is None


def test_resolve_explodes_lists_and_marks_unknowns():
    mapping = iso_names()
    out = resolve(pd.Series(["Spain, France", "Atlantis", "Spain, France"]), mapping)
    assert out["row"].tolist() == [0, 0, 1, 2, 2]
    assert out["destination_country_code"].tolist()[:2] == ["ESP", "FRA"]
    assert out.loc[out["row"] == 1, "destination_type"].isna().all()
