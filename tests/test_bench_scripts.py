"""Smoke tests of the benchmark scripts: each runs end to end with ``--quick``.

They check that the scripts build their trials the loop's way, time or train them,
and print a complete table (and JSON); they never look at timings or accuracies,
which depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, run_module


def _run(module: str, *args: str, timeout: int = 300) -> str:
    return run_module(module, *args, timeout=timeout)


def _table_rows(stdout: str, header_start: str) -> list[list[str]]:
    """The rows of the printed table (split on runs of 2+ spaces), header and rule excluded."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append([cell for cell in line.split("  ") if cell.strip()])
    return rows


@pytest.mark.slow  # runs the script end to end: trains or times for minutes on 2 cores
def test_step_bench_quick_prints_both_sections_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "step.json"
    stdout = _run("bench.step", "--quick", "--json", str(out))
    assert "torch threads: 1" in stdout and "peak fp32:" in stdout and "GFLOP per pair step" in stdout
    speed = _table_rows(stdout, "setting")
    ladder = ["eager", "+ channels_last", "+ fused optimizers", "+ bits dropout", "+ bf16 autocast"]
    cases = [row[1].strip().removesuffix(" (default)") for row in speed]
    assert cases == ladder * 2  # study and default; --quick leaves out compile and the thread count
    assert sum(row[1].strip().endswith("(default)") for row in speed) == 2  # one default plan per setting
    rows = _table_rows(stdout, "dataset")
    settings = [row[1].strip() for row in rows]
    assert settings == [
        "single (B=32)",
        "single (B=16)",
        "independent shared",
        "independent split",
        "dice + mlp",
        "seed + mlp",
        "dice + siamese_strided",
        "seed + siamese_strided",
        "batch prep",
    ]
    # Every compared row carries a verdict (then the page-fault count); the two baselines carry none.
    verdicts = [row[-2].strip() for row in rows[2:]]
    assert all(v in ("PASS", "FAIL") for v in verdicts), rows
    assert all(len(row) == 4 for row in rows[:2]), rows  # dataset, setting, median ms, faults

    saved = json.loads(out.read_text())
    assert saved["threads"] == 1 and set(saved["peaks"]) == {"fp32", "bf16"}
    assert [r["setting"] for r in saved["overheads"]] == settings
    for row in saved["overheads"]:
        assert len(row["samples_ms"]) == 2 and row["median_ms"] > 0
        if row["baseline"] is not None:
            base = next(r for r in saved["overheads"] if r["setting"] == row["baseline"])
            assert row["ratio"] == pytest.approx(row["median_ms"] / base["median_ms"])
    for name in ("study", "default"):
        facts = saved["speed_facts"][name]
        assert facts["flops_per_step"] > 0 and facts["flops_per_step"] == sum(facts["flops_per_op"].values())
        rows = [r for r in saved["speed"] if r["setting"] == name]
        eager = rows[0]
        for r in rows:
            assert r["speed_up"] == pytest.approx(eager["median_ms"] / r["median_ms"])
            assert r["gflops"] == pytest.approx(facts["flops_per_step"] / r["median_ms"] / 1e6)
            peak = saved["peaks"][r["plan"]["precision"]]["gflops"]
            assert r["peak_fraction"] == pytest.approx(r["gflops"] / peak)
        assert eager["plan"]["eager"] and rows[-1]["plan"]["precision"] == "bf16"


def test_accuracy_bench_quick_trains_both_objectives(tmp_path: Path) -> None:
    out = tmp_path / "accuracy.json"
    stdout = _run("bench.accuracy", "--quick", "--json", str(out))
    rows = _table_rows(stdout, "case")
    assert [(row[0].strip(), row[1].strip()) for row in rows] == [("digits", "independent"), ("digits", "dice")]

    saved = json.loads(out.read_text())
    test_size = 450  # digits' test split: every accuracy is a count of correct examples out of 450
    for row, result in zip(rows, saved["results"]):
        last = result["history"][-1]
        for cell, key in zip(row[2:5], ("acc_1", "acc_2", "ensemble_acc")):
            # The printed table, the saved result and the last epoch's metrics agree.
            assert cell.strip() == f"{result[key]:.4f}" and result[key] == last[key], (key, cell, result[key])
            assert result[key] * test_size == pytest.approx(round(result[key] * test_size), abs=1e-6), key
    by_objective = {r["objective"]: r for r in saved["results"]}
    # The independent baseline sees the batch as dice does, and trains no discriminator.
    assert by_objective["independent"]["config"]["pairing"] == "shared"
    assert by_objective["independent"]["config"]["w_adv"] == 0.0
    assert by_objective["dice"]["config"]["w_adv"] > 0
    assert all(len(r["history"]) == r["config"]["epochs"] for r in saved["results"])


