"""Every chart of every chapter is vector graphics: an SVG with no embedded raster (an
<image> element), so that it stays sharp when zoomed and in the PDF edition, and reads the
same on every screen. imshow and a colour bar of 50+ colours are what put rasters in."""

from __future__ import annotations

import io
import re

import chapter_runs as chapter
import matplotlib.pyplot as plt
import pytest

from cqbook.paths import NOTEBOOKS_DIR

CHAPTERS = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.md"))
RASTER = re.compile(r"<image\b")


def rasters(svg: str) -> int:
    return len(RASTER.findall(svg))


@pytest.fixture(scope="module")
def executed_charts(tmp_path_factory) -> dict[str, list[str]]:
    folders = {name: chapter.shared_run(name, {}, tmp_path_factory) for name in CHAPTERS}
    return {name: chapter.chart_outputs(folder) for name, folder in folders.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chart_of_the_chapter_is_vector_graphics(executed_charts, name):
    charts = executed_charts[name]
    assert charts, f"{name} shows no chart"
    with_rasters = [index for index, svg in enumerate(charts) if rasters(svg)]
    assert not with_rasters, f"{name}: charts {with_rasters} embed a raster <image>"


def test_the_check_finds_the_raster_imshow_writes():
    fig, ax = plt.subplots()
    image = ax.imshow([[0, 1], [2, 3]])
    fig.colorbar(image, ax=ax)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    assert rasters(buffer.getvalue()) >= 1
