"""The report of a results folder, from hand-written folders in Ray Tune's layout (no Ray).

The folders copy what a real sweep leaves (looked at on Ray 2.58): ``sweep.json`` and
``space.yaml`` beside ``tune/``, which holds ``experiment_state-<session>.json``
(``trial_data`` = pairs of JSON strings: the trial's metadata with ``status`` and
``config``, and its run metadata with ``start_time``, ``error_filename`` and
``last_result``) and one ``trial_<id>/`` folder per started trial with
``params.json``, ``result.json`` (one JSON line per epoch), ``error.txt`` when it
raised, and ``checkpoint_00000N/`` folders.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from sweep.errors import UserError
from sweep.plan import SweepPlan
from sweep.results import (
    OPTUNA_DB,
    PARETO_CSV,
    PARETO_PNG,
    SUMMARY_MD,
    TRIALS_CSV,
    error_reason,
    pareto_front,
    print_final,
    write_report,
)
from trainable.metric_names import METRICS

optuna.logging.set_verbosity(optuna.logging.WARNING)

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


# ------------------------------------------------------------------ Pareto front by hand
def test_pareto_single_point_is_the_front() -> None:
    assert pareto_front([[0.3, 7.0]], ["max", "min"]) == [0]


def test_pareto_empty_input_has_empty_front() -> None:
    assert pareto_front([], ["max"]) == []


def test_pareto_duplicates_are_all_on_the_front() -> None:
    # Equal points do not dominate each other (as in Optuna's best_trials).
    assert pareto_front([[1.0, 1.0], [1.0, 1.0], [0.5, 0.5]], ["max", "max"]) == [0, 1]


def test_pareto_tie_on_one_objective_is_decided_by_the_other() -> None:
    assert pareto_front([[1.0, 2.0], [1.0, 3.0]], ["max", "max"]) == [1]
    assert pareto_front([[1.0, 2.0], [1.0, 3.0]], ["max", "min"]) == [0]


def test_pareto_mixed_directions() -> None:
    # max the first, min the second: (0.9, 0.1) and (0.8, 0.05) trade off; the rest are dominated.
    points = [[0.9, 0.1], [0.8, 0.05], [0.85, 0.2], [0.8, 0.06], [0.7, 0.05]]
    assert pareto_front(points, ["max", "min"]) == [0, 1]
    # Read the other way round: (0.7, 0.05) has the lowest first value, (0.85, 0.2) the highest
    # second, and (0.8, 0.06) trades between them; (0.8, 0.05) is beaten by (0.8, 0.06) on the second.
    assert pareto_front(points, ["min", "max"]) == [2, 3, 4]


def test_pareto_one_objective_keeps_every_best() -> None:
    assert pareto_front([[3.0], [5.0], [5.0], [1.0]], ["max"]) == [1, 2]
    assert pareto_front([[3.0], [5.0], [5.0], [1.0]], ["min"]) == [3]


def test_pareto_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="'max' or 'min'"):
        pareto_front([[1.0]], ["maximize"])
    with pytest.raises(ValueError, match="not finite"):
        pareto_front([[1.0, math.nan]], ["max", "max"])
    with pytest.raises(ValueError, match="2 values for 1 directions"):
        pareto_front([[1.0, 2.0]], ["max"])


# --------------------------------------------------------------------------- error.txt
def test_error_reason_finds_the_trials_own_exception_in_the_last_failure() -> None:
    assert error_reason(DIVERGED_ERROR_TXT) == (
        "DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite")


def test_error_reason_of_a_chain_is_the_outermost_own_exception() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/work/main/trainable/data.py", line 3, in load\n'
        "KeyError: 'cifar10'\n\nThe above exception was the direct cause of the following exception:\n\n"
        '  File "/work/main/trainable/data.py", line 5, in load\n'
        "trainable.data.DatasetMissingError: dataset 'cifar10' is missing; put the files in /data\n"
    )
    assert error_reason(text) == "DatasetMissingError: dataset 'cifar10' is missing; put the files in /data"


def test_error_reason_falls_back_to_ray_errors_and_last_lines() -> None:
    ray_only = "Failure # 1 (occurred at x)\nray.exceptions.ActorDiedError: The actor died unexpectedly\n"
    assert error_reason(ray_only) == "ActorDiedError: The actor died unexpectedly"
    assert error_reason("something odd happened\n\nthe node went away\n") == "the node went away"
    assert error_reason("") == "error.txt is empty"


# ------------------------------------------------------------------ folder builders
def metrics_row(acc: float, excess: float, epoch: int, trial_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """One result.json line: every metric of metric_names plus Tune's own fields."""
    row: dict[str, Any] = {name: 0.5 for name in METRICS}
    row.update(
        ensemble_acc=acc, excess_agreement=excess, epoch=epoch, train_seconds=1.5 * epoch,
        acc_1=acc - 0.01, disc_acc=math.nan if config.get("arm") == "baseline" else 0.6,
        timestamp=int(T0 + 10 * epoch), checkpoint_dir_name=f"checkpoint_{epoch - 1:06d}",
        should_checkpoint=True, done=False, training_iteration=epoch, trial_id=trial_id,
        date="2026-11-27_20-14-33", time_this_iter_s=2.0, time_total_s=2.0 * epoch,
        pid=1, hostname="vm", node_ip="192.0.2.2", config=config,
        time_since_restore=2.0 * epoch, iterations_since_restore=epoch,
    )
    return row


