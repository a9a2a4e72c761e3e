"""Compare mode: retrain a sweep's best configurations and its baseline over paired seeds.

    python launch.py compare experiments/<name> --seeds 3 --top 2

Arms are the top-N Pareto configurations of the sweep (best first on its first
objective) and the ``independent`` baseline with the same fixed settings, seeing the
data the way the arms do. Every arm runs with the same K seeds; seed s of every arm
shares the data order, the augmentation and the first classifier's initialisation
(``trainable.loop.build_models``), so the differences are paired. The seeds start
at ``--first-seed`` (default 1000), away from the sweep's own seed, so the front's
selection on that seed does not flatter it (the winner's curse).

The runs are one Ray Tune experiment under ``<sweep>/compare/tune`` (parallel,
checkpointed, resumable with ``--resume``). Afterwards each run's per-example test
predictions are gathered into ``correctness.npz`` so every statistic can be
recomputed without retraining; ``sweep.compare_report`` writes the tables, figures
and the verdict.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sweep.errors import UserError
from sweep.baselines import BASELINE_ARM

__all__ = [
    "COMPARE_DIR", "Arm", "ComparePlan", "Run", "plan_compare", "run_compare", "collect_runs",
    "load_compare_plan", "CompareRequest", "run_compare_request",
]

COMPARE_DIR = "compare"
PLAN_FILE = "compare.json"
RUNS_CSV = "runs.csv"
CORRECTNESS_NPZ = "correctness.npz"
_NOT_COMPARED = ("seed", "arm")  # keys every arm sets per run


@dataclass(frozen=True)
class Arm:
    name: str  # "baseline", "front-1", ... (baseline-split / baseline-shared when both exist)
    source_trial: str  # the sweep trial it comes from ("" for a baseline without one)
    config: dict[str, Any]  # the trial config without seed and arm
    is_baseline: bool


@dataclass(frozen=True)
class ComparePlan:
    sweep_dir: str
    compare_dir: str
    seeds: list[int]
    arms: list[Arm]
    objectives: list[str]  # the sweep's objectives, first is primary
    directions: list[str]
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    max_failures: int = 2
    address: str | None = None

    @property
    def tune_path(self) -> str:
        return str(Path(self.compare_dir) / "tune")

    def run_configs(self) -> list[dict[str, Any]]:
        """One config per (seed, arm): seeds outermost, so early seeds finish first."""
        return [{**arm.config, "seed": seed, "arm": arm.name} for seed in self.seeds for arm in self.arms]

    def baseline_for(self, arm: Arm) -> Arm:
        """The baseline that sees the data as ``arm`` does."""
        from trainable.config import TrialConfig

        pairing = TrialConfig.from_dict(arm.config).effective_pairing
        for b in self.arms:
            if b.is_baseline and TrialConfig.from_dict(b.config).effective_pairing == pairing:
                return b
        raise KeyError(f"no baseline with pairing {pairing!r} for arm {arm.name!r}")

    def save(self) -> None:
        folder = Path(self.compare_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PLAN_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")


def load_compare_plan(compare_dir: str | Path) -> ComparePlan:
    path = Path(compare_dir) / PLAN_FILE
    if not path.is_file():
        raise UserError(f"{compare_dir}: no {PLAN_FILE}; run `launch.py compare SWEEP_DIR --seeds K` first")
    raw = json.loads(path.read_text())
    raw["arms"] = [Arm(**a) for a in raw["arms"]]
    return ComparePlan(**raw)


# ------------------------------------------------------------------------ planning
def _arm_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _NOT_COMPARED}


def plan_compare(sweep_dir: str | Path, seeds: int, top: int, first_seed: int = 1000,
                 compare_dir: str | Path | None = None) -> ComparePlan:
    """Arms from a finished sweep's front plus matching baselines; validates, writes nothing."""
    from sweep.results import write_report
    from trainable.config import TrialConfig

    sweep_dir = Path(sweep_dir)
    report = write_report(sweep_dir)  # also validates the folder (UserError otherwise)
    if not report.pareto:
        raise UserError(f"{sweep_dir}: the sweep has no complete trial on its Pareto front to compare "
                        "(see its summary.md); finish it with --resume first")
    front = report.pareto[:top]
    arms = [Arm(f"front-{i + 1}", t.trial_id, _arm_config(t.config), False) for i, t in enumerate(front)]
    pairings = sorted({TrialConfig.from_dict(a.config).effective_pairing for a in arms})
    template = _arm_config(front[0].config)
    fixed_keys = set(report.plan.fixed)
    for pairing in pairings:
        sweep_baseline = next((b for b in report.baselines
                               if TrialConfig.from_dict(b.config).effective_pairing == pairing), None)
        if sweep_baseline is not None:
            config = _arm_config(sweep_baseline.config)
        else:  # the sweep ran none: the fixed settings, no discriminator
            config = {k: v for k, v in template.items() if k in fixed_keys}
            config.update(objective="independent", w_adv=0.0, pairing=pairing)
        name = BASELINE_ARM if len(pairings) == 1 else f"{BASELINE_ARM}-{pairing}"
        arms.append(Arm(name, sweep_baseline.trial_id if sweep_baseline else "", config, True))
    for arm in arms:
        TrialConfig.from_dict({**arm.config, "seed": first_seed, "arm": arm.name})
    out = Path(compare_dir) if compare_dir else sweep_dir / COMPARE_DIR
    directions = ["max" if o.direction == "max" else "min" for o in report.space.objectives]
    return ComparePlan(
        sweep_dir=str(sweep_dir.resolve()), compare_dir=str(out.resolve()),
        seeds=[first_seed + k for k in range(seeds)], arms=arms,
        objectives=report.space.metric_names(), directions=directions,
    )


