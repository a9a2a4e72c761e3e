"""The sweep's Tune searcher: Optuna proposes configurations, each runs as replicates paired with the baseline.

``SweepSearcher`` is a Ray Tune ``Searcher`` over a plain Optuna study (multi-objective):

* **Baselines first.** The matched ``independent`` pair(s) run as ordinary Tune trials,
  one per replicate seed, and are never told to Optuna (they are not points of the
  searched space).
* **One Optuna trial, K Tune trials.** Each configuration Optuna proposes runs as
  replicates with seeds ``seed_0 + r``, the baseline's seeds, in parallel where slots
  allow; Optuna is told once, when all its replicates ended (``sweep.search.groups``
  says what a failed or stopped replicate makes of it). With ``replicates: {min, max}``
  a configuration whose interval still reaches the front gets more seeds first
  (``sweep.search.racing``).
* **Constraints Optuna knows.** Before the tell, the configuration's violations (an
  inert adversary, the space's ``constraints``) are set on the trial
  (``Trial.set_constraint``), where the samplers and ``best_trials`` read them
  (``sweep.search.feasibility``).
* **Start with.** The space's ``start_with`` and ``--enqueue``'s configurations are the
  first ones asked (``Study.enqueue_trial``), told like any other.
* **State as JSON**, never a pickle (``searcher-state-*.json``): ``--resume`` reads it back
  and continues every configuration whole. With a ``LiveStudy`` the study moves into the
  results folder's ``optuna.journal`` before the first proposal (``sweep.search.live_study``).

No private attribute of Ray or Optuna is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from ray.tune.search import Searcher

from sweep.baselines import BASELINE_ARM
from sweep.search.feasibility import Feasibility, objective_of
from sweep.search.groups import COMPLETE, ERROR, STOPPED, ConfigGroup
from sweep.search.live_study import LiveStudy
from sweep.search.racing import Estimate, needs_more_seeds
from sweep.search.relocate import resumed_results_dir
from sweep.search.state import check_format, read_state_file, rebuild_study, trials_to_json, write_state_file
from sweep.spaces.replication import Replicates

__all__ = ["STATE_FORMAT", "SweepSearcher"]

STATE_FORMAT = 2  # version of the state files (2: replicated configurations); another version is refused
Reseed = Callable[[int], optuna.samplers.BaseSampler]  # trials so far -> a sampler seeded for the rest
Sample = Callable[[optuna.trial.BaseTrial], dict[str, Any]]  # suggests the searched params; returns them


class SweepSearcher(Searcher):
    """See the module doc. ``sample`` is the space's define-by-run sampler (``SearchSpace.sample``)."""

    CKPT_FILE_TMPL = "searcher-state-{}.json"  # Tune's default name ends in .pkl

    def __init__(
        self,
        *,
        sample: Sample,
        fixed: Mapping[str, Any],
        metrics: Sequence[str],
        modes: Sequence[str],
        sampler: optuna.samplers.BaseSampler,
        trials: int,
        replicates: Replicates,
        baselines: Sequence[Mapping[str, Any]] = (),
        start_with: Sequence[Mapping[str, Any]] = (),
        feasibility: Feasibility = Feasibility(),
        reseed: Reseed | None = None,
        live: LiveStudy | None = None,
    ) -> None:
        super().__init__(metric=list(metrics), mode=list(modes))  # lists: multi-objective, on the searcher only
        self.sample = sample
        self.fixed = dict(fixed)
        self.metrics, self.modes = list(metrics), list(modes)
        self.trials = trials
        self.replicates = replicates
        self.base_seed = int(self.fixed.get("seed", 0))
        self.feasibility = feasibility
        self.reseed = reseed
        self.live = live
        directions = ["maximize" if m == "max" else "minimize" for m in modes]
        self.study = optuna.create_study(directions=directions, sampler=sampler)
        # (config, replicate) of every baseline run still to hand out: each baseline over every seed
        # a configuration may get (``max``: racing pairs its extra seeds with the baseline's too).
        self.pending_baselines = [(dict(b), r) for b in baselines for r in range(replicates.max)]
        self.baseline_trial_ids: set[str] = set()
        self.start_queue = [dict(c) for c in start_with]  # configurations to ask first
        self.groups: dict[int, ConfigGroup] = {}  # by Optuna trial number
        self.queue: list[tuple[int, int]] = []  # (number, replicate) still to hand out
        self.tune_ids: dict[str, tuple[int, int]] = {}  # Tune trial id -> (number, replicate)
        self.live_trials: dict[int, optuna.Trial] = {}  # asked, not yet told
        # Attached lazily, in the driver, once the sweep runs: Tune pickles this searcher
        # into tuner.pkl when the Tuner is made, and that copy must hold no open file.
        self.live_attached = False

    # ------------------------------------------------------------------ the live study
    def _go_live(self) -> None:
        """Move the study into the live journal (once; before the first proposal or on restore)."""
        if self.live is None or self.live_attached:
            return
        moved = resumed_results_dir()
        if moved is not None:  # resumed, maybe as a copy: this folder's journal
            self.live = self.live.moved_to(moved)
        numbers = {number: trial.number for number, trial in self.live_trials.items()}
        self.study, running = self.live.attach(self.study)
        self.live_trials = {number: running[n] for number, n in numbers.items()}
        self.live_attached = True

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the metrics and modes are the searcher's own (Tune's single metric would be wrong)

    # -------------------------------------------------------------------- proposing
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        self._go_live()
        if self.pending_baselines:
            config, replicate = self.pending_baselines.pop(0)
            self.baseline_trial_ids.add(trial_id)
            return {**config, "arm": BASELINE_ARM, "seed": self.base_seed + replicate, "replicate": replicate}
        if not self.queue and len(self.groups) < self.trials:
            self._ask()
        if not self.queue:
            return Searcher.FINISHED if self.finished else None  # None: wait for running replicates
        number, replicate = self.queue.pop(0)
        group = self.groups[number]
        group.trial_ids[replicate] = trial_id
        self.tune_ids[trial_id] = (number, replicate)
        live = self.live_trials.get(number)
        if live is not None:  # the live study (and its dashboard) names the Tune trials of a running configuration
            live.set_user_attr("tune_trial_ids", [group.trial_ids[r] for r in sorted(group.trial_ids)])
        return self._config(group, replicate)

    def _ask(self) -> None:
        """A new configuration from Optuna (the next start_with one first), queued as its first replicates."""
        if self.start_queue:
            self.study.enqueue_trial(self.start_queue.pop(0), skip_if_exists=False)
        trial = self.study.ask()
        params = self.sample(trial)
        self.live_trials[trial.number] = trial
        group = ConfigGroup(number=trial.number, params=params, planned=self.replicates.min)
        self.groups[trial.number] = group
        self.queue += [(trial.number, r) for r in range(group.planned)]

    def _config(self, group: ConfigGroup, replicate: int) -> dict[str, Any]:
        return {
            **self.fixed,
            **group.params,
            "seed": self.base_seed + replicate,
            "config_id": group.number,
            "replicate": replicate,
        }

    @property
    def finished(self) -> bool:
        """Every configuration was asked and told, and no baseline is left to hand out."""
        done = len(self.groups) >= self.trials and all(g.settled for g in self.groups.values())
        return done and not self.pending_baselines and not self.queue

    # ------------------------------------------------------------------------ telling
    def on_trial_result(self, trial_id: str, result: dict) -> None:
        pass  # Optuna hears of a configuration once, with its mean over seeds

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self.baseline_trial_ids or trial_id not in self.tune_ids:
            return
        number, replicate = self.tune_ids[trial_id]
        group = self.groups[number]
        if group.settled or replicate in group.outcomes:
            return  # told already (a replicate reported twice across a resume)
        if error:
            group.record(replicate, ERROR, None, {})
        elif result is None or _stopped_early(result):
            group.record(replicate, STOPPED, None, {})
        else:
            values = [_number(result.get(m)) for m in self.metrics]
            group.record(replicate, COMPLETE, values, {m: result.get(m) for m in self.feasibility.watched})
        if group.all_ended:
            self._settle(group)

    def _settle(self, group: ConfigGroup) -> None:
        """Tell Optuna about a configuration whose replicates all ended, or give it one more seed (racing)."""
        if not group.failed and not group.stopped and self._one_more_seed(group):
            self.queue.append((group.number, group.planned))
            group.planned += 1
            return
        trial = self.live_trials.pop(group.number)
        trial.set_user_attr("replicates", len(group.complete))
        trial.set_user_attr("seeds", [self.base_seed + r for r in sorted(group.outcomes)])
        trial.set_user_attr("tune_trial_ids", [group.trial_ids[r] for r in sorted(group.trial_ids)])
        objective = objective_of(group.params, self.fixed)
        for name, violation in self.feasibility.violations(group.watched_mean, objective).items():
            trial.set_constraint(name, violation)
        if group.failed:
            trial.set_user_attr("failed_seeds", [self.base_seed + r for r in group.failed])
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif group.stopped:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            for name, sd in zip(self.metrics, group.sds()):
                trial.set_user_attr(f"sd_{name}", sd)
            self.study.tell(trial, group.means())
        group.settled = True

    def _one_more_seed(self, group: ConfigGroup) -> bool:
        if not self.replicates.races or group.planned >= self.replicates.max:
            return False
        others = [g for g in self.groups.values() if g is not group and len(g.complete) >= self.replicates.min]
        estimate = _estimate(group)
        return needs_more_seeds(estimate, [_estimate(g) for g in others], self.modes)

    # ----------------------------------------------------------------- saved state
    def get_state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "searcher": type(self).__name__,
            "trials": trials_to_json(self.study),
            "pending_baselines": [[config, r] for config, r in self.pending_baselines],
            "baseline_trial_ids": sorted(self.baseline_trial_ids),
            "start_queue": self.start_queue,
            "groups": [g.to_json() for g in self.groups.values()],
            "queue": [list(item) for item in self.queue],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        check_format(state, type(self).__name__, STATE_FORMAT)
        if self.live_attached:
            raise RuntimeError("set_state on a searcher whose study is already live")
        running = rebuild_study(self.study, list(state["trials"]))
        self.pending_baselines = [(dict(config), int(r)) for config, r in state["pending_baselines"]]
        self.baseline_trial_ids = {str(t) for t in state["baseline_trial_ids"]}
        self.start_queue = [dict(c) for c in state["start_queue"]]
        self.groups = {g.number: g for g in map(ConfigGroup.from_json, state["groups"])}
        self.queue = [(int(n), int(r)) for n, r in state["queue"]]
        self.tune_ids = {t: (g.number, r) for g in self.groups.values() for r, t in g.trial_ids.items()}
        self.live_trials = {g.number: running[g.number] for g in self.groups.values() if not g.settled}
        if self.reseed is not None:
            self.study.sampler = self.reseed(len(state["trials"]))
        self._go_live()  # the journal gets exactly the restored trials

    def save(self, checkpoint_path: str) -> None:
        write_state_file(checkpoint_path, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(read_state_file(checkpoint_path))


def _estimate(group: ConfigGroup) -> Estimate:
    return Estimate(group.means(), group.sds(), len(group.complete))


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    return float(value)


def _stopped_early(result: dict) -> bool:
    """A trial that ended before its configured epochs without an error."""
    epochs = result.get("config", {}).get("epochs")
    epoch = result.get("epoch")
    return epochs is not None and epoch is not None and int(epoch) < int(epochs)
