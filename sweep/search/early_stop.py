"""Early stopping of whole configurations: successive halving on the mean over a configuration's seeds.

``--early-stop METRIC`` stops weak configurations early, the way ASHA stops weak trials
(rungs at 1, 2, 4, ... epochs; at each rung, keep the best half of what reached it), but
it judges a *configuration*: its value at a rung is the mean over its replicates once
all of them reached the rung, so one lucky or unlucky seed cannot decide, and when a
configuration is stopped all its replicates stop together (the ones already past the
rung at their next result). Baselines are never stopped. The searcher then tells Optuna
the configuration as PRUNED, and the report keeps it off the front.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

__all__ = ["GroupHalving", "rungs"]


def rungs(max_t: int, grace: int = 1, reduction: int = 2) -> list[int]:
    """The epochs at which configurations are compared: grace, grace * r, grace * r**2, ... below max_t."""
    out, t = [], grace
    while t < max_t:
        out.append(t)
        t *= reduction
    return out


class GroupHalving(FIFOScheduler):
    """See the module doc. ``replicates``: the seeds every configuration runs (a fixed K)."""

    def __init__(self, metric: str, mode: str, max_t: int, replicates: int, reduction: int = 2) -> None:
        super().__init__()
        # Tune's TrialScheduler reads its metric through a read-only `metric` property over _metric.
        self._metric, self._mode = metric, mode
        self.replicates = replicates
        self.reduction = reduction
        self.rungs = set(rungs(max_t, 1, reduction))
        self.reported: dict[tuple[int, int], dict[int, float]] = defaultdict(
            dict
        )  # (config, rung) -> {replicate: value}
        self.recorded: dict[int, list[float]] = defaultdict(list)  # rung -> configurations' means
        self.stopped: set[int] = set()  # configurations stopped

    @property
    def mode(self) -> str:
        return self._mode

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return True  # its metric and mode are its own

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        config_id = trial.config.get("config_id")
        if config_id is None:
            return TrialScheduler.CONTINUE  # a baseline
        if config_id in self.stopped:
            return TrialScheduler.STOP
        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        if epoch not in self.rungs:
            return TrialScheduler.CONTINUE
        value = result.get(self.metric)
        seen = self.reported[(config_id, epoch)]
        seen[int(trial.config.get("replicate", 0))] = float(value) if isinstance(value, (int, float)) else math.nan
        if len(seen) < self.replicates:
            return TrialScheduler.CONTINUE  # decided when its last replicate reaches the rung
        mean = float(np.mean(list(seen.values())))
        recorded = self.recorded[epoch]
        recorded.append(mean)
        if self._below_cutoff(mean, recorded):
            self.stopped.add(config_id)
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def _below_cutoff(self, value: float, recorded: list[float]) -> bool:
        """Outside the best 1/reduction of the configurations recorded at this rung (a NaN always is)."""
        if not math.isfinite(value):
            return True
        if len(recorded) < self.reduction:
            return False
        finite = [v for v in recorded if math.isfinite(v)]
        keep = 100 * (1 - 1 / self.reduction)
        if self._mode == "max":
            return value < float(np.percentile(finite, keep))
        return value > float(np.percentile(finite, 100 - keep))

    def debug_string(self) -> str:
        return f"GroupHalving on {self.metric} ({self._mode}): {len(self.stopped)} configurations stopped"
