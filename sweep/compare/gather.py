"""Compare mode's runs gathered from its Tune folder: ``runs.csv`` and ``correctness.npz``.

Every run is read through ``sweep.report.tune_folder`` and judged by
``sweep.report.status`` (the sweep report's rules). Each complete run's
per-example test predictions come from its last checkpoint, so every statistic
can be recomputed without retraining. Without a Tune folder (a published or
copied compare folder) the saved ``runs.csv`` and ``correctness.npz`` are read.
"""

from __future__ import annotations

import csv
import io
import pickle
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sweep.compare.plan import ComparePlan
from sweep.errors import UserError
from sweep.folders import replacing, write_csv
from sweep.report.from_csv import number_from_cell
from sweep.report.records import max_epochs_of, metric_value
from sweep.report.status import trial_status
from sweep.report.tune_folder import TuneTrial, experiment_exists, read_experiment
from trainable.metric_names import METRICS

__all__ = [
    "RUNS_CSV",
    "CORRECTNESS_NPZ",
    "TEST_PREFIX",
    "VALIDATION_COLUMNS",
    "VALIDATION_PREFIX",
    "Run",
    "Correctness",
    "to_run",
    "collect_runs",
    "gather_runs",
    "read_correctness",
    "read_runs_csv",
    "check_runs_match",
    "metrics_of_result",
    "validation_of_result",
]

RUNS_CSV = "runs.csv"
CORRECTNESS_NPZ = "correctness.npz"
TEST_PREFIX = "test_"  # a final_test run reports test_<name> for each pair metric after its last epoch
_NO_TEST_TWIN = ("probe_acc", "disc_acc", "train_loss", "disc_loss", "epoch", "train_seconds")
# What reading a checkpoint someone else wrote can raise: missing or damaged files, a pickle
# that torch's weights-only loader refuses (it never runs the pickled code), wrong contents.
_UNREADABLE = (OSError, EOFError, KeyError, RuntimeError, ValueError, TypeError, AttributeError, pickle.UnpicklingError)
VALIDATION_PREFIX = "val_"
# A final_test run's last plain values are its validation numbers after the last epoch
# (the split it would select on). runs.csv keeps these as val_<name>, after the test
# columns, so that a choice made on validation (docs/results/pilot/PLAN.md) reads them
# without opening the test columns. Empty for a run that evaluated no validation split.
VALIDATION_COLUMNS = ("acc_1", "acc_2", "member_acc", "min_member_acc", "ensemble_acc", "ensemble_gain", "disc_acc")
_RUNS_HEADER = (
    "arm",
    "seed",
    "trial_id",
    "status",
    "reason",
    "split",
    *METRICS,
    "checkpoint",
    *(VALIDATION_PREFIX + k for k in VALIDATION_COLUMNS),
)


@dataclass(frozen=True)
class Run:
    arm: str
    seed: int
    trial_id: str
    status: str  # complete | stopped_early | error | interrupted (sweep.report.status)
    reason: str
    metrics: dict[str, float | int]  # last reported value of each METRICS name (its test_ value when there is one)
    checkpoint: str  # its newest checkpoint folder; "" when none
    # "test": its metrics are the test_<name> values of a final_test run; "plain": the run
    # predates final_test and its plain names were used (the test split before netsep had a
    # validation split); "" when it reported nothing.
    split: str = "test"
    validation: dict[str, float | int] = field(default_factory=dict)  # VALIDATION_COLUMNS at the last epoch


def validation_of_result(last: dict[str, object]) -> dict[str, float | int]:
    """The ``VALIDATION_COLUMNS`` of a run's last result when they are validation numbers, else {}.

    Plain names hold the split the run evaluated each epoch (``eval_split``); a run
    without a validation split evaluated the test split there, and gives nothing here.
    """
    if last.get("eval_split") != "validation":
        return {}
    return {k: v for k in VALIDATION_COLUMNS if (v := metric_value(last.get(k))) is not None}


