#!/usr/bin/env python
"""The pilot's two choices (issue 23, item 3), made on validation only by the rules of docs/results/pilot/PLAN.md.

    python -m scripts.pilot_choice budget experiments/pilot_budget_fmnist experiments/pilot_budget_shirts
    python -m scripts.pilot_choice view experiments/pilot_view

Each folder is a finished study's: its ``compare.json`` gives every arm's settings (the
budget, the pairing, D's view) and its ``runs.csv`` the runs. Only the ``val_`` columns of
``runs.csv`` are read (each run's validation numbers after its last epoch); the test
columns beside them are not. Every run must be complete: a partial pilot chooses nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from sweep.compare.gather import RUNS_CSV, read_runs_csv
from sweep.compare.plan import load_compare_plan
from sweep.spaces.replication import INERT_DISC_ACC

__all__ = ["DEFAULT_VIEW", "KEEP_DEFAULT_WITHIN", "TIE_WITHIN", "Budget", "BudgetScore", "ViewScore", "budget_of"]
__all__ += ["gain_of", "mean_of", "choose_budget", "choose_view", "main", "read_study", "score_budgets", "score_views"]

TIE_WITHIN = 0.0010  # budgets whose deep-ensemble gain is within 0.10 pp of the best tie: the cheapest wins
KEEP_DEFAULT_WITHIN = 0.0030  # another view must beat pooled absdiff by 0.30 pp of ensemble accuracy to replace it
DEFAULT_VIEW = ("mlp", "absdiff")  # (disc_arch, disc_combine): today's view


@dataclass(frozen=True)
class Budget:
    dataset: str
    width: float
    train_size: int
    epochs: int
    val_size: int

    @property
    def cost(self) -> float:
        """Convolution work of one member: width squared x training images x epochs."""
        return self.width**2 * self.train_size * self.epochs

    def yaml_lines(self) -> list[str]:
        """The lines marked ``# BUDGET`` in studies/pilot_view.yaml, for this budget."""
        keys = ("width", "train_size", "val_size", "epochs")
        return [f"dataset: {self.dataset}  # BUDGET", *(f"  {k}: {getattr(self, k)}  # BUDGET" for k in keys)]


@dataclass(frozen=True)
class BudgetScore:
    budget: Budget
    seeds: int
    deep_gain: float  # mean over seeds: deep ensemble's val ensemble acc - its val mean member acc
    deep_member: float  # mean over seeds: the deep ensemble's val mean member accuracy
    shared_gain: float  # the same gain for the shared pair (descriptive); NaN without one


@dataclass(frozen=True)
class ViewScore:
    view: tuple[str, str]  # (disc_arch, disc_combine)
    arm: str
    seeds: int
    ensemble: float  # mean over seeds of val ensemble accuracy
    gain: float  # mean over seeds of val ensemble acc - val mean member acc (descriptive)
    disc_acc: float  # mean over seeds of val disc_acc (D's accuracy on validation pairs)


def read_study(folder: Path) -> list[tuple[dict[str, Any], dict[str, float | int]]]:
    """(arm settings, the run's val_ values) of every run; SystemExit if a run is not complete or has none."""
    arms = {arm.name: arm.config for arm in load_compare_plan(folder).arms}
    out = []
    for run in read_runs_csv(folder / RUNS_CSV):
        if run.status != "complete":
            raise SystemExit(f"{folder}: run {run.arm}/{run.seed} is {run.status}: finish the study (--resume) first")
        if "ensemble_acc" not in run.validation or "member_acc" not in run.validation:
            raise SystemExit(f"{folder}: run {run.arm}/{run.seed} has no val_ columns in {RUNS_CSV}")
        out.append(({**arms[run.arm], "arm": run.arm}, run.validation))
    return out


def budget_of(config: dict[str, Any]) -> Budget:
    keys = ("dataset", "width", "train_size", "epochs", "val_size")
    return Budget(*(t(config[k]) for t, k in zip((str, float, int, int, int), keys)))


def gain_of(val: dict[str, float | int]) -> float:
    """Ensemble accuracy minus mean member accuracy: what ensembling the pair adds."""
    return float(val["ensemble_acc"]) - float(val["member_acc"])


def mean_of(vals: list[dict[str, float | int]], key: str) -> float:
    return mean(float(v.get(key, float("nan"))) for v in vals)


