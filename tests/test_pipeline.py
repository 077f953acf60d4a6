"""The steps, declared once (exportrisk.pipeline): build, the API and the command line all take them from the one
table, and the build runs a step again only when its inputs, code or parameters change."""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from exportrisk import api, build, cli, pipeline
from exportrisk.ingest.fetch import sha256
from exportrisk.pipeline import Project, Step
from exportrisk.schema import TABLES


class Ran(Exception):
    """Raised by a step's stand-in run function, naming the step: shows who called it."""


def recording(runs: list[str]) -> tuple[Step, ...]:
    """The pipeline's steps, each run replaced by one that records its name and writes its outputs."""

    def stand_in(step: Step) -> Step:
        def run(project: Project) -> None:
            runs.append(step.name)
            for path in step.outputs(project):  # empty, but readable (the build's summary counts table rows)
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".parquet":
                    pd.DataFrame({"step": [step.name]}).to_parquet(path)
                else:
                    path.write_text(step.name)

        return replace(step, run=run, summary=lambda _: (True, "recorded"), tells=lambda _: {})

    return tuple(map(stand_in, pipeline.STEPS))


def raising() -> tuple[Step, ...]:
    def run(name: str):
        def raise_(_project: Project) -> None:
            raise Ran(name)

        return raise_

    return tuple(replace(step, run=run(step.name)) for step in pipeline.STEPS)


def steps_shown(out: str) -> list[str]:
    """The lines a build printed on its steps (not its own, such as where its summary went)."""
    return [line for line in out.splitlines() if not line.startswith("build: ")]


def test_every_processed_table_has_one_step_that_writes_it_after_what_it_reads():
    written = [t for step in pipeline.STEPS for t in step.writes]
    assert len(written) == len(set(written))
    assert set(written) <= set(TABLES)
    for i, step in enumerate(pipeline.STEPS):
        earlier = {t for s in pipeline.STEPS[:i] for t in s.writes}
        assert set(step.reads) <= earlier, step.name
    assert [s.name for s in pipeline.steps_for("checks", Project(Path("/nowhere")))] == [
        "clean",
        "score",
        "checks",
    ]  # checks read the saved scores


def test_build_api_and_cli_take_their_steps_from_the_one_table(tmp_path, monkeypatch, capsys):
    runs: list[str] = []
    monkeypatch.setattr(pipeline, "STEPS", recording(runs))
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    (tmp_path / "data" / "raw" / "pts").mkdir(parents=True)

    api.build_table("scores")  # er.load's way to a missing table: the steps that make it, in the table's order
    assert runs == ["clean", "score"]
    runs.clear()
    capsys.readouterr()
    assert cli.main(["build", "--no-fetch", "--analyses", "--force"]) == 0
    assert runs == [s.name for s in pipeline.STEPS if s.name != "fetch"]
    shown = [line.split(":")[0] for line in steps_shown(capsys.readouterr().out)]
    assert shown == runs

    monkeypatch.setattr(pipeline, "STEPS", raising())
    for step in pipeline.STEPS:  # each step is a command of its own, described as in the table, running its run
        assert cli.COMMANDS[step.name][1] == step.does
        with pytest.raises(Ran, match=step.name):
            cli.main(["--debug", step.name, *(["--all"] if step.name == "report" else [])])


def test_dry_run_says_what_would_run_and_why_and_runs_nothing(tmp_path, monkeypatch, capsys):
    runs: list[str] = []
    monkeypatch.setattr(pipeline, "STEPS", recording(runs))
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    (tmp_path / "data" / "raw").mkdir(parents=True)

    assert cli.main(["build", "--no-fetch", "--dry-run"]) == 0
    out = steps_shown(capsys.readouterr().out)
    assert runs == [] and not (tmp_path / "data" / "processed").exists()
    assert out[0] == f"clean: would run: {pipeline.step('clean').does} (no earlier successful run)"
    assert [line.split(": ")[:2] for line in out] == [
        ["clean", "would run"],
        ["score", "would run"],
        ["report", "would run"],
    ]
    assert cli.main(["build", "--no-fetch"]) == 0 and runs == ["clean", "score", "report"]
    capsys.readouterr()
    (tmp_path / "data" / "raw" / "new.csv").write_text("a new raw file")
    assert cli.main(["build", "--no-fetch", "--dry-run"]) == 0
    assert steps_shown(capsys.readouterr().out) == [
        f"clean: would run: {pipeline.step('clean').does} (inputs changed)",
        f"score: would run: {pipeline.step('score').does} (if clean changes its outputs)",
        f"report: would run: {pipeline.step('report').does} (if clean or score changes its outputs)",
    ]
    assert runs == ["clean", "score", "report"]