def test_accuracy_bench_rejects_an_unknown_config_key() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.accuracy", "--quick", "--set", "no_such_key=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no_such_key" in done.stderr


@pytest.mark.slow  # runs the script end to end: trains or times for minutes on 2 cores
def test_gpu_bench_quick_runs_every_section_on_the_cpu_without_ray_optuna_or_wandb(tmp_path: Path) -> None:
    # The GPU machine has none of the three: shadow them with packages that refuse to import,
    # for this process and every process it spawns.
    for name in ("ray", "optuna", "wandb"):
        (tmp_path / "poison" / name).mkdir(parents=True)
        (tmp_path / "poison" / name / "__init__.py").write_text(
            f"raise ImportError('{name} is not on the GPU machine')"
        )
    out = tmp_path / "gpu.json"
    stdout = run_module(
        "bench.gpu", "--quick", "--json", str(out), timeout=600, env={"PYTHONPATH": str(tmp_path / "poison")}
    )
    saved = json.loads(out.read_text())
    assert saved["skipped"] == [] and saved["errors"] == [] and saved["machine"]["device"] == "cpu"
    assert set(saved["peaks"]) == {"bf16", "fp32"}
    cases = [(r["setting"], r["case"]) for r in saved["steps"]]
    assert cases == [(s, c) for s in ("study", "fast") for c in ("eager", "fast", "fast + compile")]
    for row in saved["steps"]:
        assert row["median_ms"] > 0 and len(row["samples_ms"]) == saved["settings"]["rounds"]
        eager = next(r for r in saved["steps"] if r["setting"] == row["setting"] and r["case"] == "eager")
        assert row["speed_up"] == pytest.approx(eager["median_ms"] / row["median_ms"])
        assert row["plan"]["eager"] == (row["case"] == "eager")
        assert row["plan"]["compile"] == ("eager" if row["case"] == "fast + compile" else None)
    sharing = saved["sharing"]
    assert [r["trials"] for r in sharing] == [1, 2]
    for r in sharing:
        assert len(r["per_trial"]) == r["trials"] and len({t["pid"] for t in r["per_trial"]}) == r["trials"]
        assert r["images_per_s"] == pytest.approx(sum(t["images"] / t["seconds"] for t in r["per_trial"]))
        assert r["peak_mib_per_trial"] > 0 and r["memory_kind"] == "host RSS"
    assert sharing[0]["vs_one"] == 1.0
    tta = saved["time_to_accuracy"]
    assert [h["epoch"] for h in tta["history"]] == list(range(1, len(tta["history"]) + 1))
    assert (tta["reached_epoch"] is None) == (
        len(tta["history"]) == tta["epochs_planned"] and min(tta["acc_1"], tta["acc_2"]) < tta["target"]
    )
    # The printed tables: peak, steps, sharing, time to accuracy.
    assert [row[0].strip() for row in _table_rows(stdout, "dtype")] == ["bf16", "fp32"]
    assert _table_rows(stdout, "setting")[0][:2] == ["study", "eager"]
    assert [row[0].strip() for row in _table_rows(stdout, "trials")] == ["1", "2"]
    assert len(_table_rows(stdout, "pair")) == 1


