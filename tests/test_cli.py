"""The command line: one line per problem, an exit code that says so, never a traceback."""

import importlib.metadata
import os

import pytest

from exportrisk import __version__, cli


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


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"exportrisk {__version__}"
    assert __version__ == importlib.metadata.version("exportrisk")  # one place: pyproject reads it from the package


def test_project_root_is_root_option_then_environment_then_current_folder(monkeypatch, capsys, tmp_path):
    here, env, option = (tmp_path / name for name in ("here", "env", "option"))
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("EXPORTRISK_ROOT", raising=False)
    assert cli.main(["clean"]) == 0
    assert (here / "data" / "processed" / "licences.parquet").is_file()
    monkeypatch.setenv("EXPORTRISK_ROOT", str(env))
    assert cli.main(["clean"]) == 0
    assert (env / "data" / "processed" / "licences.parquet").is_file()
    assert cli.main(["--root", str(option), "clean"]) == 0
    assert (option / "data" / "processed" / "licences.parquet").is_file()
    assert os.environ["EXPORTRISK_ROOT"] == str(env)  # --root lasts one command
    assert str(option) in capsys.readouterr().out.splitlines()[-1]
