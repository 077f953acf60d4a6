"""The command line: one line per problem, an exit code that says so, never a traceback."""

import pytest

from exportrisk import cli


def test_unexpected_errors_are_one_line_without_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("exportrisk.ingest.clean.clean", broken)
    assert cli.main(["clean"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "disk on fire" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "clean"])


def test_clean_with_no_raw_data_says_what_it_skipped(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    assert cli.main(["clean"]) == 0
    out = capsys.readouterr().out
    assert "caat-uk: no raw data (run `exportrisk fetch`), skipped" in out
    assert (tmp_path / "data" / "processed" / "licences.parquet").is_file()
