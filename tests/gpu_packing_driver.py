"""``launch.py``'s command line with a recording trainable in place of the real one.

Test code only (tests/test_gpu_packing.py): the sweep goes through the real CLI
(plan, Ray connection, resources, Tune, report) and ``sweep.run.runner.run_sweep``'s
public ``trainable=`` argument; each trial records what Ray assigned it and when it
ran, waiting at a barrier until ``--expect`` trials have started, so "ran at once"
is observed rather than hoped for. Usage::

    python -m tests.gpu_packing_driver RECORD_DIR EXPECT <launch.py arguments>
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

BARRIER_TIMEOUT_S = 240.0  # a loaded 2-core machine may take minutes to start 8 workers


def make_recorder(record_dir: str, expect: int, metrics: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """A Tune function trainable that writes ``<record_dir>/<trial id>.json``."""

    def record(config: dict[str, Any]) -> None:
        import json
        import os
        import time
        from pathlib import Path

        import ray
        import ray.tune

        folder = Path(record_dir)
        trial_id = ray.tune.get_context().get_trial_id()
        start = time.time()
        (folder / f"{trial_id}.started").write_text(str(start))
        deadline = start + BARRIER_TIMEOUT_S
        while len(list(folder.glob("*.started"))) < expect and time.time() < deadline:
            time.sleep(0.2)
        seen = len(list(folder.glob("*.started")))
        row = {
            "trial_id": trial_id,
            "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "pid": os.getpid(),
            "start": start,
            "started_when_leaving": seen,
            "end": time.time(),
        }
        (folder / f"{trial_id}.json").write_text(json.dumps(row))
        ray.tune.report({**{name: 0.5 for name in metrics}, "epoch": 1, "train_seconds": 0.0})

    return record


def main(argv: list[str]) -> int:
    import sweep.backend.gpu_check
    import sweep.run.runner
    from sweep.cli import main as cli_main
    from trainable.metric_names import METRICS

    record_dir, expect, *launch_args = argv
    recorder = make_recorder(record_dir, int(expect), tuple(METRICS))
    # The CLI imports run_sweep when it runs a sweep, so this swaps the trainable only.
    sweep.run.runner.run_sweep = functools.partial(sweep.run.runner.run_sweep, trainable=recorder)
    # The GPUs here are declared, not real (this tests Ray's packing, not CUDA): the check that
    # torch sees every declared GPU (tests/test_gpu_node_check.py) would rightly refuse them.
    sweep.backend.gpu_check.check_gpu_nodes = lambda *args, **kwargs: []
    return cli_main(launch_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