class TuneFolder:
    """Writes a results folder the way a sweep leaves it."""

    def __init__(self, root: Path, space: dict[str, Any] = SPACE, name: str = "demo", **plan: Any) -> None:
        self.root = root
        self.results = root / name
        self.tune = self.results / "tune"
        self.tune.mkdir(parents=True)
        space_file = root / f"{space['name']}.yaml"
        space_file.write_text(yaml.safe_dump(space, sort_keys=False), encoding="utf-8")
        fields: dict[str, Any] = {
            "space_file": str(space_file), "name": name, "results_dir": str(self.results),
            "tune_storage": str(self.results), "trials": space["trials"],
            "fixed": {**space["fixed"], "dataset": space["dataset"]},
            "cpus_per_trial": 1.0, "gpus_per_trial": 0.0, "max_concurrent": 2, "created": "2026-11-27 20:14:20",
        }
        fields.update(plan)
        SweepPlan(**fields).save()
        self.fixed = fields["fixed"]
        self.entries: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def trial(
        self,
        trial_id: str,
        status: str,
        params: dict[str, Any],
        curve: list[tuple[float, float]],
        *,
        baseline: dict[str, Any] | None = None,
        error: str | None = None,
        torn_tail: bool = False,
        folder: bool = True,
        in_state: bool = True,
        start: float = 0.0,
    ) -> None:
        config = {**self.fixed, **params} if baseline is None else {**self.fixed, **baseline, "arm": "baseline"}
        rows = [metrics_row(a, e, i + 1, trial_id, config) for i, (a, e) in enumerate(curve)]
        for row in rows:
            row["timestamp"] = int(T0 + start + 10 * row["epoch"])
        dirname = f"trial_{trial_id}"
        if folder:
            path = self.tune / dirname
            path.mkdir()
            (path / "params.json").write_text(json.dumps(config, indent=2, sort_keys=True))
            text = "".join(json.dumps(r) + "\n" for r in rows)
            if torn_tail:
                text += '{"train_loss": 0.4, "acc_1": 0.'  # the driver died mid-line
            (path / "result.json").write_text(text)
            # Tune keeps the newest two (CheckpointConfig(num_to_keep=2)).
            for epoch in range(max(1, len(rows) - 1), len(rows) + 1):
                (path / f"checkpoint_{epoch - 1:06d}").mkdir()
                (path / f"checkpoint_{epoch - 1:06d}" / "state.pt").write_bytes(b"x")
            if error is not None:
                (path / "error.txt").write_text(error)
        if in_state:
            meta = {"stub": False, "trainable_name": "train", "trial_id": trial_id, "config": config,
                    "status": status, "relative_logdir": dirname, "custom_dirname": dirname,
                    "experiment_tag": f"1_{trial_id}", "max_failures": 2}
            last = rows[-1] if rows else {"trial_id": trial_id}
            run = {"start_time": T0 + start if status != "PENDING" else None, "num_failures": 3 if error else 0,
                   "error_filename": "error.txt" if error else None,
                   "pickled_error_filename": "error.pkl" if error else None, "last_result": last}
            self.entries.append((meta, run))

    def save_state(self, session: str = "2026-11-27_20-14-25", entries: list | None = None) -> None:
        data = {
            "trial_data": [[json.dumps(m), json.dumps(r)] for m, r in (self.entries if entries is None else entries)],
            "runner_data": {"_session_str": session}, "stats": {"start_time": T0},
        }
        (self.tune / f"experiment_state-{session}.json").write_text(json.dumps(data))


