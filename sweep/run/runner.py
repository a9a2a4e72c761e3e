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

import functools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sweep.backend.storage_check import check_storage_visible
from sweep.backend.storage_mirror import mirror_to_storage
from sweep.backend.tuner import TuneSpec, common_dataset, fit, make_tuner, restore_tuner
from sweep.baselines import BASELINE_ARM
from sweep.errors import UserError
from sweep.plan import TUNE_DIR, SweepPlan, planned_baselines, replicates_of, start_with_of
from sweep.search.feasibility import Feasibility
from sweep.search.live_study import LIVE_STUDY_FILE, LiveStudy
from sweep.search.relocate import resuming_at, search_algorithm
from sweep.search.searcher import STATE_FORMAT, SweepSearcher
from sweep.search.state import read_state_file
from sweep.spaces import SearchSpace

__all__ = ["Trainable", "build_scheduler", "build_searcher", "build_tuner", "resume_sweep", "run_sweep", "tune_spec"]

Trainable = Callable[[dict[str, Any]], None]
KEEP_CHECKPOINTS = 2  # per trial: the last one to resume from, and the one before in case it is torn


def tune_spec(
    plan: SweepPlan, space: SearchSpace, *, callbacks: Sequence[Any] = (), reuse_actors: bool = True
) -> TuneSpec:
    """What Tune needs from a resourced plan (see ``sweep.plan.resolve_resources``)."""
    if plan.cpus_per_trial is None or plan.gpus_per_trial is None:
        raise ValueError("the plan has no per-trial resources yet; call sweep.plan.resolve_resources first")
    extra = list(callbacks)
    if plan.wandb_project:
        from sweep.backend.wandb_logging import ProvenanceWandbCallback
        from sweep.provenance import tracker_fields

        # Tune's logging actor may run on another node (--address), whose environment is not
        # the driver's: hand the driver's WANDB_MODE / WANDB_DIR to wandb.init explicitly.
        init = {k: os.environ[v] for k, v in (("mode", "WANDB_MODE"), ("dir", "WANDB_DIR")) if os.environ.get(v)}
        provenance = tracker_fields(plan.results_dir)  # written when the run started (sweep.backend.session)
        extra.insert(
            0, ProvenanceWandbCallback(project=plan.wandb_project, group=plan.name, provenance=provenance, **init)
        )
    return TuneSpec(
        name=TUNE_DIR,
        storage_path=plan.tune_storage,
        num_samples=most_trials(plan, space),
        cpus_per_trial=plan.cpus_per_trial,
        gpus_per_trial=plan.gpus_per_trial,
        max_failures=plan.max_failures,
        keep_checkpoints=KEEP_CHECKPOINTS,
        metric_columns=[*space.metric_names(), "epoch"],
        parameter_columns=list(space.params),
        max_concurrent=plan.max_concurrent,
        callbacks=tuple(extra),
        reuse_actors=reuse_actors,
        # A searched dataset (unusual) is read by each trial itself.
        dataset=None if {"dataset", "data_dir"} & set(space.params) else common_dataset([plan.fixed]),
    )


def most_trials(plan: SweepPlan, space: SearchSpace) -> int:
    """The most Tune trials the sweep can run: every configuration and baseline at its most seeds.

    With racing, fewer run: the searcher says when it is done (``Searcher.FINISHED``).
    """
    return replicates_of(plan, space).max * (plan.trials + len(planned_baselines(plan, space)))


def build_searcher(plan: SweepPlan, space: SearchSpace, *, live: bool = True) -> SweepSearcher:
    """The sweep's searcher: the space's seeded Optuna sampler, replicates, baselines, constraints.

    ``live``: its study moves into the results folder's ``optuna.journal`` once the
    sweep runs (False for a searcher that only checks a saved state).
    """
    from sweep.search.samplers import create_sampler, resumed_sampler

    n_objectives = len(space.objectives)
    sampler = create_sampler(space.sampler, space.seed, n_objectives, conditional=space.is_conditional)
    reseed = functools.partial(resumed_sampler, space.sampler, space.seed, n_objectives, space.is_conditional)
    live_study = LiveStudy(Path(plan.results_dir) / LIVE_STUDY_FILE, plan.name, space.metric_names()) if live else None
    return SweepSearcher(
        sample=space.sample,
        fixed=plan.fixed,
        metrics=space.metric_names(),
        modes=space.tune_modes(),
        sampler=sampler,
        trials=plan.trials,
        replicates=replicates_of(plan, space),
        baselines=planned_baselines(plan, space),
        start_with=start_with_of(plan, space),
        feasibility=Feasibility(space.constraints),
        reseed=reseed,
        live=live_study,
    )


