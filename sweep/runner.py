"""Run a sweep: a validated plan -> Ray Tune + OptunaSearch -> the results folder.

Layout of ``<storage>/<name>/`` (the results folder):

* ``sweep.json``  the plan (space, settings) so ``--resume`` and ``report`` need
  nothing else;
* ``space.yaml``  a copy of the search space file as it was run;
* ``tune/``       Ray Tune's own experiment folder (trials, checkpoints, searcher);
* the report files written by ``sweep.report`` (trials.csv, pareto.*, optuna.db,
  summary.md).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.plan import TUNE_DIR, SweepPlan, load_plan
from sweep.spaces import SearchSpace

__all__ = ["run_sweep", "resume_sweep", "baseline_configs"]


# --------------------------------------------------------------------- building
def baseline_configs(plan: SweepPlan, space: SearchSpace) -> list[dict[str, Any]]:
    """The `independent` pairs the sweep's arms are compared with.

    Same fixed settings (data, classifier, epochs, batch size, seed), no
    discriminator, and the data seen the way the arms see it: `seed` arms split each
    batch, `dice` arms share it. When the space searches the objective itself, one
    baseline per pairing it can produce. Searched params a baseline also has (a
    classifier lr, say) keep the TrialConfig default.
    """
    from trainable.config import TrialConfig

    if "objective" in space.params:
        objectives = list(space.params["objective"].choices)
    else:
        objectives = [plan.fixed.get("objective", TrialConfig.objective)]
    pairings = sorted({plan.fixed.get("pairing") or ("split" if o == "seed" else "shared") for o in objectives})
    return [{**plan.fixed, "objective": "independent", "w_adv": 0.0, "pairing": p} for p in pairings]


def _trainable(plan: SweepPlan, trainable: Callable[[dict[str, Any]], None] | None = None):
    from ray import tune

    from trainable.tune_function import train

    resources = {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial}
    return tune.with_resources(trainable or train, resources)


def _searcher(plan: SweepPlan, space: SearchSpace):
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from sweep.samplers import create_sampler
    from sweep.searcher import DefineByRun, SweepSearcher

    optuna_search = OptunaSearch(
        space=DefineByRun(space.sample, plan.fixed),
        metric=space.metric_names(),  # lists go on the searcher, never on TuneConfig
        mode=space.tune_modes(),
        sampler=create_sampler(space.sampler, space.seed, len(space.objectives), conditional=space.is_conditional),
    )
    baselines = baseline_configs(plan, space) if plan.baseline else []
    return ConcurrencyLimiter(SweepSearcher(optuna_search, baselines), max_concurrent=plan.max_concurrent)


def _run_config(plan: SweepPlan, space: SearchSpace):
    from ray import tune

    callbacks = []
    if plan.wandb_project:
        from ray.air.integrations.wandb import WandbLoggerCallback

        callbacks.append(WandbLoggerCallback(project=plan.wandb_project, group=plan.name))
    reporter = tune.CLIReporter(
        metric_columns=[*space.metric_names(), "epoch"],
        parameter_columns=list(space.params),
        max_report_frequency=15,
        sort_by_metric=False,
    )
    return tune.RunConfig(
        name=TUNE_DIR,
        storage_path=plan.tune_storage,
        failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        callbacks=callbacks,
        progress_reporter=reporter,
        verbose=1,
    )


def _tune_config(plan: SweepPlan, space: SearchSpace):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from trainable.metric_names import direction_of

    scheduler = None
    if plan.early_stop:
        epochs = int(plan.fixed.get("epochs", 1))
        scheduler = ASHAScheduler(
            metric=plan.early_stop, mode=direction_of(plan.early_stop), time_attr="training_iteration",
            max_t=max(epochs, 1), grace_period=1, reduction_factor=2,
        )
    return tune.TuneConfig(
        search_alg=_searcher(plan, space),
        scheduler=scheduler,
        num_samples=plan.trials + (len(baseline_configs(plan, space)) if plan.baseline else 0),
        reuse_actors=True,  # ~10x less per-trial overhead (DESIGN §6)
        trial_name_creator=trial_name,
        trial_dirname_creator=trial_name,
    )


def trial_name(trial) -> str:
    """Short trial folder names: the id alone (params live in params.json)."""
    return f"trial_{trial.trial_id}"


def _use_classic_progress_table() -> None:
    # Ray's newer console output ignores `progress_reporter`; the classic one prints
    # Tune's trial table with exactly the objective columns we ask for.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


# ----------------------------------------------------------------------- running
def run_sweep(
    plan: SweepPlan, space: SearchSpace, *, trainable: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """Run the whole sweep; returns the results folder (report not yet written).

    ``trainable`` replaces the real one (``trainable.tune_function.train``); the
    benchmarks pass a trivial function to time the sweep machinery alone.
    """
    from ray import tune

    _use_classic_progress_table()
    plan.save()
    tuner = tune.Tuner(_trainable(plan, trainable), tune_config=_tune_config(plan, space), run_config=_run_config(plan, space))
    tuner.fit()
    return Path(plan.results_dir)


def resume_sweep(results_dir: str | Path) -> Path:
    """Continue an interrupted sweep to its full number of trials."""
    from ray import tune

    _use_classic_progress_table()
    plan, space = load_plan(results_dir)
    if not tune.Tuner.can_restore(plan.tune_path):
        raise UserError(f"{results_dir}: nothing to resume at {plan.tune_path} "
                        "(the sweep never started, or its Tune folder was removed)")
    tuner = tune.Tuner.restore(plan.tune_path, trainable=_trainable(plan), resume_unfinished=True,
                               resume_errored=False)
    tuner.fit()
    return Path(plan.results_dir)

