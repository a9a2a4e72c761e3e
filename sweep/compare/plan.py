"""Compare mode's plan: which arms, which seeds, what resources; saved as ``compare.json``.

Arms are the top-N Pareto configurations of a sweep (best first on its first
objective) and the ``independent`` baseline with the same fixed settings, seeing the
data the way the arms do (one baseline per pairing the arms use). Every arm runs
with the same K seeds, from ``first_seed`` (default 1000, away from the sweep's own
seed, so the front's selection on that seed does not flatter it: the winner's curse).

``plan_compare`` reads the sweep's folder and writes nothing; ``ComparePlan.save``
writes ``compare.json`` when the runs start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sweep.baselines import BASELINE_ARM, baseline_config, pairing_of
from sweep.errors import UserError
from sweep.folders import read_json_file, write_text_atomically
from sweep.plan import PLAN_FILE as SWEEP_PLAN_FILE
from sweep.report.build import build_report
from sweep.requests import DEFAULT_FIRST_SEED, ClusterOptions
from sweep.resources import resolve_trial_resources
from trainable.config import ConfigError, TrialConfig

__all__ = [
    "COMPARE_DIR",
    "PLAN_FILE",
    "DEEP_ENSEMBLE_ARM",
    "Arm",
    "ComparePlan",
    "baseline_arms",
    "check_arms",
    "deep_ensemble_arm",
    "plan_compare",
    "load_compare_plan",
    "with_resources",
]

COMPARE_DIR = "compare"  # under the sweep's results folder
PLAN_FILE = "compare.json"
TUNE_NAME = "tune"  # the Tune experiment under the compare folder
_NOT_COMPARED = ("seed", "arm", "final_test", "config_id", "replicate")  # keys every run sets itself
# The standard deep ensemble: `independent` members, each with its own data order and
# augmentation (pairing 'separate'); an extra reference arm beside the matched baseline(s).
DEEP_ENSEMBLE_ARM = "deep-ensemble"


@dataclass(frozen=True)
class Arm:
    name: str  # "baseline", "front-1", ... (baseline-split / baseline-shared when both exist)
    source_trial: str  # the sweep trial it comes from ("" for a baseline the sweep did not run)
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
    cpus_per_trial: float | None = None  # None until resolve_compare_resources
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    max_failures: int = 2  # retries of a run that raises, from its last checkpoint
    address: str | None = None
    study: str = ""  # a study's name when the arms come from a study file (sweep_dir is "" then)

    @property
    def tune_path(self) -> str:
        return str(Path(self.compare_dir) / TUNE_NAME)

    def run_configs(self) -> list[dict[str, Any]]:
        """One config per (seed, arm): seeds outermost, so early seeds finish first.

        Every run evaluates the test split once, after its last epoch (``final_test``):
        compare is the only place test numbers come from (docs/protocol.md section 1).
        """
        return [
            {**arm.config, "seed": seed, "arm": arm.name, "final_test": True}
            for seed in self.seeds
            for arm in self.arms
        ]

    def deep_ensemble(self) -> Arm | None:
        """The deep-ensemble arm; None in a plan saved before it existed."""
        return next((a for a in self.arms if a.name == DEEP_ENSEMBLE_ARM), None)

    def baseline_for(self, arm: Arm) -> Arm:
        """The baseline that sees the data as ``arm`` does."""
        pairing = pairing_of(arm.config)
        for b in self.arms:
            if b.is_baseline and b.name != DEEP_ENSEMBLE_ARM and pairing_of(b.config) == pairing:
                return b
        raise KeyError(f"no baseline with pairing {pairing!r} for arm {arm.name!r}")

    def save(self) -> None:
        folder = Path(self.compare_dir)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(folder / PLAN_FILE, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")


def load_compare_plan(compare_dir: str | Path) -> ComparePlan:
    """The saved plan, with its folders where they are now (the folder may have been moved or copied)."""
    folder = Path(compare_dir)
    path = folder / PLAN_FILE
    if not path.is_file():
        raise UserError(f"{compare_dir}: no {PLAN_FILE}; run `launch.py compare SWEEP_DIR --seeds K` first")
    raw = read_json_file(path, "a compare plan")
    try:
        raw["arms"] = [Arm(**a) for a in raw["arms"]]
        plan = ComparePlan(**raw)
    except (ValueError, TypeError, KeyError) as error:
        raise UserError(f"{path}: cannot be read as a compare plan ({type(error).__name__}: {error})") from None
    here = folder.resolve()
    sweep_dir = str(here.parent) if (here.parent / SWEEP_PLAN_FILE).is_file() else plan.sweep_dir
    return replace(plan, compare_dir=str(here), sweep_dir=sweep_dir)


def _arm_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _NOT_COMPARED}


def baseline_arms(arms: list[Arm], fixed: dict[str, Any], ran: dict[str, tuple[str, dict[str, Any]]]) -> list[Arm]:
    """One baseline per pairing the arms use: the one that ran (``ran[pairing]`` = (trial, config)),
    else built from the ``fixed`` settings."""
    pairings = sorted({pairing_of(a.config) for a in arms})
    out = []
    for pairing in pairings:
        trial, config = ran.get(pairing, ("", baseline_config(fixed, pairing)))
        name = BASELINE_ARM if len(pairings) == 1 else f"{BASELINE_ARM}-{pairing}"
        out.append(Arm(name, trial, _arm_config(config), True))
    return out


def deep_ensemble_arm(baseline: Arm) -> Arm:
    """The matched baseline's settings with each member on its own data order and augmentation."""
    return Arm(DEEP_ENSEMBLE_ARM, "", baseline_config(baseline.config, "separate"), True)


