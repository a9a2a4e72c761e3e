"""Compare mode: retrain a sweep's best configurations and its baseline over paired seeds.

One module per job (the request is ``sweep.requests.CompareRequest``):

* ``plan``: arms, seeds, resources; ``compare.json``;
* ``run``: the Tune experiment;
* ``gather``: the runs into ``runs.csv`` and ``correctness.npz``;
* ``sweep.stats`` (not here): paired statistics, power, MDE and Holm, shared with the sweep report;
* ``analysis``, ``verdict``: per-arm and paired numbers, and what they say;
* ``plots``, ``summary``, ``report``: the files;
* ``command``: all of it from a request, and the run-then-report a study shares.

Seed s of every arm shares the data order, the augmentation and the first
classifier's initialisation (``trainable.loop.build_models``), so the differences
are paired.
"""

from __future__ import annotations

from sweep.compare.command import run_compare_request

__all__ = ["run_compare_request"]