def build_scheduler(plan: SweepPlan, space: SearchSpace) -> Any:
    """Successive halving of whole configurations on ``--early-stop``'s metric; None without early stopping."""
    if not plan.early_stop:
        return None
    from sweep.search.early_stop import GroupHalving
    from trainable.metric_names import direction_of

    epochs = int(plan.fixed.get("epochs", 1))
    return GroupHalving(plan.early_stop, direction_of(plan.early_stop), max(epochs, 1), replicates_of(plan, space).min)


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
    spec = replace(
        tune_spec(plan, space, callbacks=callbacks, reuse_actors=reuse_actors), max_concurrent=None
    )  # the limit is in the search algorithm, which Tune then uses as it is
    search = search_algorithm(searcher or build_searcher(plan, space), plan.max_concurrent)
    return make_tuner(spec, search, trainable=trainable, scheduler=build_scheduler(plan, space))


@dataclass(frozen=True)
class SweepOutcome:
    """How a ``fit()`` ended, from Tune's public ``ResultGrid``."""

    results_dir: Path
    planned: int  # configurations the sweep runs (each over its replicates)
    configurations: int  # configurations Tune started trials of
    trials: int  # Tune trials it created (replicates and baselines)
    ended: int  # trials that ended (finished, stopped early, or errored)
    search_trials: int  # search trials Tune started (the baselines are not search trials)
    search_errors: int  # search trials that ended with an error
    first_error: str  # the first errored search trial's error, one line ("" when none)

    @property
    def finished(self) -> bool:
        """Every configuration was started and every trial ended: Tune did not stop early (Ctrl-C, SIGTERM)."""
        return self.configurations >= self.planned and self.ended >= self.trials

    @property
    def all_search_failed(self) -> bool:
        """Every search trial raised (after its retries): the sweep found nothing."""
        return self.search_trials > 0 and self.search_errors == self.search_trials


def _config(result: Any) -> dict[str, Any]:
    """A trial's config: from its last result, or its params.json when it raised before reporting."""
    if result.config:
        return dict(result.config)
    try:
        with result.filesystem.open_input_stream(f"{result.path}/params.json") as f:
            return dict(json.loads(f.readall()))
    except (OSError, ValueError, TypeError):
        return {}


def _outcome(grid: Any, plan: SweepPlan) -> SweepOutcome:
    configs = [_config(r) for r in grid]
    search = [r for r, c in zip(grid, configs) if c.get("arm") != BASELINE_ARM]
    # A trial whose config is unknown (it errored on a lost node before its folder reached the
    # storage: no result, no params.json) is a configuration of its own. Its key must not be a
    # number: its position in the grid would pass for another configuration's config_id.
    groups = {c.get("config_id", ("trial", i)) for i, c in enumerate(configs) if c.get("arm") != BASELINE_ARM}
    errors = [r for r in search if r.error is not None]
    first = ""
    if errors:
        lines = str(errors[0].error).strip().splitlines() or [type(errors[0].error).__name__]
        first = lines[-1].strip()
    return SweepOutcome(
        results_dir=Path(plan.results_dir),
        planned=plan.trials,
        configurations=len(groups),
        trials=len(grid),
        ended=grid.num_terminated + grid.num_errors,
        search_trials=len(search),
        search_errors=len(errors),
        first_error=first,
    )