def metrics_of_result(last: dict[str, object]) -> tuple[dict[str, float | int], str]:
    """(metrics, split) of a run's last result: each METRICS name's test_ value, else the plain one."""
    tested = {k: v for k in METRICS if (v := metric_value(last.get(TEST_PREFIX + k))) is not None}
    if tested:
        # Values with no test_ twin keep their own: probe_acc (scored on test pairs), losses and counters.
        # disc_acc does have one: a final_test run reports test_disc_acc (the trained D scored on *test*
        # pairs), which replaces the plain validation-pair value below, so compare's and a study's
        # disc_acc is a test-pair number (their tables say so). The plain value stays only for a run
        # that reported no test_disc_acc; netsep's final_test always reports it.
        plain = {k: v for k in _NO_TEST_TWIN if (v := metric_value(last.get(k))) is not None}
        return {**plain, **tested}, "test"
    plain = {k: v for k in METRICS if (v := metric_value(last.get(k))) is not None}
    return plain, "plain" if plain else ""


@dataclass(frozen=True)
class Correctness:
    """Per-example test correctness of every complete run, as saved in correctness.npz."""

    index: dict[tuple[str, int], int]  # (arm, seed) -> row
    member: np.ndarray  # bool [runs, 2, N]
    ensemble: np.ndarray  # bool [runs, N]


def to_run(trial: TuneTrial) -> Run:
    """One compare run from its Tune trial. Pure."""
    status, reason = trial_status(trial, max_epochs_of(trial.config), run="compare run")
    checkpoint = trial.checkpoints[-1] if trial.checkpoints else ""
    if status == "complete" and not checkpoint:
        status, reason = "error", "complete but no checkpoint to read its test predictions from"
    metrics, split = metrics_of_result(trial.last_result)
    return Run(
        str(trial.config.get("arm", "")),
        int(trial.config.get("seed", -1)),
        trial.trial_id,
        status,
        reason,
        metrics,
        checkpoint,
        split,
        validation_of_result(trial.last_result),
    )


def read_runs_csv(path: Path) -> list[Run]:
    """A saved ``runs.csv`` as Runs, in file order; ``UserError`` naming the file when it cannot be read.

    Believe it only together with its ``correctness.npz`` (``check_runs_match``).
    """
    runs = []
    try:
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            metrics = {k: v for k in METRICS if (v := number_from_cell(row.get(k) or "")) is not None}
            validation = {
                k: v
                for k in VALIDATION_COLUMNS
                if (v := number_from_cell(row.get(VALIDATION_PREFIX + k) or "")) is not None
            }
            runs.append(
                Run(
                    row["arm"],
                    int(row["seed"]),
                    row["trial_id"],
                    row["status"],
                    row["reason"],
                    metrics,
                    row["checkpoint"],
                    row.get("split", "plain"),
                    validation,
                )
            )
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: cannot be read as a compare's {RUNS_CSV} ({type(error).__name__}: {error})") from None
    return runs


# (runs.csv column, what correctness.npz gives for it): the accuracies the statistics use.
_RECOMPUTED = (
    ("ensemble_acc", lambda c, i: c.ensemble[i].mean()),
    ("acc_1", lambda c, i: c.member[i, 0].mean()),
    ("acc_2", lambda c, i: c.member[i, 1].mean()),
)


def check_runs_match(runs: list[Run], correctness: Correctness, where: Path) -> None:
    """Every complete run of ``runs.csv`` is in ``correctness.npz`` with the same accuracies.

    A saved ``runs.csv`` without its Tune folder is all ``--report-only`` has: it is
    believed only where the per-example predictions agree (to half a test image), so an
    edited or mismatched table is refused, naming the run and the column.
    """
    n = correctness.ensemble.shape[-1] if correctness.ensemble.size else 0
    tolerance = 0.5 / n if n else 0.0
    for run in runs:
        if run.status != "complete":
            continue
        row = correctness.index.get((run.arm, run.seed))
        if row is None:
            raise UserError(
                f"{where / RUNS_CSV}: run {run.arm}/{run.seed} is complete but has no predictions in "
                f"{CORRECTNESS_NPZ}; the two files do not belong together"
            )
        for column, recompute in _RECOMPUTED:
            saved = run.metrics.get(column)
            if saved is None:
                continue
            again = float(recompute(correctness, row))
            if abs(float(saved) - again) > tolerance:
                raise UserError(
                    f"{where / RUNS_CSV}: run {run.arm}/{run.seed}: {column} is {saved} there but "
                    f"{again:.6f} from its predictions in {CORRECTNESS_NPZ}; the table was changed or "
                    "belongs to other runs, so the report cannot be rebuilt from it"
                )


def _sorted(plan: ComparePlan, runs: list[Run]) -> list[Run]:
    order = {a.name: i for i, a in enumerate(plan.arms)}
    return sorted(runs, key=lambda r: (order.get(r.arm, len(order)), r.seed))


