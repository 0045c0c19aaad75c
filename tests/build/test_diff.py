"""`diff` cannot miss a change: values are compared as values (number, unit, bound), against
the right base, and every mistake is one line and exit 2.

The command-line tests run in copies of the fixture repository committed on `main` with the
change on a branch `feature`, as a pull request would have it."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import change_vehicles_shipped, cqbook
from review_repos import build, commit, edit_notebook, git, on_feature_branch

from cqbook.build import diff, results

HEADER = ["notebook", "kind", "name", "value", "unit", "bound", "text", "label"]


def row(value: str, unit: str = "亿元", bound: str = "exact", text: str = "", name: str = "x",
        kind: str = "headline") -> dict[str, str]:
    return dict(zip(HEADER, ["book", kind, name, value, unit, bound, text or value, ""]))


# --- values, without a build ----------------------------------------------------------------


def test_floats_are_written_to_twelve_significant_digits_and_stay_floats():
    assert results.value_text(2216.265402843602) == "2216.26540284"
    assert results.value_text(103.52000000000001) == "103.52"
    assert results.value_text(2.0) == "2.0"
    assert results.value_text(12702) == "12702"
    assert results.value_text("2023-10-11") == '"2023-10-11"'


def test_the_last_bits_of_a_float_are_not_a_change():
    # A base written at full precision (before the fixed precision) against the rounded one.
    printed = "≈ 2,216.3 亿元"
    assert diff.compare_values([row("2216.265402843602", text=printed)],
                               [row("2216.26540284", text=printed)]) == []
    assert diff.compare_values([row("2216.2654028436", text=printed)],
                               [row("2216.2654028436004", text=printed)]) == []


def test_a_change_below_the_display_rounding_is_reported_with_its_size():
    [change] = diff.compare_values([row("2216.27", text="≈ 2,216.3 亿元")],
                                   [row("2220.70", text="≈ 2,216.3 亿元")])
    assert change.kind == "changed" and change.fields == ("value",)
    assert diff.shown_absolute(change) == "+4.43"
    assert diff.shown_relative(change) == "+0.2%"
    assert diff.shown_fields(change) == "value (printed text unchanged)"


def test_a_tiny_relative_change_is_not_printed_as_zero():
    [change] = diff.compare_values([row("1000000")], [row("1000000.01")])
    assert diff.shown_absolute(change) == "+0.01"
    assert diff.shown_relative(change) == "+1e-06%"


def test_unit_and_bound_changes_are_changes_of_the_value():
    [unit] = diff.compare_values([row("9", unit="万平方米")], [row("9", unit="平方米")])
    assert unit.fields == ("unit",) and unit.absolute is None
    [bound] = diff.compare_values([row("9", bound="exact")], [row("9", bound="more_than")])
    assert bound.fields == ("bound",)
    assert (diff.shown_value(bound.old), diff.shown_value(bound.new)) == ("9 亿元", "> 9 亿元")
    # A status term has no symbol, and must still show.
    [status] = diff.compare_values([row("25")], [row("25", bound="expected")])
    assert diff.shown_value(status.new) == "25 亿元 [expected]"


def test_added_and_removed_values_and_a_parameter_are_told_apart():
    old = [row("1", name="gone"), row("2", kind="parameter", name="factor")]
    new = [row("1", name="new"), row("3", kind="parameter", name="factor")]
    shown = {(c.kind, c.label) for c in diff.compare_values(old, new)}
    assert shown == {("removed", "gone"), ("added", "new"), ("changed", "factor (parameter)")}


def test_a_value_that_changes_type_is_a_change():
    [change] = diff.compare_values([row('"2023-10-11"', unit="")], [row('"2023-12-31"', unit="")])
    assert change.fields == ("value", "text") and change.relative is None


# --- the command line, in a repository --------------------------------------------------------


@pytest.fixture
def feature_repo(fixture_repo):
    return on_feature_branch(fixture_repo)


def run_diff(repo, *arguments):
    result = cqbook(repo, "diff", *arguments)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_one_line_error(result, *phrases):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.mark.slow
def test_a_changed_parameter_in_book_params_is_reported(feature_repo):
    (feature_repo / "params" / "book.yml").write_text("alpha:\n  factor: 999\n")
    build(feature_repo)
    commit(feature_repo)  # compared with HEAD, nothing would show: the base is the merge base
    result = run_diff(feature_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Compared with merge base with main" in result.stdout
    assert "changed  alpha:factor (parameter)  2 → 999" in result.stdout
    assert "alpha:alpha_product       42 个 → 20979 个  +20937  +49850.0%" in result.stdout
    assert "changed  alpha:fig-alpha-bar  svg " in result.stdout


@pytest.mark.slow
def test_a_data_value_changed_below_the_display_rounding_is_reported(fixture_repo):
    # The base prints the vehicles to whole units; the change moves them by 0.4.
    edit_notebook(fixture_repo, "alpha", 'unit="辆")', 'unit="辆", digits=0)')
    build(fixture_repo)
    on_feature_branch(fixture_repo)
    change_vehicles_shipped(fixture_repo, new="12702.4")
    build(fixture_repo)
    printed = [r["text"] for r in results.read_csv_text(
        (fixture_repo / "results" / "headline_values.csv").read_text())
        if r["name"] == "alpha_vehicles"]
    assert printed == ["12,702 辆"]  # what a reader sees did not move
    result = run_diff(fixture_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("changed  alpha:alpha_vehicles  12702.0 辆 → 12702.4 辆  +0.4  +0.0031%  "
            "(value (printed text unchanged))") in result.stdout
    assert "Charts" not in result.stdout


@pytest.mark.slow
def test_a_chart_only_change_is_reported(feature_repo):
    edit_notebook(feature_repo, "alpha", "figsize=(3, 2)", "figsize=(4, 2)")
    build(feature_repo)
    result = run_diff(feature_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Headline values" not in result.stdout
    assert "Charts (content hash): 1" in result.stdout
    assert "changed  alpha:fig-alpha-bar" in result.stdout


@pytest.mark.slow
def test_a_unit_or_bound_change_is_reported(feature_repo):
    edit_notebook(feature_repo, "alpha", 'unit="辆")', 'unit="台")')
    edit_notebook(feature_repo, "alpha", 'unit="个")', 'unit="个", bound="approx")')
    build(feature_repo)
    result = run_diff(feature_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "alpha:alpha_product   42 个 → ≈ 42 个" in result.stdout
    assert "(bound, text)" in result.stdout
    assert "alpha:alpha_vehicles  12702.0 辆 → 12702.0 台" in result.stdout
    assert "(unit, text)" in result.stdout


@pytest.mark.slow
def test_a_prose_only_change_reports_nothing(feature_repo):
    edit_notebook(feature_repo, "alpha", "A fixture chapter for", "A reworded fixture chapter for")
    index = feature_repo / "book" / "index.md"
    index.write_text(index.read_text(encoding="utf-8").replace("# Fixture book", "# The book"),
                     encoding="utf-8")
    build(feature_repo)
    commit(feature_repo)
    result = run_diff(feature_repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No headline value, parameter or chart changed." in result.stdout


@pytest.mark.slow
def test_markdown_output_is_a_sticky_comment_with_tables(feature_repo):
    (feature_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    build(feature_repo)
    result = run_diff(feature_repo, "--format", "markdown")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == diff.MARKER
    assert lines[1].startswith("## ")
    assert "| notebook | name | old | new | Δ | relative | what changed |" in lines
    assert "| alpha | alpha_product | 42 个 | 63 个 | +21 | +50.0% | value, text |" in lines
    assert "| alpha | factor (parameter) | 2 | 3 | +1 | +50.0% | value, text |" in lines
    [chart] = [line for line in lines if line.startswith("| alpha | fig-alpha-bar |")]
    assert chart.split(" | ")[2] == "changed"


@pytest.mark.slow
def test_markdown_for_no_change_says_so(feature_repo):
    result = run_diff(feature_repo, "--format", "markdown")
    assert result.returncode == 0
    assert result.stdout.startswith(diff.MARKER + "\n")
    assert "No headline value, parameter or chart changed." in result.stdout


# --- which base -------------------------------------------------------------------------------


@pytest.fixture
def pull_request_clone(feature_repo, tmp_path):
    """What a CI checkout of a pull request has: `origin/main`, no local `main`."""
    (feature_repo / "params" / "book.yml").write_text("alpha:\n  factor: 999\n")
    build(feature_repo)
    commit(feature_repo, "factor 999")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(feature_repo), str(clone)], check=True)
    assert git(clone, "branch", "--show-current") == "feature"
    assert git(clone, "branch", "--list", "main") == ""
    return clone


@pytest.mark.slow
def test_the_base_is_the_merge_base_with_origin_main_when_there_is_no_local_main(
        pull_request_clone):
    result = run_diff(pull_request_clone)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Compared with merge base with origin/main" in result.stdout
    assert "alpha:factor (parameter)  2 → 999" in result.stdout


@pytest.mark.slow
def test_without_main_or_origin_main_diff_refuses_and_says_how_to_name_a_base(
        pull_request_clone):
    git(pull_request_clone, "remote", "remove", "origin")
    result = run_diff(pull_request_clone)
    assert_one_line_error(result, "origin/main", "main", "--base REV")
    named = run_diff(pull_request_clone, "--base", "HEAD~1")
    assert named.returncode == 1 and "Compared with HEAD~1" in named.stdout


@pytest.mark.slow
def test_an_unknown_revision_is_one_line_and_exit_2(feature_repo):
    assert_one_line_error(run_diff(feature_repo, "--base", "nosuchrev"), "'nosuchrev'")
    assert_one_line_error(run_diff(feature_repo, "nosuchrev"), "'nosuchrev'")  # old spelling


@pytest.mark.slow
def test_outside_a_git_checkout_diff_is_one_line_and_exit_2(fixture_repo):
    assert not (fixture_repo / ".git").exists()
    assert_one_line_error(run_diff(fixture_repo), "not a git checkout")


@pytest.mark.slow
def test_a_malformed_or_missing_results_file_is_one_line_and_exit_2(feature_repo):
    headlines = feature_repo / "results" / "headline_values.csv"
    headlines.write_text("notebook,name\nalpha,\"unclosed\n", encoding="utf-8")
    assert_one_line_error(run_diff(feature_repo), "results/headline_values.csv", "malformed")
    headlines.unlink()
    assert_one_line_error(run_diff(feature_repo), "results/headline_values.csv", "make book")


@pytest.mark.slow
def test_a_base_without_results_shows_every_value_as_added(fixture_repo):
    shutil.rmtree(fixture_repo / "results")
    on_feature_branch(fixture_repo)
    build(fixture_repo)
    result = run_diff(fixture_repo)
    assert result.returncode == 1
    assert re.search(r"added\s+alpha:alpha_product\s+— → 42 个", result.stdout), result.stdout
