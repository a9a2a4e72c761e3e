"""Hand-written folders in Ray Tune's layout, for the report and compare tests (no Ray runtime).

The folders copy what a real sweep leaves (looked at on Ray 2.58-2.60): ``sweep.json``
and ``space.yaml`` beside ``tune/``, which holds ``experiment_state-<session>.json``
and one ``trial_<id>/`` folder per started trial with ``params.json``,
``result.json`` (one JSON line per epoch), ``error.txt`` when it raised, and
``checkpoint_00000N/`` folders. The state file is written by Tune's own
``Trial.get_json_state`` (Tune's format is not public; writing it with Tune's own
serializer keeps these folders what ``ExperimentAnalysis`` reads).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sweep.plan import SweepPlan
from trainable.metric_names import METRICS

__all__ = [
    "DIVERGED_ERROR_TXT",
    "SPACE",
    "T0",
    "StateEntry",
    "TuneExperimentWriter",
    "TuneFolder",
    "build_full",
    "metrics_row",
    "read_csv",
]

ESC = "\x1b"
# The shape of a real error.txt: Ray's ANSI-coloured actor header, the trial's own
# exception, Ray's wrapper, and Ray failing to copy the exception while handling it.
DIVERGED_ERROR_TXT = f"""Failure # 1 (occurred at 2026-11-27_20-15-37)
{ESC}[36mray::ImplicitFunc.train(){ESC}[39m (pid=15595, ip=192.0.2.2, actor_id=21d5, repr=train)
  File "/usr/lib/python3.11/site-packages/ray/tune/trainable/function_trainable.py", line 249, in _trainable_func
    output = fn()
  File "/work/main/trainable/loop.py", line 149, in train_epoch
    raise DivergedError(epoch_no, int(bad[0]) + 1, "classifier")
trainable.loop.DivergedError: diverged at epoch 1, step 3: the classifier loss is not finite

The above exception was the direct cause of the following exception:

{ESC}[36mray::ImplicitFunc.train(){ESC}[39m (pid=15595, ip=192.0.2.2, actor_id=21d5, repr=train)
  File "/usr/lib/python3.11/site-packages/ray/train/_internal/session.py", line 392, in _report_thread_runner_error
    raise StartTraceback from e
ray.air._internal.util.StartTraceback

During handling of the above exception, another exception occurred:

{ESC}[36mray::ImplicitFunc.train(){ESC}[39m (pid=15595, ip=192.0.2.2, actor_id=21d5, repr=train)
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/copy.py", line 265, in _reconstruct
    y = func(*args)
TypeError: DivergedError.__init__() missing 2 required positional arguments: 'step' and 'which'
Failure # 2 (occurred at 2026-11-27_20-15-56)
{ESC}[36mray::ImplicitFunc.train(){ESC}[39m (pid=15819, ip=192.0.2.2, actor_id=97de, repr=train)
  File "/work/main/trainable/loop.py", line 149, in train_epoch
    raise DivergedError(epoch_no, int(bad[0]) + 1, "classifier")
trainable.loop.DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite

During handling of the above exception, another exception occurred:

  File "/root/.pyenv/versions/3.11.7/lib/python3.11/copy.py", line 265, in _reconstruct
    y = func(*args)
TypeError: DivergedError.__init__() missing 2 required positional arguments: 'step' and 'which'
"""

SPACE: dict[str, Any] = {
    "name": "tiny",
    "description": "report test space",
    "dataset": "digits",
    "trials": 9,
    "sampler": "tpe",
    "seed": 0,
    "baseline": True,
    "objectives": [
        {"metric": "ensemble_acc", "direction": "max"},
        {"metric": "excess_agreement", "direction": "min"},
    ],
    "fixed": {"objective": "dice", "classifier": "simple3", "epochs": 3, "batch_size": 64},
    "params": {
        "w_adv": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
        "disc_arch": {"type": "categorical", "choices": ["mlp", "siamese_pool"]},
        "disc_depth": {"type": "int", "low": 1, "high": 4, "when": {"disc_arch": ["siamese_pool"]}},
    },
}
T0 = 1_795_810_000.0  # a Unix time; every trial's clock counts from it


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def metrics_row(acc: float, excess: float, epoch: int, trial_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """One result.json line: every metric of metric_names plus Tune's own fields."""
    row: dict[str, Any] = {name: 0.5 for name in METRICS}
    row.update(
        ensemble_acc=acc,
        excess_agreement=excess,
        epoch=epoch,
        train_seconds=1.5 * epoch,
        acc_1=acc - 0.01,
        eval_split="test" if config.get("val_size") == 0 else "validation",
        disc_acc=math.nan if config.get("arm") == "baseline" else 0.6,
        timestamp=int(T0 + 10 * epoch),
        checkpoint_dir_name=f"checkpoint_{epoch - 1:06d}",
        should_checkpoint=True,
        done=False,
        training_iteration=epoch,
        trial_id=trial_id,
        date="2026-11-27_20-14-33",
        time_this_iter_s=2.0,
        time_total_s=2.0 * epoch,
        pid=1,
        hostname="vm",
        node_ip="192.0.2.2",
        config=config,
        time_since_restore=2.0 * epoch,
        iterations_since_restore=epoch,
    )
    return row


@dataclass(frozen=True)
class StateEntry:
    """What Tune's saved state says of one trial."""

    trial_id: str
    status: str  # TERMINATED, ERROR, RUNNING, PENDING
    config: dict[str, Any]
    number: int  # Tune's creation counter, the head of its experiment_tag
    start_time: float | None
    last_result: dict[str, Any] = field(default_factory=dict)
    error: bool = False

    def json_state(self, storage_path: Path) -> tuple[str, str]:
        """The pair Tune saves per trial, made by Tune's own serializer."""
        from ray.train._internal.storage import StorageContext  # Tune's own; no public way to write its state
        from ray.tune.execution.placement_groups import PlacementGroupFactory
        from ray.tune.experiment import Trial

        dirname = f"trial_{self.trial_id}"
        storage = StorageContext(storage_path=str(storage_path), experiment_dir_name="tune", trial_dir_name=dirname)
        trial = Trial(
            "train",
            config=self.config,
            trial_id=self.trial_id,
            stub=True,
            storage=storage,
            experiment_tag=f"{self.number}_{self.trial_id}",
            placement_group_factory=PlacementGroupFactory([{"CPU": 1}]),
        )
        trial.placement_group_factory = trial._default_placement_group_factory  # what Tune sets before running
        trial.status = self.status
        trial.run_metadata.start_time = self.start_time
        trial.run_metadata.last_result = dict(self.last_result)
        if self.error:
            trial.run_metadata.error_filename = "error.txt"
            trial.run_metadata.pickled_error_filename = "error.pkl"
        return trial.get_json_state()


class TuneExperimentWriter:
    """Writes one Tune experiment folder (``.../tune``): trial folders and the saved state."""

    def __init__(self, tune_dir: Path) -> None:
        self.tune = tune_dir
        self.tune.mkdir(parents=True, exist_ok=True)
        self.entries: list[StateEntry] = []

    def trial(
        self,
        trial_id: str,
        status: str,
        config: dict[str, Any],
        rows: list[dict[str, Any]],
        *,
        error: str | None = None,
        torn_tail: bool = False,
        folder: bool = True,
        in_state: bool = True,
        start: float = 0.0,
        keep: int = 2,
        write_checkpoint: Callable[[Path], None] | None = None,
    ) -> Path:
        """One trial; ``rows`` are its result.json lines, ``keep`` the checkpoints kept (the newest)."""
        path = self.tune / f"trial_{trial_id}"
        if folder:
            path.mkdir()
            (path / "params.json").write_text(json.dumps(config, indent=2, sort_keys=True))
            text = "".join(json.dumps(r) + "\n" for r in rows)
            if torn_tail:
                text += '{"train_loss": 0.4, "acc_1": 0.'  # the driver died mid-line
            (path / "result.json").write_text(text)
            for epoch in range(max(1, len(rows) - keep + 1), len(rows) + 1):
                checkpoint = path / f"checkpoint_{epoch - 1:06d}"
                checkpoint.mkdir()
                if write_checkpoint is None:
                    (checkpoint / "state.pt").write_bytes(b"x")
                else:
                    write_checkpoint(checkpoint)
            if error is not None:
                (path / "error.txt").write_text(error)
        if in_state:
            self.entries.append(
                StateEntry(
                    trial_id,
                    status,
                    config,
                    number=len(self.entries) + 1,
                    start_time=T0 + start if status != "PENDING" else None,
                    last_result=rows[-1] if rows else {"trial_id": trial_id},
                    error=error is not None,
                )
            )
        return path

    def save_state(self, session: str = "2026-11-27_20-14-25", entries: list[StateEntry] | None = None) -> None:
        from ray.tune.utils.serialization import TuneFunctionEncoder

        data = {
            "trial_data": [
                list(e.json_state(self.tune.parent)) for e in (self.entries if entries is None else entries)
            ],
            "runner_data": {"_session_str": session},
            "stats": {"start_time": T0},
        }
        (self.tune / f"experiment_state-{session}.json").write_text(json.dumps(data, cls=TuneFunctionEncoder))


class TuneFolder(TuneExperimentWriter):
    """Writes a results folder the way a sweep leaves it."""

    def __init__(self, root: Path, space: dict[str, Any] = SPACE, name: str = "demo", **plan: Any) -> None:
        self.root = root
        self.results = root / name
        super().__init__(self.results / "tune")
        space_file = root / f"{space['name']}.yaml"
        space_file.write_text(yaml.safe_dump(space, sort_keys=False), encoding="utf-8")
        fields: dict[str, Any] = {
            "space_file": str(space_file),
            "name": name,
            "results_dir": str(self.results),
            "tune_storage": str(self.results),
            "trials": space["trials"],
            "fixed": {**space["fixed"], "dataset": space["dataset"]},
            "cpus_per_trial": 1.0,
            "gpus_per_trial": 0.0,
            "max_concurrent": 2,
            "created": "2026-11-27 20:14:20",
        }
        fields.update(plan)
        SweepPlan(**fields).save()
        self.fixed = fields["fixed"]

    def sweep_trial(
        self,
        trial_id: str,
        status: str,
        params: dict[str, Any],
        curve: list[tuple[float, float]],
        *,
        baseline: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Path:
        """A search trial (``params``) or a baseline (``baseline``) with one (acc, excess) per epoch."""
        config = {**self.fixed, **params} if baseline is None else {**self.fixed, **baseline, "arm": "baseline"}
        rows = [metrics_row(a, e, i + 1, trial_id, config) for i, (a, e) in enumerate(curve)]
        for row in rows:
            row["timestamp"] = int(T0 + kwargs.get("start", 0.0) + 10 * row["epoch"])
        return self.trial(trial_id, status, config, rows, **kwargs)


def build_full(root: Path) -> TuneFolder:
    """A baseline and a search trial of every kind; the expected front is a2, a1, a3."""
    f = TuneFolder(root)
    f.sweep_trial(
        "b0000001",
        "TERMINATED",
        {},
        [(0.80, 0.10), (0.86, 0.07), (0.89, 0.06)],
        baseline={"objective": "independent", "w_adv": 0.0, "pairing": "shared"},
    )
    mlp = {"w_adv": 0.01, "disc_arch": "mlp"}
    f.sweep_trial("a0000001", "TERMINATED", mlp, [(0.7, 0.2), (0.85, 0.1), (0.90, 0.05)], start=1)
    f.sweep_trial(
        "a0000002",
        "TERMINATED",
        {"w_adv": 0.5, "disc_arch": "siamese_pool", "disc_depth": 2},
        [(0.7, 0.2), (0.9, 0.1), (0.92, 0.08)],
        start=2,
    )
    f.sweep_trial(
        "a0000003", "TERMINATED", {"w_adv": 0.9, "disc_arch": "mlp"}, [(0.7, 0.2), (0.8, 0.1), (0.88, 0.02)], start=3
    )
    f.sweep_trial(
        "a0000004", "TERMINATED", {"w_adv": 0.02, "disc_arch": "mlp"}, [(0.7, 0.2), (0.8, 0.1), (0.87, 0.06)], start=4
    )
    # ASHA stopped it after 1 of 3 epochs; its early values would dominate everything.
    f.sweep_trial("a0000005", "TERMINATED", {"w_adv": 0.03, "disc_arch": "mlp"}, [(0.99, 0.0)], start=5)
    f.sweep_trial(
        "a0000006",
        "ERROR",
        {"w_adv": 0.8, "disc_arch": "siamese_pool", "disc_depth": 4},
        [(0.95, 0.0)],
        error=DIVERGED_ERROR_TXT,
        start=6,
    )
    f.sweep_trial(
        "a0000007", "RUNNING", {"w_adv": 0.04, "disc_arch": "mlp"}, [(0.97, 0.0), (0.98, 0.0)], torn_tail=True, start=7
    )
    f.sweep_trial(
        "a0000008", "PENDING", {"w_adv": 0.05, "disc_arch": "siamese_pool", "disc_depth": 1}, [], folder=False
    )
    f.sweep_trial(
        "a0000009",
        "TERMINATED",
        {"w_adv": 0.06, "disc_arch": "mlp"},
        [(0.7, 0.2), (0.8, 0.1), (0.99, math.nan)],
        start=9,
    )
    # Started after Tune last saved its state: only its folder tells.
    f.sweep_trial("a0000010", "RUNNING", {"w_adv": 0.07, "disc_arch": "mlp"}, [(0.999, 0.0)], in_state=False, start=10)
    # An older session's state (before a --resume) must not be the one read.
    f.save_state("2026-11-27_19-00-00", entries=[replace(e, last_result={}) for e in f.entries[:2]])
    # Tune's state keeps trials in the order it first cached them, not the order it created them.
    shuffled = [f.entries[i] for i in (0, 2, 1, 4, 3, 5, 6, 8, 7)]
    f.save_state(entries=shuffled)
    return f
