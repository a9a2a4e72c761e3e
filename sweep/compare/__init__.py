"""Compare mode: retrain a sweep's best configurations and its baseline over paired seeds.

One module per job: ``request`` (what the user asks), ``plan`` (arms, seeds,
resources; ``compare.json``), ``run`` (the Tune experiment), ``gather`` (runs.csv,
correctness.npz), ``stats`` (paired statistics), ``analysis`` (per-arm and paired
numbers), ``plots``, ``summary`` and ``report`` (the files), ``command`` (all of it
from a request). Seed s of every arm shares the data order, the augmentation and the
first classifier's initialisation (``trainable.loop.build_models``), so the
differences are paired.
"""

from __future__ import annotations

from sweep.compare.command import run_compare_request
from sweep.compare.request import CompareRequest

__all__ = ["CompareRequest", "run_compare_request"]