def build_full(root: Path) -> TuneFolder:
    """A baseline and a search trial of every kind; the expected front is a2, a1, a3."""
    f = TuneFolder(root)
    f.trial("b0000001", "TERMINATED", {}, [(0.80, 0.10), (0.86, 0.07), (0.89, 0.06)],
            baseline={"objective": "independent", "w_adv": 0.0, "pairing": "shared"})
    mlp = {"w_adv": 0.01, "disc_arch": "mlp"}
    f.trial("a0000001", "TERMINATED", mlp, [(0.7, 0.2), (0.85, 0.1), (0.90, 0.05)], start=1)
    f.trial("a0000002", "TERMINATED", {"w_adv": 0.5, "disc_arch": "siamese_pool", "disc_depth": 2},
            [(0.7, 0.2), (0.9, 0.1), (0.92, 0.08)], start=2)
    f.trial("a0000003", "TERMINATED", {"w_adv": 0.9, "disc_arch": "mlp"}, [(0.7, 0.2), (0.8, 0.1), (0.88, 0.02)], start=3)
    f.trial("a0000004", "TERMINATED", {"w_adv": 0.02, "disc_arch": "mlp"}, [(0.7, 0.2), (0.8, 0.1), (0.87, 0.06)], start=4)
    # ASHA stopped it after 1 of 3 epochs; its early values would dominate everything.
    f.trial("a0000005", "TERMINATED", {"w_adv": 0.03, "disc_arch": "mlp"}, [(0.99, 0.0)], start=5)
    f.trial("a0000006", "ERROR", {"w_adv": 0.8, "disc_arch": "siamese_pool", "disc_depth": 4}, [(0.95, 0.0)],
            error=DIVERGED_ERROR_TXT, start=6)
    f.trial("a0000007", "RUNNING", {"w_adv": 0.04, "disc_arch": "mlp"}, [(0.97, 0.0), (0.98, 0.0)],
            torn_tail=True, start=7)
    f.trial("a0000008", "PENDING", {"w_adv": 0.05, "disc_arch": "siamese_pool", "disc_depth": 1}, [], folder=False)
    f.trial("a0000009", "TERMINATED", {"w_adv": 0.06, "disc_arch": "mlp"}, [(0.7, 0.2), (0.8, 0.1), (0.99, math.nan)],
            start=9)
    # Started after Tune last saved its state: only its folder tells.
    f.trial("a0000010", "RUNNING", {"w_adv": 0.07, "disc_arch": "mlp"}, [(0.999, 0.0)], in_state=False, start=10)
    # An older session's state (before a --resume) must not be the one read.
    f.save_state("2026-11-27_19-00-00", entries=[(m, {**r, "last_result": {}}) for m, r in f.entries[:2]])
    f.save_state()
    return f


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[TuneFolder, Any]:
    folder = build_full(tmp_path_factory.mktemp("results"))
    return folder, write_report(folder.results)


