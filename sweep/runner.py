"""Run a sweep: a validated plan -> Ray Tune + OptunaSearch -> the results folder.

Layout of ``<storage>/<name>/`` (the results folder):

* ``sweep.json``  the plan (space, settings) so ``--resume`` and ``report`` need
  nothing else;
* ``space.yaml``  a copy of the search space file as it was run;
* ``tune/``       Ray Tune's own experiment folder (trials, checkpoints, searcher);
* the report files written by ``sweep.report`` (trials.csv, pareto.*, optuna.db,
  summary.md).

``build_tuner`` is the one public way to get a sweep's ``tune.Tuner``; the CLI and
the benchmarks both use it (the benchmarks with a trivial trainable).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sweep.plan import TUNE_DIR, SweepPlan, planned_baselines
from sweep.searcher import DefineByRun, SweepSearcher
from sweep.spaces import SearchSpace
from sweep.tune_assembly import TuneSpec, make_tuner, restore_tuner

__all__ = ["Trainable", "build_scheduler", "build_searcher", "build_tuner", "resume_sweep", "run_sweep", "tune_spec"]

Trainable = Callable[[dict[str, Any]], None]
KEEP_CHECKPOINTS = 2  # per trial: the last one to resume from, and the one before in case it is torn


def tune_spec(plan: SweepPlan, space: SearchSpace, *, callbacks: Sequence[Any] = (), reuse_actors: bool = True) -> TuneSpec:
    """What Tune needs from a resourced plan (see ``sweep.plan.resolve_resources``)."""
    if plan.cpus_per_trial is None or plan.gpus_per_trial is None:
        raise ValueError("the plan has no per-trial resources yet; call sweep.plan.resolve_resources first")
    extra = list(callbacks)
    if plan.wandb_project:
        from ray.air.integrations.wandb import WandbLoggerCallback

        extra.insert(0, WandbLoggerCallback(project=plan.wandb_project, group=plan.name))
    return TuneSpec(
        name=TUNE_DIR,
        storage_path=plan.tune_storage,
        num_samples=plan.trials + len(planned_baselines(plan, space)),
        cpus_per_trial=plan.cpus_per_trial,
        gpus_per_trial=plan.gpus_per_trial,
        max_failures=plan.max_failures,
        keep_checkpoints=KEEP_CHECKPOINTS,
        metric_columns=[*space.metric_names(), "epoch"],
        parameter_columns=list(space.params),
        max_concurrent=plan.max_concurrent,
        callbacks=tuple(extra),
        reuse_actors=reuse_actors,
    )


def build_searcher(plan: SweepPlan, space: SearchSpace) -> SweepSearcher:
    """Optuna (the space's seeded sampler) behind the baseline-first ``SweepSearcher``."""
    from ray.tune.search.optuna import OptunaSearch

    from sweep.samplers import create_sampler

    optuna_search = OptunaSearch(
        space=DefineByRun(space.sample, plan.fixed),
        metric=space.metric_names(),  # lists go on the searcher, never on TuneConfig
        mode=space.tune_modes(),
        sampler=create_sampler(space.sampler, space.seed, len(space.objectives), conditional=space.is_conditional),
    )
    return SweepSearcher(optuna_search, planned_baselines(plan, space))


def build_scheduler(plan: SweepPlan) -> Any:
    """ASHA on ``--early-stop``'s metric, one rung per epoch; None without early stopping."""
    if not plan.early_stop:
        return None
    from ray.tune.schedulers import ASHAScheduler

    from trainable.metric_names import direction_of

    epochs = int(plan.fixed.get("epochs", 1))
    return ASHAScheduler(
        metric=plan.early_stop, mode=direction_of(plan.early_stop), time_attr="training_iteration",
        max_t=max(epochs, 1), grace_period=1, reduction_factor=2,
    )


def build_tuner(
    plan: SweepPlan,
    space: SearchSpace,
    trainable: Trainable | None = None,
    *,
    searcher: SweepSearcher | None = None,
    callbacks: Sequence[Any] = (),
    reuse_actors: bool = True,
) -> Any:
    """The sweep's ``tune.Tuner`` (not started).

    ``trainable`` None is netsep's real one (``trainable.tune_function.train``);
    ``searcher`` lets a caller keep a handle on the searcher (and its Optuna study);
    ``callbacks`` are extra Tune callbacks; ``reuse_actors=False`` exists only to
    measure what reusing actors saves.
    """
    spec = tune_spec(plan, space, callbacks=callbacks, reuse_actors=reuse_actors)
    return make_tuner(spec, searcher or build_searcher(plan, space), trainable=trainable,
                      scheduler=build_scheduler(plan))


def run_sweep(plan: SweepPlan, space: SearchSpace, *, trainable: Trainable | None = None) -> Path:
    """Run the whole sweep; returns the results folder (report not yet written)."""
    tuner = build_tuner(plan, space, trainable)
    plan.save()
    tuner.fit()
    return Path(plan.results_dir)


def resume_sweep(plan: SweepPlan, space: SearchSpace, *, trainable: Trainable | None = None) -> Path:
    """Continue an interrupted sweep (``plan`` from ``load_plan``) to its full number of trials."""
    tuner = restore_tuner(plan.tune_path, tune_spec(plan, space), trainable=trainable, where=plan.results_dir)
    tuner.fit()
    return Path(plan.results_dir)
