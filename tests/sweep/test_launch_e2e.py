"""End-to-end sweeps through ``launch.py``: real Ray, real Optuna, real digits trials.

The sweeps join the session's test Ray head (``ray_head``): they test the sweep, not
Ray's start-up (``tests/test_faults.py`` starts local Rays).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import optuna
import pytest
import torch

from tests.helpers import launch, read_csv, trial_epochs
from trainable import load_pair
from trainable.metrics import ensemble_accuracy
from trainable.outputs import read_test_outputs

pytestmark = pytest.mark.slow

# Digits has 10 classes: chance is 0.1. Two epochs of the smoke test reach ~0.8; a
# sweep that trained nothing (or the wrong labels) stays near 0.1.
ABOVE_CHANCE = 0.5


def test_smoke_sweep_runs_every_trial_and_writes_the_report(smoke_sweep):
    folder, proc = smoke_sweep
    rows = read_csv(folder / "trials.csv")
    assert len(rows) == 5  # 4 Optuna trials + the independent baseline
    assert sorted(r["arm"] for r in rows) == ["baseline", "search", "search", "search", "search"]
    assert all(r["status"] == "complete" and r["epochs"] == "2" for r in rows)
    epochs = trial_epochs(folder / "tune")
    assert sorted(epochs) == sorted(f"trial_{r['trial_id']}" for r in rows)
    assert all(e == [1, 2] for e in epochs.values()), epochs
    for row in rows:
        # Trained: every member and the ensemble well above chance; the ensemble
        # columns agree with the member columns they are computed from.
        acc_1, acc_2, ensemble = float(row["acc_1"]), float(row["acc_2"]), float(row["ensemble_acc"])
        assert min(acc_1, acc_2, ensemble) > ABOVE_CHANCE, row
        assert float(row["member_acc"]) == pytest.approx((acc_1 + acc_2) / 2, abs=1e-9)
        assert float(row["ensemble_gain"]) == pytest.approx(ensemble - (acc_1 + acc_2) / 2, abs=1e-9)
        assert Path(row["checkpoint"]).is_dir()
    # Tune's progress table carried the objective columns; the front was printed at the end.
    assert "ensemble_acc" in proc.stdout and "excess_agreement" in proc.stdout
    assert "Pareto front" in proc.stdout and str(folder) in proc.stdout
    for name in ("pareto.csv", "pareto.png", "optuna.db", "summary.md", "sweep.json", "space.yaml"):
        assert (folder / name).is_file(), name


def test_the_sweeps_processes_use_the_sessions_cache(smoke_sweep):
    """Isolation (conftest): the trials cached digits in the session's NETSEP_CACHE_DIR."""
    cache = Path(os.environ["NETSEP_CACHE_DIR"])
    assert not cache.is_relative_to(Path(__file__).resolve().parents[2])
    assert any((cache / "tensors").rglob("*")), f"nothing cached under {cache}"