# -------------------------------------------------------------------------- the files
def test_every_file_is_written(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    for name in (TRIALS_CSV, PARETO_CSV, PARETO_PNG, OPTUNA_DB, SUMMARY_MD):
        assert (folder.results / name).is_file(), name
        assert report.files[name] == folder.results / name
    assert (folder.results / PARETO_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trials_csv_statuses_params_metrics_checkpoints(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    rows = read_csv(folder.results / TRIALS_CSV)
    by_id = {r["trial_id"]: r for r in rows}
    # Tune's order, then the folder Tune never recorded.
    assert [r["trial_id"] for r in rows] == ["b0000001"] + [f"a{n:07d}" for n in range(1, 11)]
    assert list(rows[0])[:9] == ["trial_id", "arm", "status", "reason", "epochs", "max_epochs",
                                 "w_adv", "disc_arch", "disc_depth"]
    assert list(rows[0])[9:-1] == list(METRICS) and list(rows[0])[-1] == "checkpoint"
    assert {k: (r["arm"], r["status"], r["epochs"]) for k, r in by_id.items()} == {
        "b0000001": ("baseline", "complete", "3"),
        "a0000001": ("search", "complete", "3"),
        "a0000002": ("search", "complete", "3"),
        "a0000003": ("search", "complete", "3"),
        "a0000004": ("search", "complete", "3"),
        "a0000005": ("search", "stopped_early", "1"),
        "a0000006": ("search", "error", "1"),
        "a0000007": ("search", "interrupted", "2"),
        "a0000008": ("search", "interrupted", "0"),
        "a0000009": ("search", "complete", "3"),
        "a0000010": ("search", "interrupted", "1"),
    }
    assert by_id["a0000006"]["reason"] == "DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite"
    assert "RUNNING when the sweep stopped, after 2 of 3 epochs" in by_id["a0000007"]["reason"]
    assert "PENDING" in by_id["a0000008"]["reason"]
    assert "not yet recorded by Tune" in by_id["a0000010"]["reason"]
    assert "excess_agreement is not a finite number" in by_id["a0000009"]["reason"]
    assert by_id["a0000001"]["reason"] == ""
    # Conditional param blank where it was not sampled; the baseline shows the w_adv it ran with.
    assert (by_id["a0000001"]["disc_arch"], by_id["a0000001"]["disc_depth"]) == ("mlp", "")
    assert (by_id["a0000002"]["disc_arch"], by_id["a0000002"]["disc_depth"]) == ("siamese_pool", "2")
    assert (by_id["b0000001"]["w_adv"], by_id["b0000001"]["disc_arch"]) == ("0.0", "")
    # Final metrics are the last epoch's, exact.
    assert float(by_id["a0000001"]["ensemble_acc"]) == 0.90
    assert float(by_id["a0000001"]["excess_agreement"]) == 0.05
    assert by_id["a0000001"]["epoch"] == "3"
    assert by_id["b0000001"]["disc_acc"] == "nan"
    assert float(by_id["a0000007"]["ensemble_acc"]) == 0.98  # the torn line is skipped
    assert by_id["a0000008"]["ensemble_acc"] == ""  # never reported
    # The newest checkpoint folder; none for a trial that never started.
    assert by_id["a0000001"]["checkpoint"] == str(folder.tune / "trial_a0000001" / "checkpoint_000002")
    assert by_id["a0000008"]["checkpoint"] == ""
    assert report.counts == {"complete": 5, "stopped_early": 1, "error": 1, "interrupted": 3}


def test_pareto_csv_front_and_baseline_deltas(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    rows = read_csv(folder.results / PARETO_CSV)
    # Best first on the first objective; stopped-early, error, interrupted, NaN and baseline are off it.
    assert [r["trial_id"] for r in rows] == ["a0000002", "a0000001", "a0000003"]
    assert [t.trial_id for t in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    row = {r["trial_id"]: r for r in rows}
    assert all(r["baseline_trial_id"] == "b0000001" for r in rows)
    assert float(row["a0000001"]["delta_ensemble_acc"]) == pytest.approx(0.90 - 0.89)
    assert float(row["a0000001"]["delta_excess_agreement"]) == pytest.approx(0.05 - 0.06)
    # Strictly better on both (higher accuracy, lower excess agreement) only for a0000001.
    assert {k: r["beats_baseline"] for k, r in row.items()} == {"a0000002": "no", "a0000001": "yes", "a0000003": "no"}
    assert row["a0000001"]["disc_depth"] == "" and row["a0000002"]["disc_depth"] == "2"
    assert row["a0000002"]["optuna_number"] == "1"  # the second search trial Optuna proposed


def test_optuna_db_round_trip(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    storage = f"sqlite:///{folder.results / OPTUNA_DB}"
    study = optuna.load_study(study_name="demo", storage=storage)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["ensemble_acc", "excess_agreement"]
    trials = study.get_trials(deepcopy=False)
    ids = [t.user_attrs["tune_trial_id"] for t in trials]
    assert ids == [f"a{n:07d}" for n in range(1, 11)]  # search trials only, in order; no baseline
    state = {t.user_attrs["tune_trial_id"]: t.state for t in trials}
    S = optuna.trial.TrialState
    assert state == {"a0000001": S.COMPLETE, "a0000002": S.COMPLETE, "a0000003": S.COMPLETE, "a0000004": S.COMPLETE,
                     "a0000005": S.PRUNED, "a0000006": S.FAIL, "a0000007": S.FAIL, "a0000008": S.FAIL,
                     "a0000009": S.FAIL, "a0000010": S.FAIL}
    by_id = {t.user_attrs["tune_trial_id"]: t for t in trials}
    a1, a2 = by_id["a0000001"], by_id["a0000002"]
    assert a1.values == [0.90, 0.05]
    assert a1.params == {"w_adv": 0.01, "disc_arch": "mlp"}  # disc_depth was not sampled
    assert a2.params == {"w_adv": 0.5, "disc_arch": "siamese_pool", "disc_depth": 2}
    assert a2.distributions["disc_depth"] == optuna.distributions.IntDistribution(1, 4)
    assert a2.distributions["w_adv"] == optuna.distributions.FloatDistribution(0.001, 1.0, log=True)
    assert a1.intermediate_values == {1: 0.7, 2: 0.85, 3: 0.90}
    assert a1.user_attrs["status"] == "complete" and a1.user_attrs["final_ensemble_acc"] == 0.90
    assert a1.user_attrs["checkpoint"].endswith("trial_a0000001/checkpoint_000002")
    assert "not a finite number" in by_id["a0000009"].user_attrs["reason"]
    assert by_id["a0000006"].user_attrs["reason"].startswith("DivergedError: diverged at epoch 2")
    assert by_id["a0000005"].user_attrs["status"] == "stopped_early"
    # Optuna's own Pareto front is pareto.csv's.
    front_ids = {t.user_attrs["tune_trial_id"] for t in study.best_trials}
    assert front_ids == {r["trial_id"] for r in read_csv(folder.results / PARETO_CSV)}


def test_summary_is_written_from_the_numbers(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    text = (folder.results / SUMMARY_MD).read_text()
    assert text.startswith("# Sweep `demo`")
    for expected in [
        "Dataset: digits; classifier: simple3; training objective: dice; 3 epochs per trial",
        "Objectives: ensemble_acc (maximize), excess_agreement (minimize)",
        "Sampler: tpe (seed 0)",
        "Search trials: 9 requested, 10 started, 7 finished (5 complete, 1 stopped early, 1 failed), 3 interrupted",
        "Resources per trial: 1 CPU, 0 GPU; at most 2 at once",
        "disc_depth int in [1, 4] (only when disc_arch in siamese_pool)",
        "| a0000002 | 0.9200 | 0.0800 | +0.0300 | +0.0200 | 0.5 | siamese_pool | 2 | 3 |",
        "| baseline b0000001 | 0.8900 | 0.0600 |",
        "Best ensemble_acc: `a0000002` with 0.9200",
        "Best excess_agreement: `a0000003` with 0.0200",
        "Beat the baseline on every objective: `a0000001` (1 of 3 front members)",
        "`a0000006` (search; w_adv=0.8, disc_arch=siamese_pool, disc_depth=4), after 1 epoch: DivergedError",
        "1 search trial was stopped early, after 1 of 3 epochs",
        "`a0000009` complete but objective excess_agreement is not a finite number",
        f'optuna.load_study(study_name="demo", storage="sqlite:///{folder.results / OPTUNA_DB}")',
    ]:
        assert expected in text, expected


def test_print_final_shows_front_baseline_counts_and_folder(full: tuple[TuneFolder, Any],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder, report = full
    print_final(report)
    out = capsys.readouterr().out
    lines = out.splitlines()
    front_lines = [i for i, line in enumerate(lines) if line.startswith(("a0000002", "a0000001", "a0000003"))]
    base_line = next(i for i, line in enumerate(lines) if line.startswith("baseline b0000001"))
    assert len(front_lines) == 3 and base_line > max(front_lines)
    assert "ensemble_acc ↑" in out and "excess_agreement ↓" in out and "w_adv" in out and "disc_depth" in out
    assert "5 complete, 1 stopped early, 1 error, 3 interrupted (of 9 requested)" in out
    assert "error a0000006 (search): DivergedError: diverged at epoch 2, step 7" in out
    assert str(folder.results) in out


def test_rebuilding_gives_the_same_files(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    names = (TRIALS_CSV, PARETO_CSV, PARETO_PNG, SUMMARY_MD)
    before = {n: (folder.results / n).read_bytes() for n in names}
    storage = f"sqlite:///{folder.results / OPTUNA_DB}"

    def study_content() -> list[tuple]:
        study = optuna.load_study(study_name="demo", storage=storage)
        return [(t.number, t.state, t.values, t.params, t.user_attrs, t.intermediate_values,
                 t.datetime_start, t.datetime_complete) for t in study.get_trials()]

    first = study_content()
    write_report(folder.results)
    assert {n: (folder.results / n).read_bytes() for n in names} == before
    # Rebuilt from scratch: the same trials, not twice as many.
    assert len(optuna.get_all_study_summaries(storage)) == 1
    assert repr(study_content()) == repr(first)


# -------------------------------------------------------------------- broken folders
def test_missing_sweep_json_is_a_user_error(tmp_path: Path) -> None:
    folder = TuneFolder(tmp_path)
    (folder.results / "sweep.json").unlink()
    with pytest.raises(UserError, match=r"demo: not a netsep results folder \(sweep.json is missing\)"):
        write_report(folder.results)


def test_unknown_folder_missing_space_and_missing_tune_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nowhere: no such results folder"):
        write_report(tmp_path / "nowhere")
    folder = TuneFolder(tmp_path)
    (folder.results / "space.yaml").unlink()
    with pytest.raises(UserError, match="space.yaml is missing"):
        write_report(folder.results)
    other = TuneFolder(tmp_path, name="other")
    other.tune.rmdir()
    with pytest.raises(UserError, match="no Ray Tune experiment at"):
        write_report(other.results)
    broken = TuneFolder(tmp_path, name="broken")
    (broken.results / "sweep.json").write_text("{not json")
    with pytest.raises(UserError, match="sweep.json: cannot be read as a sweep plan"):
        write_report(broken.results)


# ----------------------------------------------------------------- crash and variants
def test_no_experiment_state_yet_infers_statuses_from_folders(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.trial("a0000001", "RUNNING", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)] * 3, start=1)
    f.trial("a0000002", "RUNNING", {"w_adv": 0.2, "disc_arch": "mlp"}, [(0.9, 0.2)], start=2,
            error=DIVERGED_ERROR_TXT)
    # no save_state(): the driver died before Tune wrote one
    report = write_report(f.results)
    assert [(t.trial_id, t.status) for t in report.trials] == [("a0000001", "complete"), ("a0000002", "interrupted")]
    assert "an earlier attempt failed: DivergedError" in report.trials[1].reason
    assert [t.trial_id for t in report.pareto] == ["a0000001"]
    summary = (f.results / SUMMARY_MD).read_text()
    assert "Tune had saved no experiment state yet" in summary
    assert "Baseline (`independent`, same fixed settings): 1 planned; none started" in summary


def test_empty_experiment_writes_empty_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = TuneFolder(tmp_path)
    f.save_state()
    report = write_report(f.results)
    assert report.trials == [] and report.pareto == []
    assert read_csv(f.results / TRIALS_CSV) == [] and read_csv(f.results / PARETO_CSV) == []
    assert optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}").trials == []
    print_final(report)
    assert "Pareto front: empty" in capsys.readouterr().out


def test_tune_folder_behind_a_uri_is_read(tmp_path: Path) -> None:
    # --storage s3://...: the results folder is local, Tune's experiment is behind a URI.
    remote = tmp_path / "bucket" / "demo"
    f = TuneFolder(tmp_path / "local", tune_storage=f"file://{remote}")
    f.trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)] * 3)
    f.save_state()
    remote.mkdir(parents=True)
    f.tune.rename(remote / "tune")
    report = write_report(f.results)
    assert [(t.trial_id, t.status) for t in report.trials] == [("a0000001", "complete")]
    assert report.trials[0].checkpoint == f"file://{remote}/tune/trial_a0000001/checkpoint_000002"


def test_one_objective_and_several_baselines(tmp_path: Path) -> None:
    """The objective is searched: one baseline per pairing, each trial compared with its own."""
    space = {**SPACE, "name": "single", "objectives": [{"metric": "ensemble_acc", "direction": "max"}],
             "fixed": {"classifier": "simple3", "epochs": 2, "batch_size": 64},
             "params": {"objective": {"type": "categorical", "choices": ["seed", "dice"]},
                        "w_adv": {"type": "float", "low": 0.001, "high": 1.0, "log": True}}}
    f = TuneFolder(tmp_path, space=space)
    fixed = {"objective": "independent", "w_adv": 0.0}
    f.trial("b0000001", "TERMINATED", {}, [(0.7, 0.1), (0.80, 0.1)], baseline={**fixed, "pairing": "shared"})
    f.trial("b0000002", "TERMINATED", {}, [(0.7, 0.1), (0.75, 0.1)], baseline={**fixed, "pairing": "split"})
    f.trial("a0000001", "TERMINATED", {"objective": "seed", "w_adv": 0.1}, [(0.7, 0.1), (0.85, 0.1)])
    f.trial("a0000002", "TERMINATED", {"objective": "dice", "w_adv": 0.2}, [(0.7, 0.1), (0.85, 0.1)])
    f.trial("a0000003", "TERMINATED", {"objective": "dice", "w_adv": 0.3}, [(0.7, 0.1), (0.82, 0.1)])
    f.save_state()
    report = write_report(f.results)
    rows = {r["trial_id"]: r for r in read_csv(f.results / PARETO_CSV)}
    assert set(rows) == {"a0000001", "a0000002"}  # a tie on the single objective: both best
    assert rows["a0000001"]["baseline_trial_id"] == "b0000002"  # seed splits the batch
    assert rows["a0000002"]["baseline_trial_id"] == "b0000001"  # dice shares it
    assert float(rows["a0000001"]["delta_ensemble_acc"]) == pytest.approx(0.10)
    assert float(rows["a0000002"]["delta_ensemble_acc"]) == pytest.approx(0.05)
    assert report.baselines and len(report.baselines) == 2
    assert (f.results / PARETO_PNG).read_bytes()[:4] == b"\x89PNG"
    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}")
    assert {t.user_attrs["tune_trial_id"] for t in study.best_trials} == set(rows)


def test_three_objectives_plot_every_pair(tmp_path: Path) -> None:
    space = {**SPACE, "objectives": [*SPACE["objectives"], {"metric": "cka", "direction": "min"}]}
    f = TuneFolder(tmp_path, space=space)
    for n, (acc, excess) in enumerate([(0.9, 0.1), (0.8, 0.05), (0.85, 0.2)], start=1):
        f.trial(f"a{n:07d}", "TERMINATED", {"w_adv": 0.1 * n, "disc_arch": "mlp"}, [(acc, excess)] * 3)
    f.save_state()
    report = write_report(f.results)
    # cka is 0.5 for all three, so the third objective ties and the 2-D front decides.
    assert [t.trial_id for t in report.pareto] == ["a0000001", "a0000002"]
    from matplotlib.image import imread

    height, width = imread(str(f.results / PARETO_PNG)).shape[:2]
    assert width > 500 and height > 500  # a 2x2 grid of pair panels


def test_param_distribution_is_what_suggest_samples_from() -> None:
    """optuna.db rebuilds trials with ``Param.distribution()``; it must be suggest's own."""
    from sweep.spaces import SPACES_DIR, load_space

    for path in sorted(SPACES_DIR.glob("*.yaml")):
        space = load_space(str(path))
        for param in space.params.values():
            trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
            param.suggest(trial)
            assert trial.distributions[param.name] == param.distribution(), (path.name, param.name)
