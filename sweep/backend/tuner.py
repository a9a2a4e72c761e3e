"""Ray Tune assembly shared by sweeps and compare runs: one place that builds a Tuner.

Both a sweep (Optuna proposes configs) and a compare run (a fixed list of configs)
run as one Tune experiment with the same conventions: ``reuse_actors=True`` (~10x
less per-trial overhead: ~1.3 s -> ~0.13 s per trial, bench/SWEEP.md), short trial folder names, the classic progress
table, per-trial resources, retries from the last checkpoint. The callers decide the
searcher, the scheduler and what the table shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sweep.backend.staging import tune_start_turn
from sweep.errors import UserError

__all__ = [
    "TuneSpec",
    "common_dataset",
    "fit",
    "json_logger_only",
    "make_tuner",
    "restore_tuner",
    "shipped_dataset",
    "trial_name",
    "use_classic_progress_table",
]

Trainable = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TuneSpec:
    """Everything Tune needs besides the trainable and the searcher."""

    name: str  # the experiment folder under storage_path
    storage_path: str  # local path or URI
    num_samples: int  # trials Tune asks the searcher for
    cpus_per_trial: float
    gpus_per_trial: float
    max_failures: int  # retries of a trial that raises, from its last checkpoint
    keep_checkpoints: int  # per trial
    metric_columns: Sequence[str]  # what the progress table shows
    parameter_columns: Sequence[str]
    max_concurrent: int | None = None  # None: the searcher limits concurrency itself
    callbacks: Sequence[Any] = field(default_factory=tuple)
    reuse_actors: bool = True  # False only to measure what reuse saves (bench/sweep_overhead.py)
    # (dataset, data_dir) every trial uses: the driver reads it once and ships it to the
    # trials through Ray's object store (worker nodes need no files). None: each trial reads its own.
    dataset: tuple[str, str | None] | None = None


def trial_name(trial: Any) -> str:
    """Short trial folder names: the id alone (params live in params.json)."""
    return f"trial_{trial.trial_id}"


def use_classic_progress_table() -> None:
    # Ray's newer console output ignores `progress_reporter`; the classic one prints
    # Tune's trial table with exactly the columns we ask for.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


def _with_resources(trainable: Trainable | None, spec: TuneSpec) -> Any:
    import ray
    from ray import tune

    if trainable is None:
        from trainable.tune_function import train

        trainable = train
        # Only once connected: the data goes into that cluster's object store (netsep
        # always connects before it builds a Tuner; a Tuner built without Ray, in tests,
        # has its trials read the files themselves).
        if spec.dataset is not None and ray.is_initialized():
            trainable = tune.with_parameters(train, shipped=shipped_dataset(*spec.dataset))
    return tune.with_resources(trainable, {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial})


def shipped_dataset(name: str, data_dir: str | None) -> Any:
    """The dataset as this driver reads it (from its files or cache), to ship to every trial."""
    from trainable.data import DatasetMissingError, load_shippable

    try:
        return load_shippable(name, data_dir, download=False)  # the plan's check got it already
    except DatasetMissingError as err:
        raise UserError(f"dataset {name!r}: {err}") from None


def common_dataset(configs: Sequence[dict[str, Any]]) -> tuple[str, str | None] | None:
    """The one (dataset, data_dir) of ``configs``, or None when they differ or name none."""
    pairs = {(str(c.get("dataset", "digits")), c.get("data_dir")) for c in configs}
    return next(iter(pairs)) if len(pairs) == 1 else None


def make_tuner(spec: TuneSpec, search_alg: Any, *, trainable: Trainable | None = None, scheduler: Any = None) -> Any:
    """A new ``tune.Tuner``; ``trainable`` None means netsep's real one."""
    from ray import tune

    use_classic_progress_table()
    tune_config = tune.TuneConfig(
        search_alg=search_alg,
        scheduler=scheduler,
        num_samples=spec.num_samples,
        max_concurrent_trials=spec.max_concurrent,
        reuse_actors=spec.reuse_actors,
        trial_name_creator=trial_name,
        trial_dirname_creator=trial_name,
    )
    run_config = tune.RunConfig(
        name=spec.name,
        storage_path=spec.storage_path,
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=spec.keep_checkpoints),
        callbacks=list(spec.callbacks),
        progress_reporter=tune.CLIReporter(
            metric_columns=list(spec.metric_columns),
            parameter_columns=list(spec.parameter_columns),
            max_report_frequency=15,
            sort_by_metric=False,
        ),
        verbose=1,
    )
    return tune.Tuner(_with_resources(trainable, spec), tune_config=tune_config, run_config=run_config)


def restore_tuner(path: str, spec: TuneSpec, *, trainable: Trainable | None = None, where: str = "") -> Any:
    """``Tuner.restore`` of the experiment at ``path``: unfinished trials continue, errored ones stay."""
    from ray import tune

    use_classic_progress_table()
    if not tune.Tuner.can_restore(path):
        raise UserError(
            f"{where or path}: nothing to resume at {path} (the run never started, or its Tune folder was removed)"
        )
    return tune.Tuner.restore(
        path, trainable=_with_resources(trainable, spec), resume_unfinished=True, resume_errored=False
    )


# Tune's own loggers. By default Tune writes every result of every trial three times, into
# result.json, progress.csv and a TensorBoard event file, all in the driver. netsep reads
# only result.json (the report, resume, the dashboard), so a fit gets Tune's JSON logger
# alone: the other two were ~10 % of a 1,000-trial sweep's driver CPU (bench/tune_loggers.py
# measures it). It goes through Tune's own switches, read when fit() starts, and not
# through the RunConfig: Tune does not pickle the loggers it adds, so a sweep started by an
# older netsep resumes with the same loggers as a new one. A user who wants TensorBoard
# sets TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=0 and gets Tune's three back.
DISABLE_DEFAULT_LOGGERS = "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"
EXTRA_CALLBACKS = "RAY_TUNE_CALLBACKS"  # import paths, comma-separated; Tune adds one of each
JSON_LOGGER = "ray.tune.logger.JsonLoggerCallback"


@contextmanager
def json_logger_only() -> Iterator[None]:
    """Tune's JSON logger and not its CSV and TensorBoard ones, for the fit() inside.

    The two variables are set for the fit and put back afterwards; a user's own
    ``RAY_TUNE_CALLBACKS`` are kept, and ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=0`` leaves
    Tune's defaults alone.
    """
    saved = {name: os.environ.get(name) for name in (DISABLE_DEFAULT_LOGGERS, EXTRA_CALLBACKS)}
    if saved[DISABLE_DEFAULT_LOGGERS] == "0":
        yield
        return
    listed = [path.strip() for path in (saved[EXTRA_CALLBACKS] or "").split(",") if path.strip()]
    os.environ[DISABLE_DEFAULT_LOGGERS] = "1"
    os.environ[EXTRA_CALLBACKS] = ",".join(listed if JSON_LOGGER in listed else [*listed, JSON_LOGGER])
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def fit(tuner: Any, experiment_name: str) -> Any:
    """``tuner.fit()`` in this node's turn to start a Tune experiment (``sweep.backend.staging``:
    two sweeps started in the same second must not share Tune's staging folder), with
    Tune's JSON logger alone (``json_logger_only``)."""
    with tune_start_turn(experiment_name), json_logger_only():
        return tuner.fit()