@pytest.mark.slow  # runs the script end to end: trains or times for minutes on 2 cores
def test_fast_vs_eager_quick_compares_every_arm_with_eager(tmp_path: Path) -> None:
    out = tmp_path / "fast_vs_eager.json"
    stdout = _run("bench.fast_vs_eager", "--quick", "--json", str(out))
    rows = _table_rows(stdout, "arm")
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        (arm, metric) for arm in ("eager", "fast fp32", "fast") for metric in ("test_ensemble_acc", "test_member_acc")
    ]
    saved = json.loads(out.read_text())
    runs = saved["runs"]
    assert sorted((r["arm"], r["seed"]) for r in runs) == sorted(
        (arm, seed) for arm in ("eager", "fast fp32", "fast") for seed in (2000, 2001)
    )
    assert all(r["plan"]["eager"] == (r["arm"] == "eager") for r in runs)
    for row in saved["rows"]:
        if row["arm"] == "eager":
            continue
        diffs = [
            next(r[row["metric"]] for r in runs if r["arm"] == row["arm"] and r["seed"] == seed)
            - next(r[row["metric"]] for r in runs if r["arm"] == "eager" and r["seed"] == seed)
            for seed in (2000, 2001)
        ]
        assert row["diff"] == pytest.approx(sum(diffs) / 2)
        assert row["ci95"][0] <= row["diff"] <= row["ci95"][1]


def test_eval_share_quick_times_both_evaluations_and_prints_every_schedule(tmp_path: Path) -> None:
    out = tmp_path / "eval_share.json"
    stdout = _run("bench.eval_share", "--quick", "--json", str(out))
    rows = _table_rows(stdout, "schedule")
    assert [row[0].strip() for row in rows] == [
        "test every epoch (before)",
        "validation every epoch (eval_every 1, the default)",
        "validation after the last epoch only",
    ]
    assert rows[1][-1].strip() in ("PASS", "FAIL")  # only the default schedule has a target
    saved = json.loads(out.read_text())
    epochs = saved["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(e["train_s"] > 0 and e["validation_s"] > 0 and e["test_s"] > 0 for e in epochs)
    before, default, last_only = saved["rows"]
    # The shares follow from the per-epoch times: the default evaluates validation every
    # epoch, the last-only schedule once, the old protocol the test split every epoch.
    train = sum(e["train_s"] for e in epochs)
    val = sum(e["validation_s"] for e in epochs)
    assert default["share"] == pytest.approx(val / (train + val))
    assert last_only["eval_s"] == pytest.approx(epochs[-1]["validation_s"])
    assert before["eval_s"] == pytest.approx(sum(e["test_s"] for e in epochs))
    assert saved["split_sizes"] == {"train": 400, "validation": 135, "test": 450}


def test_imports_quick_times_each_step_a_trial_worker_takes(tmp_path: Path) -> None:
    from bench.imports import EAGER_ONLY, STEPS

    out = tmp_path / "imports.json"
    stdout = _run("bench.imports", "--quick", "--json", str(out))
    rows = _table_rows(stdout, "step")
    assert [row[0].strip() for row in rows] == [name for name, _ in STEPS] + ["total (fast path)"]
    saved = json.loads(out.read_text())
    (run,) = saved["runs_s"]
    assert len(run) == len(STEPS) and all(t >= 0 for t in run)
    # The child asserted that the fast path's trial left torch._dynamo unimported and torch.optim did not.
    counted = [t for (name, _), t in zip(STEPS, run) if name not in EAGER_ONLY]
    assert len(counted) == len(STEPS) - 1 and saved["median_total_s"] == pytest.approx(sum(counted))


def test_live_journal_bench_quick_times_both_journals_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Ray, a few seconds: the searcher's search cost with a synced and an unsynced live journal."""
    from bench.live_journal import main

    out = tmp_path / "journal.json"
    assert main(["--quick", "--json", str(out)]) == 0  # in this process: no Ray, and its imports are here already
    stdout = capsys.readouterr().out
    rows = {row[0].strip(): row[1:] for row in _table_rows(stdout, " " * 10)}
    assert set(rows) == {
        "cpu ms / configuration at 50",
        "wall ms / configuration at 50",
        "resume rebuild of 60 trials, s",
        "journal MiB",
    }
    record = json.loads(out.read_text())
    assert record["trials"] == 60 and set(record["runs"]) == {"synced", "unsynced"}
    assert all(run["journal_mib"] > 0 for runs in record["runs"].values() for run in runs)