# ------------------------------------------------------------------------- running
def _tune_spec(plan: ComparePlan) -> Any:
    from sweep.tune_assembly import TuneSpec

    return TuneSpec(
        name="tune", storage_path=plan.compare_dir, num_samples=len(plan.run_configs()),
        cpus_per_trial=plan.cpus_per_trial or 1.0, gpus_per_trial=plan.gpus_per_trial or 0.0,
        max_failures=plan.max_failures, keep_checkpoints=1,
        metric_columns=["ensemble_acc", "member_acc", "disagreement", "epoch"], parameter_columns=["arm", "seed"],
        max_concurrent=plan.max_concurrent,
    )


def run_compare(plan: ComparePlan, resume: bool = False) -> None:
    from sweep.searcher import ListSearcher
    from sweep.tune_assembly import make_tuner, restore_tuner

    if resume:
        tuner = restore_tuner(plan.tune_path, _tune_spec(plan), where=plan.compare_dir)
    else:
        plan.save()
        tuner = make_tuner(_tune_spec(plan), ListSearcher(plan.run_configs(), metric="ensemble_acc", mode="max"))
    tuner.fit()


# ------------------------------------------------------------------------ gathering
@dataclass
class Run:
    arm: str
    seed: int
    trial_id: str
    status: str  # complete | error | interrupted
    reason: str
    metrics: dict[str, float]
    checkpoint: str


def _last_result(path: Path) -> dict[str, Any]:
    last: dict[str, Any] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash
            if isinstance(row, dict):
                last = row
    return last


def collect_runs(plan: ComparePlan) -> list[Run]:
    """Every run found in the compare experiment folder, read from disk alone."""
    from sweep.results import error_reason
    from trainable.metric_names import METRICS

    runs: list[Run] = []
    tune_dir = Path(plan.tune_path)
    for trial_dir in sorted(tune_dir.glob("trial_*")):
        params_file = trial_dir / "params.json"
        if not params_file.is_file():
            continue
        config = json.loads(params_file.read_text())
        last = _last_result(trial_dir / "result.json")
        checkpoints = sorted(trial_dir.glob("checkpoint_*"))
        error_file = trial_dir / "error.txt"
        epochs = int(last.get("epoch", 0) or 0)
        if error_file.is_file():
            status, reason = "error", error_reason(error_file.read_text())
        elif epochs >= int(config.get("epochs", 0)) and checkpoints:
            status, reason = "complete", ""
        else:
            status, reason = "interrupted", f"{epochs} of {config.get('epochs')} epochs"
        metrics = {k: float(last[k]) for k in METRICS if isinstance(last.get(k), (int, float))}
        runs.append(Run(config.get("arm", ""), int(config.get("seed", -1)), trial_dir.name.removeprefix("trial_"),
                        status, reason, metrics, str(checkpoints[-1]) if checkpoints else ""))
    order = {a.name: i for i, a in enumerate(plan.arms)}
    runs.sort(key=lambda r: (order.get(r.arm, len(order)), r.seed))
    return runs