# --- the build's bookkeeping ---


def run_steps(steps: list[Step], state: Path, **options) -> list[build.StepRun]:
    return list(build.run_steps(steps, Project(state.parent), state, **options))


def test_build_runs_a_step_again_only_when_its_inputs_code_or_parameters_change(tmp_path):
    source, middle, final = tmp_path / "in.txt", tmp_path / "mid.txt", tmp_path / "out.txt"
    source.write_text("one")
    runs: list[str] = []

    def step(name: str, inputs: list[Path], output: Path, params: dict, ok: bool = True) -> Step:
        def run(_project: Project) -> bool:
            runs.append(name)
            output.write_text("".join(p.read_text() for p in inputs))
            return ok

        return Step(
            name,
            name,
            run,
            lambda ok: (ok, "ran"),
            files_in=lambda _: inputs,
            files_out=lambda _: [output],
            params=lambda _: params,
        )

    state = tmp_path / "state.json"
    steps = lambda p=1: [step("first", [source], middle, {"p": p}), step("second", [middle], final, {})]  # noqa: E731
    assert [r.status for r in run_steps(steps(), state)] == ["done", "done"]
    assert [r.status for r in run_steps(steps(), state)] == ["skipped", "skipped"]
    source.write_text("two")
    assert run_steps(steps(), state)[0].detail == "ran (inputs changed)"
    assert runs == ["first", "second", "first", "second"]
    run_steps(steps(p=2), state)  # a parameter: first reruns, its output is the same, second is skipped
    assert runs[-1] == "first"
    final.unlink()
    assert run_steps(steps(p=2), state)[1].detail == "ran (out.txt is missing)"
    final.write_text("garbled")  # an output no longer what its step wrote is made again, never used
    assert run_steps(steps(p=2), state)[1].detail == "ran (out.txt differs from what second wrote)"
    assert final.read_text() == "two" and runs[-1] == "second"
    recorded = json.loads(state.read_text())["second"]
    assert recorded["read"] == {"mid.txt": sha256(b"two")} and recorded["wrote"] == {"out.txt": sha256(b"two")}
    failing = [step("first", [source], middle, {"p": 2}, ok=False)]
    assert run_steps(failing, state, force=True)[0].status == "incomplete"
    assert run_steps(failing, state)[0].status == "incomplete"  # an incomplete step is tried again


def test_read_hashes_are_empty_before_a_build_and_with_an_unreadable_state(tmp_path):
    project = Project(tmp_path)
    assert project.read_hashes() == {}
    project.processed.mkdir(parents=True)
    (project.processed / pipeline.STATE).write_text('{"clean": {"read": ')
    assert project.read_hashes() == {}
    recorded = {"read": {"data/raw/a.csv": "1" * 64, "code.py": "2" * 64}, "wrote": {"data/x": "missing"}}
    (project.processed / pipeline.STATE).write_text(json.dumps({"clean": recorded}))
    assert project.read_hashes() == {"data/raw/a.csv": "1" * 64}  # project files only, as found


def test_a_steps_code_is_the_modules_it_imports():
    package = Path(build.__file__).parent

    def code(name: str) -> set[str]:
        return {p.relative_to(package).as_posix() for p in build.imported_modules(pipeline.step(name).modules)}

    score, report, clean_code = code("score"), code("report"), code("clean")
    assert {"scoring/score.py", "scoring/network.py", "schema.py", "__init__.py"} <= score
    assert "reporting/sections.py" not in score
    assert {"reporting/sections.py", "reporting/runner.py"} <= report and "scoring/score.py" not in report
    assert "ingest/sources/caat_uk.py" in clean_code and "scoring/score.py" not in clean_code
    running = {"build.py", "pipeline.py", "cli.py", "api.py"}  # running the steps is not part of what they make
    assert not running & (score | report | clean_code)
