"""pareto.png for one, two and more objectives."""

from __future__ import annotations

from pathlib import Path

from sweep.report import PARETO_PNG, write_report
from tests.sweep.tune_folders import SPACE, TuneFolder


def test_three_objectives_plot_every_pair(tmp_path: Path) -> None:
    space = {**SPACE, "objectives": [*SPACE["objectives"], {"metric": "cka", "direction": "min"}]}
    f = TuneFolder(tmp_path, space=space)
    for n, (acc, excess) in enumerate([(0.9, 0.1), (0.8, 0.05), (0.85, 0.2)], start=1):
        f.sweep_trial(f"a{n:07d}", "TERMINATED", {"w_adv": 0.1 * n, "disc_arch": "mlp"}, [(acc, excess)] * 3)
    f.save_state()
    report = write_report(f.results)
    # cka is 0.5 for all three, so the third objective ties and the 2-D front decides.
    assert [t.trial_id for t in report.pareto] == ["a0000001", "a0000002"]
    from matplotlib.image import imread

    height, width = imread(str(f.results / PARETO_PNG)).shape[:2]
    assert width > 500 and height > 500  # a 2x2 grid of pair panels
