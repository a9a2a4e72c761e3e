"""Search quality: does the space's sampler (TPE) find a better Pareto front than random search?

Run from the repository root::

    python -m bench.search_quality                  # the measurement (10-20 minutes on 2 cores)
    python -m bench.search_quality --json out.json  # also save every number
    python -m bench.search_quality --quick          # a tiny smoke run: its numbers mean nothing

For each sampler seed (``--seeds``, default 0 1 2) and each sampler (``tpe``, the
``loss_weights`` space's own, and ``random``), one real sweep with the Tuner that
``sweep.run.runner`` builds (``bench.sweep_overhead.timed_fit``): the ``loss_weights``
space with only ``sampler`` and ``seed`` changed (and ``baseline: false``: the
baseline is not a point of the search), on digits, ``--trials`` (16) trials of ``--epochs`` (3) epochs, batch 64,
2 concurrent on a Ray with 2 CPUs. The trials' own seed (TrialConfig ``seed``)
stays 0, so two trials with the same params train the same way.

Quality = the hypervolume dominated by the sweep's trials on the space's
objectives (``ensemble_acc`` max and ``excess_agreement`` min), against the
reference point made of each objective's worst possible value (``WORST``:
accuracy 0; excess agreement, a covariance of two 0/1 variables, 0.25): the
area of the union of the boxes between that point and each trial, which is that
of the Pareto front. Target: mean over the seeds of
TPE's hypervolume >= random search's.

Read it knowing that TPE samples its first ``n_startup_trials`` (10, Optuna's
default) *at random* with a ``RandomSampler`` of the same seed, so with the same
seed both samplers propose the same first trials, and with 2 trials running at
once TPE's model starts only when 10 have *finished*. Of 16 trials, at most 6 are
model-guided. The table shows how many leading trials were identical, and the
hypervolume of the first 10 trials besides that of all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.machine import load_average, machine_info
from bench.sweep_overhead import bench_plan, timed_fit
from sweep.formatting import text_table
from sweep.report import pareto_front

__all__ = [
    "SAMPLERS",
    "WORST",
    "SweepOutcome",
    "hypervolume_2d",
    "identical_prefix",
    "main",
    "reference_point",
    "run_one",
    "summarize",
]

SAMPLERS = ("tpe", "random")  # the space's default, and the reference it must match or beat

# The worst value each objective can take: the hypervolume's reference point. Fractions
# are in [0, 1]; excess_agreement = P(both right) - acc_1 * acc_2 is the covariance of two
# 0/1 variables, so it lies in [-0.25, 0.25]; Yule's Q lies in [-1, 1].
WORST: dict[str, float] = {
    "acc_1": 0.0,
    "acc_2": 0.0,
    "member_acc": 0.0,
    "min_member_acc": 0.0,
    "ensemble_acc": 0.0,
    "disagreement": 0.0,
    "double_fault": 1.0,
    "excess_agreement": 0.25,
    "q_statistic": 1.0,
}


def reference_point(objectives: Sequence[str]) -> tuple[float, ...]:
    """The hypervolume's reference: each objective's worst value (``WORST``)."""
    unknown = [o for o in objectives if o not in WORST]
    if unknown:
        raise ValueError(f"no known worst value for objective(s) {unknown}; known: {', '.join(WORST)}")
    return tuple(WORST[o] for o in objectives)


SPACE = "loss_weights"
STARTUP_TRIALS = 10  # Optuna's TPESampler default n_startup_trials (create_sampler keeps it)


def hypervolume_2d(points: Sequence[Sequence[float]], reference: Sequence[float], directions: Sequence[str]) -> float:
    """Area dominated by ``points`` and bounded by ``reference``, for two objectives.

    ``directions`` holds ``"max"`` or ``"min"`` per objective. A point counts only
    where it is strictly better than the reference on both objectives. The union of
    the boxes [reference, point] is swept in order of the first objective, best
    first: each point adds the strip by which it raises the best second objective
    seen so far, as wide as its own first-objective gain.
    """
    if len(reference) != 2 or len(directions) != 2:
        raise ValueError(
            f"hypervolume_2d needs 2 objectives, got reference {list(reference)!r} and directions {list(directions)!r}"
        )
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"each direction must be 'max' or 'min', but got {d!r}")
    if not all(math.isfinite(r) for r in reference):
        raise ValueError(f"the reference point must be finite, got {list(reference)!r}")
    gains: list[tuple[float, float]] = []
    for i, point in enumerate(points):
        if len(point) != 2:
            raise ValueError(f"point {i} must have 2 values, got {list(point)!r}")
        if not all(math.isfinite(v) for v in point):
            raise ValueError(f"point {i} has a value that is not finite: {list(point)!r}")
        g = tuple((v - r) if d == "max" else (r - v) for v, r, d in zip(point, reference, directions))
        if g[0] > 0 and g[1] > 0:
            gains.append((g[0], g[1]))
    area, best_second = 0.0, 0.0
    for first, second in sorted(gains, reverse=True):
        if second > best_second:
            area += first * (second - best_second)
            best_second = second
    return area


# --------------------------------------------------------------------- sweeps
@dataclass
class SweepOutcome:
    sampler: str
    seed: int
    wall_s: float
    objectives: list[str]
    directions: list[str]
    params: list[dict[str, Any]]  # each trial's searched params, in the order Tune created the trials
    values: list[list[float]]  # each complete trial's objective values, same order
    statuses: list[str]

    def hypervolume(self, first: int | None = None) -> float:
        """Hypervolume of the first ``first`` trials (all when None), reference: the worst point."""
        points = self.values if first is None else self.values[:first]
        return hypervolume_2d(points, reference_point(self.objectives), self.directions)


def _space_file(folder: Path, sampler: str, seed: int) -> Path:
    """The shipped space with only ``sampler``, ``seed``, ``baseline`` (and the name) changed."""
    from sweep.spaces import resolve_space_path

    raw = yaml.safe_load(resolve_space_path(SPACE).read_text(encoding="utf-8"))
    raw.update(name=f"{SPACE}-{sampler}-seed{seed}", sampler=sampler, seed=seed, baseline=False)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_one(
    storage: str, sampler: str, seed: int, *, trials: int, epochs: int, train_size: int | None, cpus: float, gpus: float
) -> SweepOutcome:
    """One real sweep with ``sampler`` seeded ``seed``; its trials as the searcher's Optuna study holds them.

    The study, not Tune's experiment folder, gives the order in which the trials
    were proposed (its trial numbers): Tune's saved trial list is not in that order.
    """
    space_path = _space_file(Path(storage) / "spaces", sampler, seed)
    overrides = ["batch_size=64"] + ([f"train_size={train_size}"] if train_size else [])
    plan, space = bench_plan(
        storage,
        f"quality-{sampler}-seed{seed}",
        space=str(space_path),
        trials=trials,
        cpus=cpus,
        gpus=gpus,
        epochs=epochs,
        overrides=overrides,
    )
    if space.sampler != sampler or space.seed != seed or plan.baseline:
        raise RuntimeError(
            f"the space copy did not take: sampler {space.sampler}, seed {space.seed}, baseline {plan.baseline}"
        )
    timing = timed_fit(plan, space, None, reuse_actors=True)  # the runner's own Tuner
    proposed = sorted(timing.study.trials, key=lambda t: t.number)
    values = []
    for trial in proposed:
        point = list(trial.values or [])
        if len(point) != len(space.objectives) or not all(math.isfinite(v) for v in point):
            raise RuntimeError(
                f"{sampler} seed {seed}: Optuna trial {trial.number} has objective values "
                f"{trial.values!r}; the comparison needs every trial complete"
            )
        values.append(point)
    return SweepOutcome(
        sampler=sampler,
        seed=seed,
        wall_s=timing.wall_s,
        objectives=space.metric_names(),
        directions=[o.direction for o in space.objectives],
        params=[dict(t.params) for t in proposed],
        values=values,
        statuses=[t.state.name.lower() for t in proposed],
    )


def identical_prefix(a: SweepOutcome, b: SweepOutcome) -> int:
    """How many leading trials the two sweeps proposed with the same params."""
    n = 0
    for pa, pb in zip(a.params, b.params):
        if pa != pb:
            break
        n += 1
    return n


def summarize(outcomes: Sequence[SweepOutcome], startup: int) -> dict[str, Any]:
    by = {(o.sampler, o.seed): o for o in outcomes}
    seeds = sorted({o.seed for o in outcomes})
    per_seed: list[dict[str, Any]] = []
    for seed in seeds:
        tpe, rnd = by[("tpe", seed)], by[("random", seed)]
        per_seed.append(
            {
                "seed": seed,
                "hv": {s: by[(s, seed)].hypervolume() for s in SAMPLERS},
                "hv_first": {s: by[(s, seed)].hypervolume(startup) for s in SAMPLERS},
                "front_size": {s: _front_size(by[(s, seed)]) for s in SAMPLERS},
                "identical_leading_trials": identical_prefix(tpe, rnd),
            }
        )
    mean = {s: statistics.mean(row["hv"][s] for row in per_seed) for s in SAMPLERS}
    mean_first = {s: statistics.mean(row["hv_first"][s] for row in per_seed) for s in SAMPLERS}
    return {
        "per_seed": per_seed,
        "mean_hv": mean,
        "mean_hv_first": mean_first,
        "tpe_wins": sum(row["hv"]["tpe"] > row["hv"]["random"] for row in per_seed),
        "passed": mean["tpe"] >= mean["random"],
    }


def _front_size(outcome: SweepOutcome) -> int:
    return len(pareto_front(outcome.values, outcome.directions)) if outcome.values else 0


def table(summary: dict[str, Any], trials: int, startup: int) -> str:
    header = (
        "seed",
        f"HV tpe ({trials})",
        f"HV random ({trials})",
        "front tpe/random",
        f"HV tpe (first {startup})",
        f"HV random (first {startup})",
        "same leading trials",
    )
    body = [
        (
            str(row["seed"]),
            f"{row['hv']['tpe']:.4f}",
            f"{row['hv']['random']:.4f}",
            f"{row['front_size']['tpe']}/{row['front_size']['random']}",
            f"{row['hv_first']['tpe']:.4f}",
            f"{row['hv_first']['random']:.4f}",
            str(row["identical_leading_trials"]),
        )
        for row in summary["per_seed"]
    ]
    body.append(
        (
            "mean",
            f"{summary['mean_hv']['tpe']:.4f}",
            f"{summary['mean_hv']['random']:.4f}",
            "",
            f"{summary['mean_hv_first']['tpe']:.4f}",
            f"{summary['mean_hv_first']['random']:.4f}",
            "",
        )
    )
    verdict = text_table(
        ("measure", "value", "target", "result"),
        [
            (
                f"mean HV tpe - mean HV random ({trials} trials)",
                f"{summary['mean_hv']['tpe'] - summary['mean_hv']['random']:+.4f}",
                ">= 0",
                "PASS" if summary["passed"] else "FAIL",
            )
        ],
    )
    return text_table(header, body) + "\n\n" + verdict


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.search_quality", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="seed 0, 3 trials x 1 epoch on 200 examples: a smoke run whose numbers mean nothing",
    )
    p.add_argument("--seeds", type=int, nargs="+", help="sampler seeds (default 0 1 2)")
    p.add_argument("--trials", type=int, help="trials per sweep (default 16)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default 3)")
    p.add_argument("--train-size", type=int, help="training examples per trial (default: all of digits)")
    p.add_argument("--storage", help="keep the results folders here (default: a temporary folder, removed)")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import ray

    from sweep.backend.connection import connect

    args = _parse(argv)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    trials = args.trials or (3 if args.quick else 16)
    epochs = args.epochs or (1 if args.quick else 3)
    train_size = args.train_size or (200 if args.quick else None)
    if not seeds or min(trials, epochs) < 1:
        raise SystemExit(f"need at least one seed and --trials, --epochs >= 1; got {seeds}, {trials}, {epochs}")
    startup = min(STARTUP_TRIALS, trials)
    storage = args.storage or tempfile.mkdtemp(prefix="netsep-bench-quality-")
    print(f"load average before: {load_average():.2f} ({os.cpu_count()} CPUs)", flush=True)
    outcomes: list[SweepOutcome] = []
    try:
        info = connect(None, dashboard=False, num_cpus=2)
        for seed in seeds:
            for sampler in SAMPLERS:
                one = run_one(
                    storage,
                    sampler,
                    seed,
                    trials=trials,
                    epochs=epochs,
                    train_size=train_size,
                    cpus=info.cpus,
                    gpus=info.gpus,
                )
                outcomes.append(one)
                print(
                    f"[{sampler} seed {seed}] {len(one.values)} trials in {one.wall_s:.0f} s, "
                    f"HV {one.hypervolume():.4f}",
                    flush=True,
                )
    finally:
        ray.shutdown()
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    summary = summarize(outcomes, startup)
    print()
    print(
        f"Search quality on {SPACE} (digits, {epochs} epochs, batch 64"
        f"{f', train_size {train_size}' if train_size else ''}): hypervolume of "
        f"{' x '.join(outcomes[0].objectives)} (both {'/'.join(outcomes[0].directions)}), reference {reference_point(outcomes[0].objectives)}, "
        f"{trials} trials per sweep, 2 concurrent"
    )
    print(table(summary, trials, startup))
    print(
        f"\nTPE samples its first {STARTUP_TRIALS} trials at random (n_startup_trials): at most "
        f"{max(0, trials - STARTUP_TRIALS)} of {trials} are model-guided."
    )
    if args.json:
        saved = {
            "benchmark": "search_quality",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.search_quality", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "settings": {
                "space": SPACE,
                "data": "digits",
                "seeds": seeds,
                "trials": trials,
                "epochs": epochs,
                "batch_size": 64,
                "train_size": train_size,
                "samplers": list(SAMPLERS),
                "reference_point": list(reference_point(outcomes[0].objectives)),
                "startup_trials": STARTUP_TRIALS,
                "concurrent": 2,
            },
            "summary": summary,
            "sweeps": [asdict(o) | {"hv": o.hypervolume()} for o in outcomes],
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
