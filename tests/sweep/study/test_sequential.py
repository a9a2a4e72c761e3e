"""A sequential study without Ray: the decision from recorded runs, the runner's gate and searcher,
the report (rebuilt by --report-only to the same bytes) and a run that stops at its first look.

The recorded runs are the published ``features_last_conv`` study (docs/results/): 8 paired
seeds, dice-0.1 and seed-0.1 against their matched baselines, registered here again with
looks at 4 and 8 seeds.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import sweep.backend.connection
from sweep.backend.connection import RayInfo
from sweep.compare import command as compare_command
from sweep.compare.gather import Run
from sweep.compare.plan import ComparePlan
from sweep.requests import StudyRequest
from sweep.search.list_searcher import ListSearcher
from sweep.search.look_gate import LookGate
from sweep.search.looks import LookSchedule
from sweep.stats.sequential import look_table
from sweep.study import command as study_command
from sweep.study.command import run_study_request
from sweep.study.estimate import Estimate
from sweep.study.file import load_study
from sweep.study.plan import plan_study
from sweep.study.sequential import SEQUENTIAL_CSV, decision_of, schedule_of
from tests.sweep.compare.folders import CompareRuns

RESULTS = Path(__file__).resolve().parents[3] / "docs" / "results" / "features_last_conv"
SEQUENTIAL = "sequential: {looks: [4, 8]}\n"


def _study_file(tmp_path: Path, block: str = SEQUENTIAL) -> Path:
    text = (RESULTS / "study.yaml").read_text(encoding="utf-8")
    path = tmp_path / "features_last_conv.yaml"
    path.write_text(text + block, encoding="utf-8")
    return path


def _recorded_runs() -> list[Run]:
    with (RESULTS / "runs.csv").open(encoding="utf-8") as f:
        return [
            Run(
                r["arm"], int(r["seed"]), r["trial_id"], r["status"], "", {"ensemble_acc": float(r["ensemble_acc"])}, ""
            )
            for r in csv.DictReader(f)
        ]


def _schedule(tmp_path: Path) -> LookSchedule:
    study = load_study(str(_study_file(tmp_path)))
    schedule = schedule_of(study, plan_study(study, tmp_path / "storage"))
    assert schedule is not None
    return schedule


def test_the_recorded_study_decides_by_hand(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    assert schedule.comparisons == (("dice-0.1", "baseline-shared"), ("seed-0.1", "baseline-split"))
    assert schedule.design.comparisons == 2 and schedule.design.margin == 0.0025
    runs = _recorded_runs()
    decision = decision_of(schedule, runs)
    acc = {(r.arm, r.seed): r.metrics["ensemble_acc"] for r in runs}
    crit = [lk.t for lk in look_table(schedule.design)]  # 0.025 each: |t| >= 13.1 (3 df), then 2.88 (7 df)
    assert crit[0] > 10 and 2.8 < crit[1] < 3.0
    for (arm, base), looks in zip(schedule.comparisons, decision.comparisons):
        for look, n in zip(looks, (4, 8)):
            d = np.array([acc[(arm, s)] - acc[(base, s)] for s in range(4000, 4000 + n)])
            half = crit[n // 4 - 1] * d.std(ddof=1) / math.sqrt(n)
            assert (look.seeds, look.mean) == (n, pytest.approx(d.mean()))
            assert (look.low, look.high) == (pytest.approx(d.mean() - half), pytest.approx(d.mean() + half))
    # dice: -0.06 pp, repeated CI [-0.22, +0.10] pp inside +-0.25 pp at 8 seeds; seed: -0.09 pp, [-0.29, +0.12] pp.
    assert [[d.decision for d in c] for c in decision.comparisons] == [
        ["continue", "equivalent"],
        ["continue", "undecided"],
    ]
    assert decision.stopped_at == 2 and decision.looks_reached == 2
    assert schedule.planned_runs(decision) == 32
    first_look = decision_of(schedule, [r for r in runs if r.seed < 4004])
    assert first_look.stopped_at is None and first_look.looks_reached == 1 and first_look.final == ["continue"] * 2


def test_runs_that_have_not_ended_hold_the_look(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    runs = _recorded_runs()
    cut = [
        r if (r.arm, r.seed) != ("baseline-split", 4002) else Run(r.arm, r.seed, "", "interrupted", "", {}, "")
        for r in runs
    ]
    assert decision_of(schedule, cut).looks_reached == 0
    failed = [
        Run(r.arm, r.seed, "", "error", "", {}, "") if (r.arm, r.seed) == ("baseline-split", 4002) else r for r in runs
    ]
    decision = decision_of(schedule, failed)
    assert decision.looks_reached == 2 and decision.comparisons[1][0].seeds == 3  # the failed seed is left out


def _trial(arm: str, seed: int, status: str, acc: float | None) -> Any:
    result = {} if acc is None else {"test_ensemble_acc": acc}
    return SimpleNamespace(config={"arm": arm, "seed": seed}, status=status, last_result=result)


def _clear_trials(schedule: LookSchedule, seeds: list[int], gain: float) -> list[Any]:
    rng = np.random.default_rng(3)
    return [
        _trial(arm, s, "TERMINATED", 0.8 + (gain if not arm.startswith("baseline") else 0.0) + rng.normal(0, 0.001))
        for s in seeds
        for arm in schedule.arms
    ]


def test_the_gate_holds_the_next_look_until_the_first_decides(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    schedule = _schedule(tmp_path)
    gate = LookGate(schedule, "test_ensemble_acc")
    configs = [{"seed": s, "arm": a} for s in schedule.seeds for a in schedule.arms]
    searcher = ListSearcher(configs, metric="ensemble_acc", mode="max", gate=gate)
    proposed = [searcher.suggest(str(i)) for i in range(20)]
    assert all(p is not None for p in proposed[:16]) and proposed[16:] == [None] * 4  # look 1: 4 arms x 4 seeds
    trials = _clear_trials(schedule, list(range(4000, 4004)), gain=0.0)
    trials[-1].status = "RUNNING"
    gate.on_step_begin(0, trials)
    assert gate.allowed == 16 and searcher.suggest("x") is None  # one run of look 1 still running
    trials[-1].status = "TERMINATED"
    gate.on_step_begin(1, trials)  # look 1 reached, undecided (no spread in a 0 gain? noise): look 2 opens
    assert gate.allowed == 32 and not gate.stopped and searcher.suggest("y") == configs[16]
    assert (
        "look 1 (4 seeds per arm): dice-0.1 continue, seed-0.1 continue; on to look 2 (8 seeds)"
        in capsys.readouterr().out
    )


def test_the_gate_stops_the_study_when_every_comparison_is_decided(tmp_path: Path, capsys) -> None:
    schedule = _schedule(tmp_path)
    gate = LookGate(schedule, "test_ensemble_acc")
    searcher = ListSearcher([{"seed": s} for s in range(32)], metric="ensemble_acc", mode="max", gate=gate)
    for i in range(16):
        searcher.suggest(str(i))
    gate.on_step_begin(0, _clear_trials(schedule, list(range(4000, 4004)), gain=0.05))  # +5 pp, sd 0.14 pp
    assert gate.stopped and gate.allowed == 16
    assert searcher.suggest("z") == ListSearcher.FINISHED
    assert "dice-0.1 better, seed-0.1 better; every registered comparison is decided" in capsys.readouterr().out


def test_a_searcher_without_a_gate_or_pickled_before_gates_proposes_everything() -> None:
    searcher = ListSearcher([{"seed": 1}, {"seed": 2}], metric="ensemble_acc", mode="max")
    del searcher.gate  # as one unpickled from a run before gates existed
    assert [searcher.suggest("a"), searcher.suggest("b"), searcher.suggest("c")] == [
        {"seed": 1},
        {"seed": 2},
        ListSearcher.FINISHED,
    ]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".md", ".csv")}


def test_report_only_writes_the_decision_and_rebuilds_it_to_the_same_bytes(tmp_path: Path, capsys) -> None:
    storage = tmp_path / "storage"
    shutil.copytree(RESULTS, storage / "features_last_conv")
    path = _study_file(tmp_path)
    request = StudyRequest(str(path), storage=str(storage), report_only=True)
    assert run_study_request(request) == 0
    folder = storage / "features_last_conv"
    first = _snapshot(folder)
    assert run_study_request(request) == 0
    assert _snapshot(folder) == first
    summary = first["summary.md"].decode()
    assert "## Sequential decision (registered looks)" in summary
    assert "**Ran to the last look (8 seeds per arm)**" in summary
    assert summary.index("## Sequential decision") < summary.index("## Verdict")
    rows = list(csv.DictReader((folder / SEQUENTIAL_CSV).open(encoding="utf-8")))
    assert [(r["arm"], r["look"], r["decision"]) for r in rows] == [
        ("dice-0.1", "1", "continue"),
        ("dice-0.1", "2", "equivalent"),
        ("seed-0.1", "1", "continue"),
        ("seed-0.1", "2", "undecided"),
    ]
    assert {r["study_stopped_at"] for r in rows} == {"2"}
    assert "Sequential decision: Ran to the last look" in capsys.readouterr().out


def test_a_study_without_looks_reports_as_before(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    shutil.copytree(RESULTS, storage / "features_last_conv")
    (storage / "features_last_conv" / SEQUENTIAL_CSV).unlink(missing_ok=True)
    request = StudyRequest(str(_study_file(tmp_path, "")), storage=str(storage), report_only=True)
    assert run_study_request(request) == 0
    folder = storage / "features_last_conv"
    assert "Sequential" not in (folder / "summary.md").read_text() and not (folder / SEQUENTIAL_CSV).exists()


TINY = """\
name: tiny-seq
dataset: digits
seeds: 8
first_seed: 10
effect: 0.01
deep_ensemble: false
sequential: {looks: [4, 8]}
fixed: {classifier: simple3, epochs: 2, batch_size: 64}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
"""


def test_a_study_stops_on_its_own_at_the_first_look(tmp_path: Path, monkeypatch, capsys) -> None:
    """The runner's part is faked (the runs of look 1 only, as the gate lets through); the rest is real."""
    started: list[LookSchedule | None] = []

    def run_compare(plan: ComparePlan, resume: bool = False, looks: LookSchedule | None = None) -> None:
        started.append(looks)
        plan.save()
        runs = CompareRuns(plan)
        for seed in plan.seeds[:4]:
            for arm in plan.arms:
                runs.run(arm.name, seed, p_right=0.95 if arm.name == "dice-0.1" else 0.5)
        runs.writer.save_state()

    monkeypatch.setattr(sweep.backend.connection, "connect", lambda *a, **k: RayInfo("local", None, True, 2.0, 0.0))
    monkeypatch.setattr(compare_command, "run_compare", run_compare)
    monkeypatch.setattr(study_command, "estimate_study", lambda *a, **k: Estimate(16, 2, {}, 60.0, None, "", math.nan))
    path = tmp_path / "tiny-seq.yaml"
    path.write_text(TINY)
    storage = tmp_path / "storage"
    code = run_study_request(StudyRequest(str(path), storage=str(storage), unregistered=True))
    out = capsys.readouterr().out
    assert code == 0, out
    (looks,) = started
    assert looks is not None and looks.design.looks == (4, 8) and looks.runs_at(1) == 8
    summary = (storage / "tiny-seq" / "summary.md").read_text()
    assert "**Stopped at look 1 of 2 (4 seeds per arm): every registered comparison was decided**" in summary
    assert "look 1: 4 seeds (information 0.50)" in out and "Sequential decision: Stopped at look 1" in out
    assert "  dice-0.1: better (look 1, 4 seeds)" in out


def test_the_gate_and_its_searcher_stay_one_gate_through_tunes_pickle(tmp_path: Path) -> None:
    """Tune pickles the searcher and the callbacks together (tuner.pkl); a restore must get one gate back."""
    import ray.cloudpickle as cloudpickle

    schedule = _schedule(tmp_path)
    gate = LookGate(schedule, "test_ensemble_acc")
    searcher = ListSearcher([{"seed": s} for s in range(32)], metric="ensemble_acc", mode="max", gate=gate)
    restored_searcher, (restored_gate,) = cloudpickle.loads(cloudpickle.dumps((searcher, [gate])))
    assert restored_searcher.gate is restored_gate and restored_gate.allowed == 16
    restored_gate.on_step_begin(0, _clear_trials(schedule, list(range(4000, 4004)), gain=0.05))
    assert restored_searcher.suggest("a") == ListSearcher.FINISHED
