"""Sweeps on a Dask cluster (`--scheduler tcp://…`): a LocalCluster on this machine stands
in for a remote one. The runs must give the same table as the local executor."""

from __future__ import annotations

import os

import pytest
from conftest import cqbook

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler_address():
    # distributed sets its workers' variables (OMP_NUM_THREADS, MALLOC_TRIM_THRESHOLD_, ...)
    # in this process's own environment and leaves them. Its workers have started with them
    # by the time the cluster is made, so they are taken back at once: the commands this
    # module runs are clients of the cluster, forked from the zygote as every other command
    # (with them, each ran in a new interpreter, tests/command_zygote.py).
    before = dict(os.environ)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        os.environ.clear()
        os.environ.update(before)
        yield cluster.scheduler_address


def _table(repo):
    tables = list((repo / "sweeps").glob("alpha__factor__*/results.csv"))
    assert len(tables) == 1
    return tables[0].read_text().splitlines()


def test_sweep_on_a_dask_cluster_gives_the_local_table(fixture_repo, scheduler_address):
    result = cqbook(fixture_repo, "sweep", "alpha", "-p", "factor", "1", "2", "3",
                    "--scheduler", scheduler_address)
    assert result.returncode == 0, result.stdout + result.stderr
    on_dask = _table(fixture_repo)
    assert on_dask == ["run,factor,alpha_product,alpha_vehicles",
                       "0,1,21,12702.0", "1,2,42,12702.0", "2,3,63,12702.0"]
    # Progress, as plain lines outside a terminal: every run counted.
    assert "sweep alpha: 3/3 done" in result.stdout

    for folder in (fixture_repo / "sweeps").iterdir():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()
    local = cqbook(fixture_repo, "sweep", "alpha", "-p", "factor", "1", "2", "3")
    assert local.returncode == 0, local.stderr
    assert _table(fixture_repo) == on_dask


def test_a_failing_run_on_dask_is_reported_with_its_cell(fixture_repo, scheduler_address):
    path = fixture_repo / "notebooks" / "alpha.ipynb"
    path.write_text(path.read_text().replace("base_count = 21", "base_count = 21 / 0"))
    result = cqbook(fixture_repo, "sweep", "alpha", "-p", "factor", "1", "2",
                    "--scheduler", scheduler_address)
    assert result.returncode == 2
    assert "alpha.ipynb: cell 3 (`base_count = 21 / 0`): ZeroDivisionError" in result.stderr