def check_arms(arms: list[Arm], where: str, seeds: Sequence[int]) -> None:
    """Every arm's settings make a valid trial config with every seed (``UserError`` naming the arm otherwise)."""
    for arm in arms:
        for seed in seeds:
            try:
                TrialConfig.from_dict({**arm.config, "seed": seed, "arm": arm.name, "final_test": True})
            except ConfigError as error:
                raise UserError(f"{where}: arm {arm.name}, seed {seed}: " + "; ".join(error.problems)) from None


def plan_compare(
    sweep_dir: str | Path,
    seeds: int,
    top: int,
    first_seed: int = DEFAULT_FIRST_SEED,
    compare_dir: str | Path | None = None,
) -> ComparePlan:
    """Arms from a finished sweep's front plus matching baselines; validates, writes nothing."""
    sweep_dir = Path(sweep_dir)
    report = build_report(sweep_dir)  # also validates the folder (UserError otherwise)
    if not report.pareto:
        raise UserError(
            f"{sweep_dir}: the sweep has no complete trial on its Pareto front to compare "
            "(see its summary.md); finish it with --resume first"
        )
    front = [Arm(f"front-{i + 1}", t.trial_id, _arm_config(t.config), False) for i, t in enumerate(report.pareto[:top])]
    # The baseline each pairing ran (its first seed's trial names it; the config is the same for every seed).
    ran = {b.effective_pairing: (b.trial_id, b.config) for b in reversed(report.baselines)}  # the first wins
    baselines = baseline_arms(front, report.plan.fixed, ran)
    arms = [*front, *baselines, deep_ensemble_arm(baselines[0])]
    all_seeds = [first_seed + k for k in range(seeds)]
    check_arms(arms, str(sweep_dir), all_seeds)
    out = Path(compare_dir) if compare_dir else sweep_dir / COMPARE_DIR
    return ComparePlan(
        sweep_dir=str(sweep_dir.resolve()),
        compare_dir=str(out.resolve()),
        seeds=all_seeds,
        arms=arms,
        objectives=report.objectives,
        directions=report.directions,
    )


def with_resources(
    plan: ComparePlan, cluster: ClusterOptions, cluster_cpus: float, cluster_gpus: float, *, address: str | None
) -> ComparePlan:
    """``plan`` with per-run resources resolved from ``cluster`` by the sweep's own rules (``sweep.resources``)."""
    devices = {arm.config.get("device") for arm in plan.arms}
    resources = resolve_trial_resources(
        cluster.cpus_per_trial,
        cluster.gpus_per_trial,
        cluster.max_concurrent,
        cluster_cpus,
        cluster_gpus,
        device="cpu" if "cpu" in devices else None,
    )
    return replace(
        plan,
        cpus_per_trial=resources.cpus_per_trial,
        gpus_per_trial=resources.gpus_per_trial,
        max_concurrent=resources.max_concurrent,
        address=address,
    )