def test_optuna_study_holds_the_search_trials_and_its_front_is_pareto_csv(smoke_sweep):
    folder, _ = smoke_sweep
    study = optuna.load_study(study_name="smoke", storage=f"sqlite:///{folder / 'optuna.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]  # ensemble_acc, excess_agreement
    assert len(study.trials) == 4  # the baseline is not a point of the searched space
    assert all(set(t.params) == {"w_ce", "w_adv", "disc_lr"} for t in study.trials)
    # One Optuna trial per configuration (the smoke test runs one seed each), and the
    # study's feasible front is pareto.csv's front of configurations.
    assert all(t.user_attrs["replicates"] == 1 and len(t.user_attrs["tune_trial_ids"]) == 1 for t in study.trials)
    front_ids = sorted(t.user_attrs["config_id"] for t in study.best_trials)
    assert front_ids == sorted(r["config_id"] for r in read_csv(folder / "pareto.csv"))
    # With one seed nothing is claimed.
    assert all(r["beats_baseline"] == "no" for r in read_csv(folder / "pareto.csv"))


def test_checkpoint_loads_without_ray_and_reproduces_the_reported_metric(smoke_sweep):
    folder, _ = smoke_sweep
    row = next(r for r in read_csv(folder / "trials.csv") if r["arm"] == "search")
    pair = load_pair(row["checkpoint"])
    assert pair.epoch == 2 and pair.config.objective == "dice" and pair.discriminator is not None
    assert not pair.net_1.training
    # The per-example predictions saved with the checkpoint give the reported accuracy
    # (counted in float64: a float32 mean of 450 examples is off by ~1e-8).
    # A sweep trial's checkpoint holds validation predictions (it never reads the test split).
    saved = read_test_outputs(row["checkpoint"], split="validation")
    preds, labels = torch.from_numpy(saved.member_predictions), torch.from_numpy(saved.labels)
    # float64: a float32 mean of 900 examples is off by ~1e-8 for most counts (746/900 is).
    assert float((preds[0] == labels).double().mean()) == pytest.approx(float(row["acc_1"]), abs=1e-9)
    # And the loaded networks themselves give the same predictions on the validation split.
    from trainable.data import load_splits

    _, _, validation, _ = load_splits("digits")
    with torch.no_grad():
        x = validation.images.float() / 255
        probs = torch.stack([torch.softmax(net(x)[0], -1) for net in (pair.net_1, pair.net_2)])
    assert torch.equal(probs.argmax(-1), preds)
    assert ensemble_accuracy(probs, labels) == pytest.approx(float(row["ensemble_acc"]), abs=1e-6)


def test_report_command_rebuilds_everything_from_the_folder(smoke_sweep, smoke_copy, tmp_path):
    folder = smoke_copy
    # The copied files name the original folder; the rebuilt ones name the copy.
    before = {
        name: (folder / name).read_text().replace(str(smoke_sweep[0]), "<folder>")
        for name in ("trials.csv", "configs.csv", "pareto.csv", "summary.md")
    }
    for name in ("trials.csv", "configs.csv", "pareto.csv", "pareto.png", "optuna.db", "summary.md"):
        (folder / name).unlink()
    proc = launch("report", str(folder), cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(folder / "tune") in (folder / "trials.csv").read_text()  # the copy's checkpoints
    for name, text in before.items():
        assert (folder / name).read_text().replace(str(folder), "<folder>") == text, name
    for name in ("pareto.png", "optuna.db"):
        assert (folder / name).is_file()


def test_early_stopped_trials_are_marked_and_kept_off_the_front(tmp_path, ray_head):
    proc = launch(
        "--smoke-test",
        "--no-dashboard",
        "--trials",
        "6",
        "--epochs",
        "3",
        "--max-concurrent",
        "1",
        "--early-stop",
        "ensemble_acc",
        "--storage",
        str(tmp_path / "exp"),
        "--name",
        "asha",
        # 800 of digits' 1347 training images in small batches: the members must have
        # learned something by the first rung, or every trial ties there (one class
        # predicted) and ASHA, which stops only trials strictly below the cutoff, stops none.
        "batch_size=32",
        "train_size=800",
        *ray_head.client_args(),
        cwd=tmp_path,
        env=ray_head.env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = tmp_path / "exp" / "asha"
    rows = read_csv(folder / "trials.csv")
    assert len(rows) == 7
    stopped = {r["trial_id"] for r in rows if r["status"] == "stopped_early"}
    # One trial at a time makes the halving's decisions deterministic: with 6 configurations
    # (one seed each) and rungs at 1 and 2 epochs, some fall below the rung median.
    assert stopped, [(r["trial_id"], r["status"], r["epochs"]) for r in rows]
    assert all(int(r["epochs"]) < 3 for r in rows if r["trial_id"] in stopped)
    assert all(r["status"] == "complete" and r["epochs"] == "3" for r in rows if r["trial_id"] not in stopped)
    stopped_configs = {r["config_id"] for r in rows if r["status"] == "stopped_early"}
    assert all(r["arm"] != "baseline" for r in rows if r["trial_id"] in stopped)  # baselines are never stopped
    assert stopped_configs.isdisjoint(r["config_id"] for r in read_csv(folder / "pareto.csv"))
    assert {
        c["config_id"] for c in read_csv(folder / "configs.csv") if c["status"] == "stopped_early"
    } == stopped_configs
    study = optuna.load_study(study_name="asha", storage=f"sqlite:///{folder / 'optuna.db'}")
    pruned = {t.user_attrs["config_id"] for t in study.trials if t.state == optuna.trial.TrialState.PRUNED}
    assert pruned == stopped_configs


def test_wandb_logs_every_trial_offline_with_its_metrics(tmp_path):
    # A local Ray: Tune's wandb logging actor inherits the driver's WANDB_* variables only
    # from a Ray the driver started (a separately started head has its own environment).
    (tmp_path / "wb").mkdir()
    proc = launch(
        "--smoke-test",
        "--no-dashboard",
        "--trials",
        "1",
        "--epochs",
        "1",
        "--wandb",
        "netsep-test",
        "--storage",
        str(tmp_path / "exp"),
        "--name",
        "wb",
        "train_size=400",
        cwd=tmp_path,
        env={"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path / "wb"), "WANDB_SILENT": "true"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_csv(tmp_path / "exp" / "wb" / "trials.csv")
    runs = sorted((tmp_path / "wb").rglob("offline-run-*"))
    assert len(runs) == len(rows) == 2, runs  # the search trial and the baseline, one run each
    logged = [b"".join(p.read_bytes() for p in run.rglob("*.wandb")) for run in runs]
    for row in rows:
        # Each trial's run holds its id (the run's name) and its final metrics, as logged:
        # wandb's history records carry each value as JSON text in the .wandb file.
        (run,) = [data for data in logged if row["trial_id"].encode() in data]
        for metric in ("ensemble_acc", "disagreement", "acc_1"):
            assert metric.encode() in run, metric
            assert json.dumps(float(row[metric])).encode() in run, (metric, row[metric])


def test_an_object_store_storage_gets_the_plan_and_report_next_to_tunes_folder(tmp_path, ray_head):
    # file:// stands in for s3://: Tune and netsep reach both through pyarrow. A job
    # submitted with --working-dir runs in a copy that is removed afterwards, so
    # everything must be in the storage.
    bucket = tmp_path / "bucket"
    proc = launch(
        "--smoke-test",
        "--trials",
        "1",
        "--epochs",
        "1",
        "--no-dashboard",
        "--storage",
        f"file://{bucket}",
        "--name",
        "uri",
        *ray_head.client_args(),
        cwd=tmp_path,
        env=ray_head.env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    local, remote = tmp_path / "experiments" / "uri", bucket / "uri"
    files = ["optuna.db", "optuna.journal", "pareto.csv", "summary.md", "sweep.json", "space.yaml", "trials.csv"]
    assert all((remote / name).is_file() for name in files), sorted(p.name for p in remote.iterdir())
    assert (remote / "tune").is_dir() and not (local / "tune").exists()
    assert (remote / "trials.csv").read_bytes() == (local / "trials.csv").read_bytes()
    rows = read_csv(remote / "trials.csv")
    assert len(rows) == 2 and {r["status"] for r in rows} == {"complete"}, rows
