"""The runner's gate of a sequential study: hold the next look's runs until the current one has decided.

A Tune ``Callback``: at the start of every step of Tune's loop it judges the trials Tune
holds (``sweep.search.looks.LookSchedule.decision`` on each ended trial's test metric)
and sets how many configs the ``ListSearcher`` may release: those of the looks reached so
far and the next one's, or none more once every registered comparison is decided (the
searcher then says FINISHED and Tune ends the experiment).

It reads Tune's trial list rather than counting completions the searcher is told of:
after ``Tuner.restore`` the trials that ended before the interruption are in that list,
while Tune's concurrency limiter forgets the ones it was running and never passes their
completion on. So the gate's state is derived, never saved: a restored gate (unpickled
with the searcher that refers to it) recomputes it at its first step.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune import Callback

from sweep.search.looks import LookSchedule

__all__ = ["LookGate"]

_ENDED = ("TERMINATED", "ERROR")  # Tune's statuses of a trial that will not run again


class LookGate(Callback):
    """How many of a sequential plan's configs may run now (``allowed``), and whether it stopped."""

    def __init__(self, schedule: LookSchedule, metric: str) -> None:
        self.schedule = schedule
        self.metric = metric  # the primary metric's key in a trial's last result (test_ensemble_acc)
        self.allowed = schedule.runs_at(1)
        self.stopped = False
        self._seen = -1  # ended trials at the last judgement: judge again only when it changes
        self._said = 0  # the looks already announced

    def _value(self, trial: Any) -> float:
        value = (trial.last_result or {}).get(self.metric) if trial.status == "TERMINATED" else None
        return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan

    def judge(self, trials: list[Any]) -> None:
        """Update ``allowed`` and ``stopped`` from Tune's trials (each with config, status, last_result)."""
        ended = {
            (str(t.config.get("arm")), int(t.config.get("seed", -1))): self._value(t)
            for t in trials
            if t.status in _ENDED
        }
        if len(ended) == self._seen or self.stopped:
            return
        self._seen = len(ended)
        values = {key: v for key, v in ended.items() if math.isfinite(v)}
        decision = self.schedule.decision(values, ended.keys())
        if decision.stopped_at is not None:
            self.stopped = True
            self.allowed = self.schedule.runs_at(decision.stopped_at)
        elif decision.looks_reached:
            self.allowed = self.schedule.runs_at(decision.looks_reached + 1)
        if decision.looks_reached > self._said:
            self._said = decision.looks_reached
            self._announce(decision.looks_reached, decision.final, decision.stopped_at)

    def _announce(self, look: int, words: list[str], stopped_at: int | None) -> None:
        names = [arm for arm, _ in self.schedule.comparisons]
        said = ", ".join(f"{name} {word}" for name, word in zip(names, words))
        seeds = self.schedule.design.looks[look - 1]
        then = (
            "every registered comparison is decided: the study stops here"
            if stopped_at is not None and stopped_at < len(self.schedule.design.looks)
            else "the last look"
            if stopped_at is not None
            else f"on to look {look + 1} ({self.schedule.design.looks[look]} seeds)"
        )
        print(f"netsep: look {look} ({seeds} seeds per arm): {said}; {then}", flush=True)

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.judge(trials)
