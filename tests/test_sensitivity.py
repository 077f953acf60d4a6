"""Weight sensitivity: the draws, band stability near and far from band edges, Kendall tau, and the command on
the real data (recombining equals rescoring, same seed same bytes)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exportrisk import cli, listcols
from exportrisk.ingest.files import read_table
from exportrisk.schema import SCORES, SENSITIVITY
from exportrisk.scoring import score as scoring
from exportrisk.scoring import sensitivity
from tests.conftest import copy_project, run_cli


@pytest.fixture(scope="session")
def cfg() -> scoring.ScoringConfig:
    return scoring.load_config()


def test_draws_perturb_every_weight_within_the_spread_and_keep_each_group_summing_to_one(cfg):
    base = sensitivity.base_weights(cfg)
    drawn = sensitivity.draw_weights(cfg, 500, seed=3, spread=0.5)
    pairs = {
        "context": (base.context, drawn.context),
        "measures": (base.measures, drawn.measures),
        "goods": (np.c_[base.keep, 1 - base.keep], np.c_[drawn.keep, 1 - drawn.keep]),
    }
    for name, (before, after) in pairs.items():
        assert after.shape == (500, before.shape[1]), name
        np.testing.assert_allclose(after.sum(axis=1), 1)
        assert (after != before).all(), name
        # renormalising keeps every ratio of two weights within (1 - s) / (1 + s) .. (1 + s) / (1 - s) of its own
        ratio = (after[:, :, None] / after[:, None, :]) / (before[:, :, None] / before[:, None, :])
        assert ratio.min() >= 1 / 3 - 1e-12 and ratio.max() <= 3 + 1e-12, name
        assert ratio.min() < 0.5 and ratio.max() > 2, name  # and uses most of that range


def test_bad_parameters_are_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(tmp_path))
    for args, message in [(["--spread", "1"], "--spread must be"), (["--draws", "0"], "--draws must be")]:
        assert cli.main(["sensitivity", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def hand_lines() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two intrusion-software lines (I = 100: goods factor 1 whatever the keep share) to AAA, no X, no floor.

    E = 0 would lower the context: it stays out, and D and U share it.
    far: D = 20, U = 10 -> context (0.45 x 20 + 0.2 x 10) / 0.65 = 16.92, Low; the weights move it between U and
    D, never across 25.
    edge: D = 60, U = 34 -> (27 + 6.8) / 0.65 = 52.0, High by 2: less weight on D makes it Moderate.
    """
    lines = pd.DataFrame(
        {
            "licence_id": ["far", "edge"],
            "destination_country_code": ["AAA", "AAA"],
            "score": [16.92, 52.0],
            "d_score": [20.0, 60.0],
            "e_score": [0.0, 0.0],
            "u_score": [10.0, 34.0],
            "i_score": [100.0, 100.0],
            "x_score": [0.0, 0.0],
            "p_score": [0.0, 0.0],
            "floors": pd.Series([None, None], dtype=listcols.LIST_DTYPE),
        }
    )
    return lines, pd.DataFrame({"fariss": [20.0, 60.0], "pts": [20.0, 60.0], "fh": [20.0, 60.0]})


def test_a_licence_far_from_band_edges_keeps_its_band_in_every_draw_one_at_an_edge_does_not(cfg):
    lines, risks = hand_lines()
    result = sensitivity.analyse(lines, risks, cfg, draws=200, seed=0, spread=0.5).licences.set_index("licence_id")
    far, edge = result.loc["far"], result.loc["edge"]
    assert (far["score"], far["score_band"], edge["score"], edge["score_band"]) == (16.92, "Low", 52.0, "High")
    assert far["band_kept_share"] == 1 and far["score_min"] < 16.92 < far["score_max"] < 25
    assert 0 < edge["band_kept_share"] < 1
    assert (edge["lowest_band"], edge["highest_band"]) == ("Moderate", "High")


def test_with_no_spread_every_score_and_band_is_the_baseline(cfg):
    lines, risks = hand_lines()
    result = sensitivity.analyse(lines, risks, cfg, draws=3, seed=0, spread=0.0)
    assert (result.licences["band_kept_share"] == 1).all()
    assert result.licences["score_min"].tolist() == result.licences["score_max"].tolist() == [16.92, 52.0]
    assert np.isnan(result.taus).all()  # one destination: no pair to rank, tau undefined


