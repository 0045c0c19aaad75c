"""Reviewing a change: committed results follow the data, and `diff` shows what moved."""

from __future__ import annotations

import pytest
from conftest import change_vehicles_shipped, cqbook, git_commit_all

pytestmark = pytest.mark.slow


@pytest.fixture
def committed_repo(fixture_repo):
    git_commit_all(fixture_repo)
    return fixture_repo


def test_diff_reports_nothing_on_an_unchanged_tree(committed_repo):
    result = cqbook(committed_repo, "diff", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No headline value or chart changed." in result.stdout


def test_changed_data_value_moves_the_committed_results_and_shows_in_diff(committed_repo):
    headlines = committed_repo / "results" / "headline_values.csv"
    before = headlines.read_text()
    change_vehicles_shipped(committed_repo)
    # The committed file no longer matches what the inputs produce, until `make book`.
    assert cqbook(committed_repo, "build").returncode == 0
    after = headlines.read_text()
    assert before != after and "13702" in after and "12702" not in after

    result = cqbook(committed_repo, "diff", "HEAD")
    assert result.returncode == 1
    assert "Headline values: 1" in result.stdout  # the data changed, not a parameter
    assert "changed  alpha:alpha_vehicles  12,702 辆 → 13,702 辆  +7.9%" in result.stdout
    assert "Charts" not in result.stdout  # the chart does not use the vehicles


def test_changed_parameter_shows_as_changed_value_and_changed_chart(committed_repo):
    (committed_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    assert cqbook(committed_repo, "build").returncode == 0
    result = cqbook(committed_repo, "diff", "HEAD")
    assert result.returncode == 1
    assert "changed  alpha:alpha_product" in result.stdout
    assert "42 个 → 63 个" in result.stdout and "+50.0%" in result.stdout
    assert "changed  alpha:factor (parameter)" in result.stdout and "2 → 3" in result.stdout
    assert "Headline values: 2" in result.stdout  # the parameter and the one value it moves
    assert "Charts (content hash): 1" in result.stdout
    assert "alpha:fig-alpha-bar" in result.stdout