def check_resumable(plan: SweepPlan, space: SearchSpace) -> None:
    """``UserError`` unless ``plan``'s folder holds a Tune experiment this netsep can continue.

    Checked before Ray starts; it needs only the files. The searcher state is restored
    once into a throwaway searcher: when Tune's own restore of it fails, Tune logs the
    error and then waits forever for trials that never come.
    """
    from ray import tune

    if not tune.Tuner.can_restore(plan.tune_path):
        raise UserError(
            f"--resume: {plan.results_dir}: nothing to resume at {plan.tune_path} (the sweep saved no "
            "Tune state yet, or its tune/ folder was removed); start it again as a new sweep"
        )
    tune_dir = Path(plan.tune_path)
    if not tune_dir.is_dir():
        return  # Tune's folder is in object storage: Tune reads it there
    states = sorted(tune_dir.glob(SweepSearcher.CKPT_FILE_TMPL.format("*")))  # Tune restores the last one
    if not states and any(tune_dir.glob("searcher-state-*.pkl")):
        raise UserError(
            f"--resume: {plan.results_dir} was made by an older netsep whose searcher state is a "
            "pickle, which netsep no longer reads (it could run code); `launch.py report` still works "
            "on it, but it cannot be resumed"
        )
    _check_state_file(max(tune_dir.glob("experiment_state-*.json"), default=None))
    # Tune unpickles these on restore (search_gen_state is a pickle despite its .json name):
    # a cut-short one stops the resumed sweep with "EOFError: Ran out of input".
    newest_generator = max(tune_dir.glob("search_gen_state-*.json"), key=lambda p: p.stat().st_mtime, default=None)
    for path in (tune_dir / "tuner.pkl", newest_generator):
        _check_pickle_whole(path)
    for path in sorted(tune_dir.glob("*/error.pkl")):  # Tune unpickles an errored trial's error at the end
        _check_pickle_whole(path, "it holds only that trial's last error: delete it and resume")
    if states:
        import optuna

        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line for this trial run
        try:
            state = read_state_file(states[-1])
            if state.get("format") != STATE_FORMAT:
                raise UserError(
                    f"--resume: {plan.results_dir} was made by another netsep (searcher state format "
                    f"{state.get('format')!r}, this netsep reads {STATE_FORMAT}: configurations run as replicates "
                    "now); `launch.py report` still works on it, but it cannot be resumed"
                )
            build_searcher(plan, space, live=False).set_state(state)
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(
                f"--resume: {states[-1]}: the searcher state is damaged ({error}; cut short on a full "
                "disk?); the sweep cannot continue from it"
            ) from None
        finally:
            optuna.logging.set_verbosity(verbosity)


def _check_pickle_whole(path: Path | None, remedy: str = "") -> None:
    """A pickle Tune will read must end with the pickle STOP opcode ('.'); checked without unpickling it."""
    if path is None or not path.exists():
        return
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 1))
            whole = size > 0 and f.read(1) == b"."
    except OSError as error:
        whole, size = False, f"unreadable: {error}"
    if not whole:
        raise UserError(
            f"--resume: {path}: Tune's saved state is damaged (cut short, {size} bytes; a full disk?); "
            + (remedy or "the sweep cannot continue from it, but `launch.py report` shows what finished")
        )


def _check_state_file(path: Path | None) -> None:
    """Tune's experiment state must be whole JSON (a full disk leaves it cut short)."""
    if path is None:
        return
    try:
        json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UserError(
            f"--resume: {path}: Tune's experiment state is damaged ({type(error).__name__}: {error}; "
            "cut short on a full disk?); the sweep cannot continue from it, but `launch.py report` "
            "shows what finished"
        ) from None


def run_sweep(plan: SweepPlan, space: SearchSpace, *, trainable: Trainable | None = None) -> SweepOutcome:
    """Run the whole sweep; the report is not written yet."""
    tuner = build_tuner(plan, space, trainable)
    plan.save()
    mirror_to_storage(plan.results_dir, plan.tune_storage)  # the plan next to Tune's folder from the start
    # Several nodes: every one must see --storage (nothing syncs trial folders since Ray 2.7).
    check_storage_visible(plan.tune_storage)
    return _outcome(fit(tuner, TUNE_DIR), plan)


def resume_sweep(plan: SweepPlan, space: SearchSpace, *, trainable: Trainable | None = None) -> SweepOutcome:
    """Continue an interrupted sweep (``plan`` from ``load_plan``) to its full number of trials."""
    spec = tune_spec(plan, space)
    tuner = restore_tuner(plan.tune_path, spec, trainable=trainable, where=plan.results_dir)
    check_storage_visible(plan.tune_storage)
    with resuming_at(plan.tune_path, plan.results_dir):  # a copied or moved folder: new trials and the study go here
        grid = fit(tuner, TUNE_DIR)
    return _outcome(grid, plan)