def test_analysis_stops_if_the_components_do_not_reproduce_the_scores(cfg):
    lines, risks = hand_lines()
    with pytest.raises(ValueError, match="does not reproduce the scores"):
        sensitivity.analyse(lines.assign(score=[16.92, 51.9]), risks, cfg, draws=3, seed=0, spread=0.5)


def test_kendall_tau_b_of_a_ranking_with_itself_its_reverse_and_hand_computed_cases():
    x = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0])
    np.testing.assert_allclose(sensitivity.kendall_tau_b(x, np.vstack([x, -x, x * 2 + 7])), [1, -1, 1])
    # 1 2 3 4 against 1 3 2 4: five concordant pairs, one discordant: (5 - 1) / 6
    np.testing.assert_allclose(sensitivity.kendall_tau_b(np.arange(4.0), np.array([[0.0, 2, 1, 3]])), [4 / 6])
    # ties, 1 1 2 3 against 1 2 2 3: four concordant, one pair tied in each: 4 / sqrt(5 x 5)
    tied = sensitivity.kendall_tau_b(np.array([1.0, 1, 2, 3]), np.array([[1.0, 2, 2, 3]]))
    np.testing.assert_allclose(tied, [0.8])


# --- the real data ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory, real_cleaned: Path) -> Path:
    """The real sources and the committed curated folder, cleaned and scored; returns the project root."""
    root = copy_project(real_cleaned, tmp_path_factory.mktemp("sensitivity"))
    run_cli(root, "score")
    return root


def test_recombining_the_components_equals_rescoring_with_each_draws_weights(real, cfg):
    t = scoring.read_processed(real / "data" / "processed")
    licences = t["licences"].sample(3000, random_state=0).reset_index(drop=True)
    links = scoring.network_links(licences, t["entities"], t["relations"], t["evidence"])
    lines = scoring.score_lines(licences, t["indicators"], t["evidence"], links, cfg)
    at, inputs = sensitivity.combination_inputs(lines, sensitivity.measure_risks(t["indicators"], lines, cfg))
    weights = sensitivity.draw_weights(cfg, 3, seed=5, spread=0.5)
    recombined = sensitivity.recombine(inputs, weights, cfg)[:, at]
    for row in range(3):
        rescored = scoring.score_lines(licences, t["indicators"], t["evidence"], links, weights.config(row, cfg))
        np.testing.assert_array_equal(recombined[row], rescored["score"].to_numpy(dtype=float))
    assert (recombined != lines["score"].to_numpy(dtype=float)).any(axis=1).all()


def test_the_command_gives_the_same_bytes_for_a_seed_and_other_ones_for_another(real, monkeypatch, capsys):
    monkeypatch.setenv("EXPORTRISK_ROOT", str(real))
    processed = real / "data" / "processed"
    outputs = ["sensitivity.parquet", "sensitivity_summary.csv"]

    def run(seed: int) -> list[bytes]:
        assert cli.main(["sensitivity", "--draws", "20", "--seed", str(seed)]) == 0
        return [(processed / name).read_bytes() for name in outputs]

    first = run(0)
    assert "Kendall tau median" in capsys.readouterr().out
    assert run(0) == first
    assert all(a != b for a, b in zip(run(1), first, strict=True))
    per_licence = read_table(processed / "sensitivity.parquet", SENSITIVITY)
    scores = read_table(processed / "scores.parquet", SCORES)
    assert per_licence["licence_id"].tolist() == scores["licence_id"].tolist()
    assert per_licence["score"].tolist() == scores["score"].tolist()
    summary = pd.read_csv(processed / "sensitivity_summary.csv").set_index(["statistic", "scope"])["value"]
    assert summary["draws", "all"] == 20 and summary["licences", "all"] == len(scores)
    assert 0 < summary["share_band_depends_on_weights", "all"] < 1
    assert -1 <= summary["kendall_tau_p05", "all"] <= summary["kendall_tau_median", "all"] <= 1
