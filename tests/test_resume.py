"""``--resume`` of an interrupted sweep, on one machine (no network namespaces needed).

The sweep is stopped with Ctrl+C (SIGINT: Tune saves its state and the driver writes
the report of what is there) while a trial is half-way and trials are still to come,
then resumed. Every trial must end with exactly epochs 1..E in its ``result.json``: a
trial restarted instead of continued from its checkpoint reports epoch 1 twice, a
trial run again reports its epochs twice. The sweep runs on the tests' shared Ray head
(2 CPUs), two trials at a time at most, so the test is the same on any machine. (A
sweep that starts its own local Ray, as on a laptop, is stopped and resumed in
``tests/test_faults.py``, as is a driver killed with SIGKILL; a node lost mid-trial
in ``tests/cluster/test_multihost.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from sweep.search.live_study import LIVE_STUDY_FILE, journal_storage
from tests.helpers import read_csv, trial_epochs, trial_results, tune_state
from tests.processes import Driver, RayHead, poll

pytestmark = pytest.mark.slow

EPOCHS = 6  # trials long enough (~6 s) that Tune's batched copy to the results folder shows one mid-way
SEARCH_TRIALS = 2  # + the baseline: 3 trials, 2 at a time
TRAIN_SIZE = (
    "train_size=1200"  # of digits' 1347 training images: long enough epochs (~1 s) for the poll to see a trial half-way
)


@pytest.fixture
def drivers(tmp_path: Path) -> Iterator[list[Driver]]:
    """Drivers started by a test; each one's whole session is killed afterwards."""
    started: list[Driver] = []
    try:
        yield started
    finally:
        for driver in started:
            driver.stop()


def _half_way(tune_dir: Path) -> dict[str, list[int]] | None:
    """Trial folder -> epochs, once a trial has reported some but not all of its epochs and
    not every trial has started (so the resumed run both continues trials and starts new
    ones). Tune copies results to the results folder in batches, so a trial may first be
    seen at its second or third epoch."""
    epochs = trial_epochs(tune_dir)
    if len(epochs) < SEARCH_TRIALS + 1 and any(e and e[-1] < EPOCHS for e in epochs.values()):
        return epochs
    return None


def test_interrupted_sweep_continues_every_trial_from_its_checkpoint(
    drivers: list[Driver], tmp_path: Path, ray_head: RayHead
) -> None:
    storage, name = tmp_path / "exp", "interrupted"
    folder, tune_dir = storage / name, storage / name / "tune"
    args = ["--no-dashboard", *ray_head.client_args()]
    first = Driver(
        [
            "--smoke-test",
            "--trials",
            str(SEARCH_TRIALS),
            "--epochs",
            str(EPOCHS),
            "--max-concurrent",
            "2",
            "--storage",
            str(storage),
            "--name",
            name,
            TRAIN_SIZE,
            *args,
        ],
        tmp_path / "first.log",
        env=ray_head.client_env(),
    )
    drivers.append(first)
    poll(lambda: _half_way(tune_dir), 300, "a trial half-way while others wait", every_s=0.1, alive=first)
    first.interrupt()
    first.wait(180)

    before = trial_results(tune_dir)
    partial = {t: [r["epoch"] for r in rows] for t, rows in before.items() if rows and rows[-1]["epoch"] < EPOCHS}
    assert partial, f"every started trial had finished when the interrupt landed: {trial_epochs(tune_dir)}"
    assert len(before) < SEARCH_TRIALS + 1, "every trial had started: the resume would start none"
    # The interrupted run's report lists the half-done trials as interrupted.
    statuses = {f"trial_{r['trial_id']}": r["status"] for r in read_csv(folder / "trials.csv")}
    assert all(statuses[t] == "interrupted" for t in partial), statuses
    params = {t: (tune_dir / t / "params.json").read_text() for t in before}
    # What --resume continues from: the epoch of each trial's last result in Tune's saved state.
    recorded = {
        f"trial_{t}": int((s.get("last_result") or {}).get("epoch", 0)) for t, s in tune_state(tune_dir).items()
    }

    second = Driver(["--resume", str(folder), *args], tmp_path / "second.log", env=ray_head.client_env())
    drivers.append(second)
    assert second.wait(420) == 0, second.tail()

    rows = read_csv(folder / "trials.csv")
    assert sorted(r["arm"] for r in rows) == ["baseline"] + ["search"] * SEARCH_TRIALS
    assert all(r["status"] == "complete" and r["epochs"] == str(EPOCHS) for r in rows), [
        (r["trial_id"], r["status"], r["reason"]) for r in rows
    ]
    after = trial_results(tune_dir)
    assert sorted(after) == sorted(f"trial_{r['trial_id']}" for r in rows)
    for trial, results in after.items():
        epochs = [r["epoch"] for r in results]
        # Every epoch, in order. One may be there twice: a result that reached result.json
        # while Ctrl-C landed, before Tune saved its state with that epoch's checkpoint, is
        # computed again from the checkpoint Tune recorded (checked below).
        assert sorted(set(epochs)) == list(range(1, EPOCHS + 1)) and epochs == sorted(epochs), (trial, epochs)
        if trial in before:
            # The rows from before the interrupt are still there, unchanged, and so are the params.
            assert results[: len(before[trial])] == before[trial], trial
            assert (tune_dir / trial / "params.json").read_text() == params[trial]
        # Tune's JSON logger alone, in the first fit and the restored one: no progress.csv,
        # no TensorBoard events (sweep.backend.tuner.json_logger_only).
        assert not [f.name for f in (tune_dir / trial).iterdir() if f.name == "progress.csv" or "tfevents" in f.name]
    # The continued trials picked up from the checkpoint Tune recorded: the same trial,
    # exactly the epochs after it (a restart from scratch would report epoch 1 again).
    for trial, epochs in partial.items():
        assert trial in recorded, f"{trial} is not in Tune's saved state: {sorted(recorded)}"
        later = [r["epoch"] for r in after[trial][len(epochs) :]]
        # From its last checkpoint: the epoch after the last one reported, or an epoch
        # already reported whose checkpoint had not been saved when the run stopped; never from epoch 1.
        first = later[0] if later else EPOCHS + 1
        assert 2 <= first <= recorded[trial] + 1 and later == list(range(first, EPOCHS + 1)), (
            trial,
            epochs,
            recorded.get(trial),
            later,
        )
        assert recorded[trial] >= epochs[-1] - 1, (trial, epochs, recorded[trial])  # at most the last epoch again
    # The live Optuna study holds every search trial once, finished, numbered as proposed.
    live = optuna.load_study(study_name=name, storage=journal_storage(folder / LIVE_STUDY_FILE)).get_trials()
    search = sorted(r["trial_id"] for r in rows if r["arm"] == "search")
    # One configuration per Optuna trial; the smoke test runs one seed of each.
    assert sorted(i for t in live for i in t.user_attrs["tune_trial_ids"]) == search, [t.user_attrs for t in live]
    assert [t.number for t in live] == list(range(SEARCH_TRIALS))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in live), [t.state for t in live]