def score_budgets(runs: list[tuple[dict[str, Any], dict[str, float | int]]]) -> list[BudgetScore]:
    """One score per budget that has deep-ensemble runs (pairing separate), by dataset then cost."""
    groups: dict[Budget, dict[str, list[dict[str, float | int]]]] = {}
    for config, val in runs:
        groups.setdefault(budget_of(config), {}).setdefault(config.get("pairing") or "shared", []).append(val)
    scores = []
    for budget, by in groups.items():
        deep, shared = by.get("separate", []), by.get("shared", [])
        if deep:
            shared_gain = mean(map(gain_of, shared)) if shared else float("nan")
            scores.append(
                BudgetScore(budget, len(deep), mean(map(gain_of, deep)), mean_of(deep, "member_acc"), shared_gain)
            )
    datasets = list(dict.fromkeys(s.budget.dataset for s in scores))
    return sorted(scores, key=lambda s: (datasets.index(s.budget.dataset), s.budget.cost))


def choose_budget(scores: list[BudgetScore]) -> BudgetScore:
    """The largest deep-ensemble gain; budgets within TIE_WITHIN of it tie, and the cheapest of them wins."""
    best = max(s.deep_gain for s in scores)
    tied = [s for s in scores if s.deep_gain >= best - TIE_WITHIN]
    return min(tied, key=lambda s: (s.budget.cost, -s.deep_gain))


def score_views(runs: list[tuple[dict[str, Any], dict[str, float | int]]]) -> list[ViewScore]:
    """One score per `dice` arm (its view: disc_arch, disc_combine), in first-seen order."""
    by_arm: dict[str, tuple[tuple[str, str], list[dict[str, float | int]]]] = {}
    for config, val in runs:
        if config.get("objective") == "dice":
            view = (str(config.get("disc_arch", "mlp")), str(config.get("disc_combine", "absdiff")))
            by_arm.setdefault(config["arm"], (view, []))[1].append(val)
    return [
        ViewScore(
            view, arm, len(vals), mean_of(vals, "ensemble_acc"), mean(map(gain_of, vals)), mean_of(vals, "disc_acc")
        )
        for arm, (view, vals) in by_arm.items()
    ]


def choose_view(scores: list[ViewScore]) -> ViewScore:
    """The live view (mean disc_acc >= INERT_DISC_ACC) with the highest ensemble accuracy; pooled
    absdiff stays unless another live view beats it by KEEP_DEFAULT_WITHIN or more."""
    live = [s for s in scores if s.disc_acc >= INERT_DISC_ACC]
    if not live:
        raise SystemExit("every view's discriminator is inert (mean val disc_acc < 0.55): no view is chosen")
    best = max(live, key=lambda s: s.ensemble)
    default = next((s for s in live if s.view == DEFAULT_VIEW), None)
    if default is not None and best.ensemble - default.ensemble < KEEP_DEFAULT_WITHIN:
        return default
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["budget", "view"])
    parser.add_argument("folders", nargs="+", type=Path, help="the stage's finished study folders")
    args = parser.parse_args(argv)
    runs = [r for folder in args.folders for r in read_study(folder)]
    if args.stage == "budget":
        scores = score_budgets(runs)
        print("budget | seeds | deep ensemble: gain, mean member | shared pair: gain (validation, pp)")
        for s in scores:
            gains = f"{100 * s.deep_gain:+.2f}, {100 * s.deep_member:.2f} | {100 * s.shared_gain:+.2f}"
            print(f"{s.budget} | {s.seeds} | {gains}")
        for dataset in dict.fromkeys(s.budget.dataset for s in scores):
            print(f"best of {dataset}: {choose_budget([s for s in scores if s.budget.dataset == dataset]).budget}")
        chosen = choose_budget(scores)
        print(f"chosen for the view stage: {chosen.budget}; studies/pilot_view.yaml's BUDGET lines:")
        print("\n".join(chosen.budget.yaml_lines()))
    else:
        views = score_views(runs)
        print("arm | disc_arch, combine | seeds | ensemble acc | gain (pp) | disc_acc (validation)")
        for v in views:
            numbers = f"{100 * v.ensemble:.2f} | {100 * v.gain:+.2f} | {v.disc_acc:.3f}"
            print(f"{v.arm} | {v.view[0]}, {v.view[1]} | {v.seeds} | {numbers}")
        chosen = choose_view(views)
        print(f"chosen view: disc_arch {chosen.view[0]}, disc_combine {chosen.view[1]} ({chosen.arm})")


if __name__ == "__main__":
    main()
