"""One record per Tune trial, as the report sees it: pure functions, nothing read or written."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweep.baselines import BASELINE_ARM, pairing_of
from sweep.report.status import Status, trial_status
from sweep.report.tune_folder import TuneTrial
from sweep.spaces import SearchSpace
from sweep.spaces.replication import INERT_DISC_ACC
from trainable.config import TrialConfig
from trainable.metric_names import METRICS

__all__ = [
    "SEARCH_ARM",
    "INERT_DISC_ACC",
    "TrialRecord",
    "to_record",
    "trial_params",
    "metric_value",
    "max_epochs_of",
    "is_inert_adversary",
    "uses_test_split",
]

SEARCH_ARM = "search"  # the `arm` column of every trial Optuna proposed


def is_inert_adversary(config: Mapping[str, Any], disc_acc: float | int | None) -> bool:
    """A trial whose objective trains a discriminator that ended at chance (or never reported, or NaN)."""
    if config.get("objective", TrialConfig.objective) == "independent":
        return False
    return disc_acc is None or not math.isfinite(disc_acc) or disc_acc < INERT_DISC_ACC


def uses_test_split(config: Mapping[str, Any], eval_split: str = "") -> bool:
    """A sweep trial that selected on the test split (docs/protocol.md section 1): val_size 0, or it said so."""
    return config.get("val_size", TrialConfig.val_size) == 0 or eval_split == "test"


def _eval_split(results: Sequence[Mapping[str, Any]]) -> str:
    """The split the last result says it was measured on; "test" for results that predate the field."""
    if not results:
        return ""
    split = results[-1].get("eval_split")
    return split if isinstance(split, str) else "test"


@dataclass(frozen=True)
class TrialRecord:
    """One Tune trial as the report sees it."""

    trial_id: str
    arm: str  # BASELINE_ARM or SEARCH_ARM
    status: Status
    reason: str  # why it errored / was interrupted / cannot be ranked; "" otherwise
    epochs: int  # epochs reported (the trial's own `epoch` count, which survives a resume)
    max_epochs: int  # the epochs its config asked for
    config: dict[str, Any]  # the config Tune ran it with (params.json)
    params: dict[str, Any]  # the space's params this trial has, in space order
    metrics: dict[str, float | int | None]  # last reported value of each METRICS name; None if never reported
    history: tuple[dict[str, Any], ...]  # every parsed result.json line, in order
    checkpoint: str  # the newest checkpoint folder (path or URI); "" when none
    started: float | None  # Unix time the trial started, if known
    ended: float | None  # Unix time of its last result, if known
    # The split its numbers were measured on: "validation", "test" (val_size 0, or a trial
    # from before netsep had a validation split, which evaluated the test split), "" unknown.
    eval_split: str = ""

    @property
    def is_baseline(self) -> bool:
        return self.arm == BASELINE_ARM

    def value(self, metric: str) -> float:
        """The metric's last reported value; NaN when it was never reported."""
        reported = self.metrics.get(metric)
        return math.nan if reported is None else float(reported)

    def objective_values(self, metrics: Sequence[str]) -> list[float] | None:
        """The values of ``metrics``, or None when one is missing or not finite."""
        values = [self.value(m) for m in metrics]
        return values if all(math.isfinite(v) for v in values) else None

    @property
    def inert_adversary(self) -> bool:
        """Its discriminator's last ``disc_acc`` is below INERT_DISC_ACC (or NaN): kept off the front."""
        return is_inert_adversary(self.config, self.metrics.get("disc_acc"))

    @property
    def effective_pairing(self) -> str:
        """How this trial's pair shared each batch, to match it with its baseline."""
        return pairing_of(self.config)


def metric_value(value: Any) -> float | int | None:
    """A reported metric as it was reported (epoch stays an int); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def trial_params(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """The space's params this trial's config has, in space order (conditional ones may be absent)."""
    return {name: config[name] for name in space.params if name in config}


def max_epochs_of(config: Mapping[str, Any]) -> int:
    return int(config.get("epochs", TrialConfig.epochs))


def to_record(trial: TuneTrial, space: SearchSpace) -> TrialRecord:
    """The report's view of one trial read from Tune's folder."""
    config = trial.config
    max_epochs = max_epochs_of(config)
    status, reason = trial_status(trial, max_epochs, run="sweep")
    last = trial.last_result
    return TrialRecord(
        trial_id=trial.trial_id,
        arm=BASELINE_ARM if config.get("arm") == BASELINE_ARM else SEARCH_ARM,
        status=status,
        reason=reason,
        epochs=trial.epochs,
        max_epochs=max_epochs,
        config=dict(config),
        params=trial_params(space, config),
        metrics={name: metric_value(last.get(name)) for name in METRICS},
        history=trial.results,
        checkpoint=trial.checkpoints[-1] if trial.checkpoints else "",
        started=trial.started,
        ended=trial.ended,
        eval_split=_eval_split(trial.results),
    )