def collect_runs(plan: ComparePlan) -> list[Run]:
    """Every run of the compare Tune folder, by arm (plan order) then seed; [] without one."""
    if not experiment_exists(plan.tune_path):
        return []
    return _sorted(plan, [to_run(t) for t in read_experiment(plan.tune_path).trials])


def _outputs(runs: list[Run]) -> tuple[list[Run], list[Run], list[object]]:
    """(all runs, complete runs, their test outputs); a complete run whose checkpoint cannot be read errs."""
    from trainable.outputs import read_test_outputs

    out, complete, outputs = [], [], []
    for run in runs:
        if run.status == "complete":
            try:
                outputs.append(read_test_outputs(run.checkpoint))
                complete.append(run)
            except _UNREADABLE as error:  # one bad checkpoint costs its run, not the whole report
                first = (str(error).strip().splitlines() or [""])[0][:200]
                reason = f"its checkpoint cannot be read ({type(error).__name__}: {first})"
                run = replace(run, status="error", reason=reason)
        out.append(run)
    return out, complete, outputs


def _write_correctness(path: Path, complete: list[Run], outputs: list) -> None:
    labels = outputs[0].labels if outputs else np.zeros(0, dtype=np.int64)
    for run, o in zip(complete, outputs):
        if not np.array_equal(labels, o.labels):
            raise UserError(f"{run.checkpoint}: its test labels differ from the other runs' (mixed datasets?)")
    n = len(labels)
    with replacing(path) as tmp:
        _save_correctness(tmp, complete, outputs, labels, n)


def _save_correctness(path: Path, complete: list[Run], outputs: list, labels: np.ndarray, n: int) -> None:
    np.savez_compressed(
        path,
        run_index=np.array([f"{r.arm}/{r.seed}" for r in complete]),
        member_correct=np.array([o.member_correct for o in outputs], dtype=bool).reshape(len(complete), 2, n),
        ensemble_correct=np.array([o.ensemble_correct for o in outputs], dtype=bool).reshape(len(complete), n),
        labels=labels,
    )


def gather_runs(plan: ComparePlan) -> list[Run]:
    """The runs, with ``runs.csv`` and ``correctness.npz`` (re)written from the Tune folder.

    Without a Tune folder, the saved files are read instead (nothing is written).
    """
    folder = Path(plan.compare_dir)
    if not experiment_exists(plan.tune_path):
        if (folder / RUNS_CSV).is_file() and (folder / CORRECTNESS_NPZ).is_file():
            runs = _sorted(plan, read_runs_csv(folder / RUNS_CSV))
            check_runs_match(runs, read_correctness(plan), folder)
            return runs
        raise UserError(
            f"{folder}: no compare runs at {plan.tune_path} and no saved {RUNS_CSV} and "
            f"{CORRECTNESS_NPZ}; start them with `launch.py compare {plan.sweep_dir}`"
        )
    runs, complete, outputs = _outputs(collect_runs(plan))
    _write_correctness(folder / CORRECTNESS_NPZ, complete, outputs)
    rows = [
        [
            *(r.arm, r.seed, r.trial_id, r.status, r.reason, r.split),
            *(r.metrics.get(k) for k in METRICS),
            r.checkpoint,
            *(r.validation.get(k) for k in VALIDATION_COLUMNS),
        ]
        for r in runs
    ]
    write_csv(folder / RUNS_CSV, _RUNS_HEADER, rows)
    return runs


def read_correctness(plan: ComparePlan) -> Correctness:
    """``correctness.npz`` (never unpickled); ``UserError`` naming it when it is damaged or not netsep's."""
    path = Path(plan.compare_dir) / CORRECTNESS_NPZ
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = [str(k) for k in data["run_index"]]
            index = {(k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1])): i for i, k in enumerate(keys)}
            member, ensemble = np.asarray(data["member_correct"], bool), np.asarray(data["ensemble_correct"], bool)
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(
            f"{path}: cannot be read as a compare's {CORRECTNESS_NPZ} ({type(error).__name__}: {error})"
        ) from None
    if member.ndim != 3 or member.shape[:2] != (len(keys), 2) or ensemble.shape != (len(keys), member.shape[2]):
        raise UserError(f"{path}: its arrays do not have the shapes netsep writes (runs x 2 x N and runs x N)")
    return Correctness(index, member, ensemble)