def write_runs(plan: ComparePlan, runs: list[Run]) -> Path:
    """runs.csv (one row per run) and correctness.npz (per-example, per model)."""
    from trainable.metric_names import METRICS
    from trainable.outputs import read_test_outputs

    folder = Path(plan.compare_dir)
    complete = [r for r in runs if r.status == "complete"]
    member, ensemble, labels = [], [], None
    for run in complete:
        outputs = read_test_outputs(run.checkpoint)
        if labels is None:
            labels = outputs.labels
        elif not np.array_equal(labels, outputs.labels):
            raise UserError(f"{run.checkpoint}: its test labels differ from the other runs' (mixed datasets?)")
        member.append(outputs.member_correct)
        ensemble.append(outputs.ensemble_correct)
    np.savez_compressed(
        folder / CORRECTNESS_NPZ,
        run_index=np.array([f"{r.arm}/{r.seed}" for r in complete]),
        member_correct=np.array(member, dtype=bool).reshape(len(complete), 2, -1),
        ensemble_correct=np.array(ensemble, dtype=bool).reshape(len(complete), -1),
        labels=labels if labels is not None else np.zeros(0, dtype=np.int64),
    )
    with (folder / RUNS_CSV).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arm", "seed", "trial_id", "status", "reason", *METRICS, "checkpoint"])
        for r in runs:
            writer.writerow([r.arm, r.seed, r.trial_id, r.status, r.reason,
                             *[_fmt(r.metrics.get(k)) for k in METRICS], r.checkpoint])
    return folder / CORRECTNESS_NPZ


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value)) if math.isfinite(value) else "nan"


# ------------------------------------------------------------------- command line
@dataclass(frozen=True)
class CompareRequest:
    """``launch.py compare DIR ...`` as a typed request (``sweep.cli`` builds it)."""

    sweep_dir: str
    seeds: int = 3
    top: int = 2
    first_seed: int = 1000
    address: str | None = None
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    resume: bool = False
    report_only: bool = False
    dashboard: bool = True


def run_compare_request(request: CompareRequest) -> int:
    args = argparse.Namespace(**{**asdict(request), "dir": request.sweep_dir,
                                 "no_dashboard": not request.dashboard})
    return _compare(args)


def _compare(args: argparse.Namespace) -> int:
    from sweep.compare_report import print_compare, write_compare_report
    from sweep.plan import default_max_concurrent
    from sweep.ray_connection import connect

    compare_dir = Path(args.dir) / COMPARE_DIR
    if args.report_only:
        print_compare(write_compare_report(load_compare_plan(compare_dir)))
        return 0
    if args.resume:
        plan = load_compare_plan(compare_dir)
    else:
        if (compare_dir / PLAN_FILE).exists():
            raise UserError(f"{compare_dir}: a compare run exists already; continue it with --resume, "
                            "rebuild its report with --report-only, or move it away")
        plan = plan_compare(args.dir, args.seeds, args.top, args.first_seed)
    info = connect(args.address or plan.address, dashboard=not args.no_dashboard)
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    if not args.resume:
        gpus_per_trial = args.gpus_per_trial if args.gpus_per_trial is not None else (0.25 if info.gpus else 0.0)
        cpus_per_trial = args.cpus_per_trial if args.cpus_per_trial is not None else 1.0
        plan = ComparePlan(**{
            **asdict(plan), "arms": plan.arms, "cpus_per_trial": cpus_per_trial, "gpus_per_trial": gpus_per_trial,
            "max_concurrent": args.max_concurrent or default_max_concurrent(info.cpus, info.gpus, cpus_per_trial,
                                                                          gpus_per_trial),
            "address": args.address,
        })
    print(f"netsep: compare {len(plan.arms)} arms x {len(plan.seeds)} seeds -> {plan.compare_dir}", flush=True)
    run_compare(plan, resume=args.resume)
    print_compare(write_compare_report(plan))
    return 0
