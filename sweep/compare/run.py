"""Compare mode's runs: one Ray Tune experiment under ``<compare>/tune``, parallel,
checkpointed and resumable, built by ``sweep.backend.tuner`` like a sweep's.

A ``ListSearcher`` proposes the plan's (seed, arm) configs in order, so that Tune
saves its position and a resume repeats no finished run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sweep.backend.tuner import TuneSpec, common_dataset, fit, make_tuner, restore_tuner
from sweep.compare.gather import TEST_PREFIX
from sweep.compare.plan import TUNE_NAME, ComparePlan
from sweep.errors import UserError
from sweep.search.looks import LookSchedule

__all__ = ["CompareOutcome", "tune_spec", "run_compare"]

_METRIC_COLUMNS = ("ensemble_acc", "member_acc", "disagreement", "epoch")  # the progress table
_PARAMETER_COLUMNS = ("arm", "seed")
_KEEP_CHECKPOINTS = 1  # the last one holds the test predictions compare reads


def tune_spec(plan: ComparePlan) -> TuneSpec:
    """The Tune experiment of a plan whose resources are resolved."""
    if plan.cpus_per_trial is None or plan.gpus_per_trial is None:
        raise UserError(
            f"{plan.compare_dir}: the compare plan has no per-run resources; "
            "start the compare run again without --resume"
        )
    return TuneSpec(
        name=TUNE_NAME,
        storage_path=plan.compare_dir,
        num_samples=len(plan.run_configs()),
        cpus_per_trial=plan.cpus_per_trial,
        gpus_per_trial=plan.gpus_per_trial,
        max_failures=plan.max_failures,
        keep_checkpoints=_KEEP_CHECKPOINTS,
        metric_columns=_METRIC_COLUMNS,
        parameter_columns=_PARAMETER_COLUMNS,
        max_concurrent=plan.max_concurrent,
        dataset=common_dataset(plan.run_configs()),
    )


@dataclass(frozen=True)
class CompareOutcome:
    planned: int  # runs of the plan: seeds x arms
    ended: int  # runs Tune ended (complete or errored beyond their retries)

    @property
    def finished(self) -> bool:
        """Tune ran every planned run to its end (it was not stopped early)."""
        return self.ended >= self.planned


def run_compare(
    plan: ComparePlan,
    resume: bool = False,
    *,
    trainable: Callable[[dict[str, Any]], None] | None = None,
    looks: LookSchedule | None = None,
) -> CompareOutcome:
    """Run (or continue) every (seed, arm); saves ``compare.json`` first on a new run.

    ``looks``: a sequential study's registered looks; the runs then go look by look and
    end at the first look where every registered comparison is decided (``LookGate``).
    A resume continues with the gate the run started with (Tune saved it with the searcher).
    """
    from sweep.search.list_searcher import ListSearcher  # imports Ray: only when runs start
    from sweep.search.look_gate import LookGate

    spec = tune_spec(plan)
    if resume:
        tuner = restore_tuner(plan.tune_path, spec, trainable=trainable, where=plan.compare_dir)
    else:
        plan.save()
        gate = LookGate(looks, TEST_PREFIX + "ensemble_acc") if looks is not None else None
        if gate is not None:
            spec = replace(spec, callbacks=(*spec.callbacks, gate))
        searcher = ListSearcher(plan.run_configs(), metric="ensemble_acc", mode="max", gate=gate)
        tuner = make_tuner(spec, searcher, trainable=trainable)
    grid = fit(tuner, TUNE_NAME)
    return CompareOutcome(planned=spec.num_samples, ended=grid.num_terminated + grid.num_errors)
