"""``launch.py compare-studies A B``: two finished studies (or compares), arm by arm, seed by seed.

    python launch.py compare-studies docs/results/features_last_conv docs/results/features_penultimate
    python launch.py compare-studies A B --out DIR      # also DIR/compare_studies.csv

Two registered studies that differ in one setting (say ``features``) answer their
question only when their arms are compared directly: each arm of B minus the arm of
the same name in A, paired by seed (seed s of both studies shares the data order and
the first classifier's initialisation). That is valid only when both ran the same
seeds and their matched baselines trained the same way, so the command refuses
(exit 2, one line naming what differs) otherwise. Settings a baseline without a
discriminator never uses (the ``disc_*`` settings, ``features``, ``dice_tau``,
``w_adv``) may differ: they change nothing in how it trains, only the
representation its probe and CKA read, which this command does not compare.

A and B are read-only inputs: their saved ``compare.json``, ``runs.csv`` and
``correctness.npz`` (the runs are believed only where their predictions agree, as
``--report-only`` does). Nothing is written into them, not even a lock file; the
table goes to stdout and, with ``--out DIR``, to ``DIR/compare_studies.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sweep.compare.gather import CORRECTNESS_NPZ, RUNS_CSV, Run, check_runs_match, read_correctness, read_runs_csv
from sweep.compare.plan import PLAN_FILE, Arm, ComparePlan, load_compare_plan
from sweep.errors import UserError
from sweep.folders import write_csv
from sweep.formatting import text_table
from sweep.requests import CompareStudiesRequest
from sweep.stats.paired import PairedCI, paired_ci
from sweep.stats.power import paired_t_p
from trainable.config import TrialConfig

__all__ = [
    "COMPARE_STUDIES_CSV",
    "DIFF_METRICS",
    "ArmDifference",
    "Side",
    "StudyDifference",
    "compare_studies",
    "difference_text",
    "read_side",
    "check_out",
    "run_compare_studies_request",
    "write_difference_csv",
]

COMPARE_STUDIES_CSV = "compare_studies.csv"
# B - A of these, each paired over seeds: the primary metric first, then what the
# registered features studies reported beside it (members, shared errors, D's strength).
DIFF_METRICS = ("ensemble_acc", "member_acc", "double_fault", "disc_acc")
_LABELS = {"disc_acc": "disc_acc (test pairs)"}
# Settings an `independent` baseline has but never uses: it trains no discriminator, so
# these may differ between A's and B's baselines (``features`` also picks the
# representation its probe and CKA read; those are not compared here).
_UNUSED_BY_A_BASELINE = frozenset(
    {name for name in TrialConfig.model_fields if name.startswith("disc_")} | {"features", "dice_tau", "w_adv"}
)


@dataclass(frozen=True)
class Side:
    """One finished study or compare folder, as read (A or B)."""

    label: str  # "A" or "B"
    folder: Path  # the folder holding compare.json, runs.csv and correctness.npz
    plan: ComparePlan
    runs: list[Run]

    @property
    def name(self) -> str:
        return self.plan.study or self.folder.name

    def seeds(self) -> set[int]:
        """Every seed it planned or ran."""
        return set(self.plan.seeds) | {r.seed for r in self.runs}

    def complete(self, arm: str) -> dict[int, Run]:
        return {r.seed: r for r in self.runs if r.arm == arm and r.status == "complete"}

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.plan.arms if a.name == name), None)


@dataclass(frozen=True)
class ArmDifference:
    """B minus A for one arm, paired over the seeds where both runs completed."""

    arm: str
    baseline: str  # its matched baseline's name (the same in A and B)
    seeds: list[int]
    diffs: dict[str, PairedCI]  # DIFF_METRICS name -> B - A (fraction)
    p_value: float  # paired t of the ensemble_acc difference, two-sided
    # (B arm - B baseline) - (A arm - A baseline): the same as the ensemble_acc difference when the
    # baselines came out identical, and the one to read when they did not (their noise cancels).
    vs_baseline: PairedCI


@dataclass(frozen=True)
class StudyDifference:
    a: Side
    b: Side
    arms: list[ArmDifference]
    arm_settings: list[str]  # what differs between the compared arms' settings, "key: A value -> B value"
    unused_baseline_settings: list[str]  # baseline settings that differ but do not change its training
    baselines: list[str]  # per matched baseline: does it give the same ensemble_acc in A and B, seed by seed?
    left_out: list[str]  # arms only one side has


def _folder(label: str, given: str) -> Path:
    path = Path(given)
    if not path.is_dir():
        raise UserError(
            f"compare-studies: {label}: no such folder {given!r} (give a finished study's or compare's folder)"
        )
    if not (path / PLAN_FILE).is_file() and (path / "compare" / PLAN_FILE).is_file():
        return path / "compare"  # a sweep's folder: its compare is in compare/
    return path


def read_side(label: str, given: str) -> Side:
    """A study's or compare's saved plan and runs; ``UserError`` naming the folder and the missing file."""
    folder = _folder(label, given)
    for name in (PLAN_FILE, RUNS_CSV, CORRECTNESS_NPZ):
        if not (folder / name).is_file():
            raise UserError(
                f"compare-studies: {label}: {folder}: no {name}; it is not a finished study or compare folder "
                "(its report writes runs.csv and correctness.npz: `launch.py study NAME --report-only`)"
            )
    plan = load_compare_plan(folder)
    return Side(label, folder.resolve(), plan, read_runs_csv(folder / RUNS_CSV))


def _shown(seeds: set[int]) -> str:
    return ", ".join(map(str, sorted(seeds))) or "none"


def _check_seeds(a: Side, b: Side) -> None:
    if a.seeds() != b.seeds():
        raise UserError(
            f"compare-studies: the seeds differ: only in A ({a.folder / RUNS_CSV}): {_shown(a.seeds() - b.seeds())}; "
            f"only in B ({b.folder / RUNS_CSV}): {_shown(b.seeds() - a.seeds())}; arms are paired by seed, "
            "so both must have run the same seeds"
        )


def _training(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _UNUSED_BY_A_BASELINE}


def _differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k, "(unset)") != b.get(k, "(unset)"))


def _common_arms(a: Side, b: Side) -> list[tuple[Arm, Arm]]:
    pairs = [(arm, b.arm(arm.name)) for arm in a.plan.arms if not arm.is_baseline]
    common = [(x, y) for x, y in pairs if y is not None and not y.is_baseline]
    if not common:
        raise UserError(
            f"compare-studies: A ({a.folder / PLAN_FILE}) and B ({b.folder / PLAN_FILE}) have no arm of the same "
            f"name (A: {', '.join(x.name for x in a.plan.arms)}; B: {', '.join(x.name for x in b.plan.arms)})"
        )
    return common


def _baseline(side: Side, arm: Arm) -> Arm:
    try:
        return side.plan.baseline_for(arm)
    except KeyError as error:
        raise UserError(f"compare-studies: {side.label}: {side.folder / PLAN_FILE}: {error.args[0]}") from None


def _check_baselines(a: Side, b: Side, common: list[tuple[Arm, Arm]]) -> list[str]:
    """Every compared arm has a baseline of the same name on both sides, trained the same way.

    Returns the baseline settings that differ but that a baseline does not use.
    """
    problems, unused = [], []
    for x, y in common:
        base_a, base_b = _baseline(a, x), _baseline(b, y)
        if base_a.name != base_b.name:
            problems.append(f"arm {x.name} is matched with {base_a.name} in A but {base_b.name} in B")
    names = list(dict.fromkeys(_baseline(a, x).name for x, _ in common))
    for name in names:
        config_a, config_b = a.arm(name), b.arm(name)
        if config_a is None or config_b is None:
            continue  # reported above as a mismatch of names
        for key in _differing(_training(config_a.config), _training(config_b.config)):
            problems.append(
                f"{name}.{key} is {config_a.config.get(key, '(unset)')!r} in A but {config_b.config.get(key, '(unset)')!r} in B"
            )
        for key in _differing(config_a.config, config_b.config):
            if key in _UNUSED_BY_A_BASELINE:
                unused.append(f"{name}.{key}: {config_a.config.get(key)!r} -> {config_b.config.get(key)!r}")
    if problems:
        raise UserError(
            f"compare-studies: the baselines' settings differ ({a.folder / PLAN_FILE} vs {b.folder / PLAN_FILE}): "
            + "; ".join(problems)
            + "; arms are compared directly only when their baselines trained the same way"
        )
    return unused


def _values(runs: dict[int, Run], seeds: list[int], metric: str) -> np.ndarray:
    return np.array([runs[s].metrics.get(metric, math.nan) for s in seeds], dtype=float)


def _difference(a: Side, b: Side, x: Arm, y: Arm) -> ArmDifference:
    base = _baseline(a, x).name
    arm_a, arm_b = a.complete(x.name), b.complete(y.name)
    base_a, base_b = a.complete(base), b.complete(base)
    seeds = sorted(set(arm_a) & set(arm_b))
    diffs = {m: paired_ci(_values(arm_b, seeds, m), _values(arm_a, seeds, m)) for m in DIFF_METRICS}
    raw = _values(arm_b, seeds, "ensemble_acc") - _values(arm_a, seeds, "ensemble_acc")
    both = sorted(set(seeds) & set(base_a) & set(base_b))
    own_b = _values(arm_b, both, "ensemble_acc") - _values(base_b, both, "ensemble_acc")
    own_a = _values(arm_a, both, "ensemble_acc") - _values(base_a, both, "ensemble_acc")
    return ArmDifference(x.name, base, seeds, diffs, paired_t_p(raw), paired_ci(own_b, own_a))


def _baseline_agreement(a: Side, b: Side, names: list[str]) -> list[str]:
    lines = []
    for name in names:
        runs_a, runs_b = a.complete(name), b.complete(name)
        seeds = sorted(set(runs_a) & set(runs_b))
        d = _values(runs_b, seeds, "ensemble_acc") - _values(runs_a, seeds, "ensemble_acc")
        same = int(np.sum(d == 0))
        if same == len(seeds):
            lines.append(f"{name}: the same ensemble_acc in A and B on all {len(seeds)} seeds")
        else:
            largest = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() else math.nan
            lines.append(
                f"{name}: ensemble_acc differs on {len(seeds) - same} of {len(seeds)} seeds (largest |B - A| "
                f"{100 * largest:.2f} pp; the vs-baseline column of the CSV takes that noise out)"
            )
    return lines


def compare_studies(given_a: str, given_b: str) -> StudyDifference:
    """Read and check both sides, then every common arm's B - A. ``UserError`` when they cannot be paired."""
    a, b = read_side("A", given_a), read_side("B", given_b)
    if a.folder == b.folder:
        raise UserError(f"compare-studies: A and B are the same folder ({a.folder}); give two studies")
    _check_seeds(a, b)
    common = _common_arms(a, b)
    unused = _check_baselines(a, b, common)
    # The saved tables are believed only where their predictions agree (the --report-only rule).
    for side in (a, b):
        check_runs_match(side.runs, read_correctness(side.plan), side.folder)
    settings: dict[str, tuple[set[str], set[str]]] = {}
    for x, y in common:
        for key in _differing(x.config, y.config):
            values = settings.setdefault(key, (set(), set()))
            values[0].add(repr(x.config.get(key, "(unset)")))
            values[1].add(repr(y.config.get(key, "(unset)")))
    arm_settings = [f"{k}: {' / '.join(sorted(va))} -> {' / '.join(sorted(vb))}" for k, (va, vb) in settings.items()]
    names_a = {x.name for x in a.plan.arms if not x.is_baseline}
    names_b = {y.name for y in b.plan.arms if not y.is_baseline}
    left_out = [
        f"only in {s}: {', '.join(sorted(n))}" for s, n in (("A", names_a - names_b), ("B", names_b - names_a)) if n
    ]
    baselines = list(dict.fromkeys(_baseline(a, x).name for x, _ in common))
    return StudyDifference(
        a,
        b,
        [_difference(a, b, x, y) for x, y in common],
        arm_settings,
        unused,
        _baseline_agreement(a, b, baselines),
        left_out,
    )


def _pp(ci: PairedCI) -> str:
    """A difference of fractions in pp with its interval; ``-`` where nothing was measured."""
    if not ci.n or not math.isfinite(ci.mean):
        return "-"
    if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return f"{100 * ci.mean:+.2f} pp [no interval]"
    return f"{100 * ci.mean:+.2f} pp [{100 * ci.low:+.2f}, {100 * ci.high:+.2f}]"


def difference_text(d: StudyDifference) -> str:
    """What stdout shows: the two sides, what differs, the table and the baselines' agreement."""
    header = [
        "arm",
        "baseline",
        "seeds",
        *(f"Δ {_LABELS.get(m, m)} [95% CI]" for m in DIFF_METRICS),
        "ensemble_acc t p",
    ]
    rows = [
        [x.arm, x.baseline, str(len(x.seeds)), *(_pp(x.diffs[m]) for m in DIFF_METRICS), f"{x.p_value:.3g}"]
        for x in d.arms
    ]
    lines = [
        "netsep: compare-studies, B - A per arm, paired by seed (test split; Student-t 95 % intervals over seeds)",
        f"  A: {d.a.folder} ({d.a.name})",
        f"  B: {d.b.folder} ({d.b.name})",
        f"  the arms' settings that differ: {'; '.join(d.arm_settings) or 'none'}",
    ]
    if d.unused_baseline_settings:
        lines.append(
            "  baseline settings that differ but that a baseline without a discriminator does not use: "
            + "; ".join(d.unused_baseline_settings)
        )
    lines += [f"  {line}" for line in d.left_out]
    lines += ["", text_table(header, rows), ""]
    lines += [f"baselines: {line}" for line in d.baselines]
    return "\n".join(lines)


def check_out(d: StudyDifference, out: Path) -> Path:
    """``out`` resolved; ``UserError`` when it is A, B or inside either (they are read-only inputs)."""
    target = out.resolve()
    for side in (d.a, d.b):
        if target == side.folder or side.folder in target.parents:
            raise UserError(
                f"--out: {out} is inside {side.label} ({side.folder}); A and B are read-only inputs, "
                "write the comparison somewhere else"
            )
    return target


def write_difference_csv(d: StudyDifference, out: Path) -> Path:
    """``out/compare_studies.csv`` (fractions, as every netsep CSV); ``out`` may not be inside A or B."""
    target = check_out(d, out)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: {out}: cannot make the folder ({type(error).__name__}: {error})") from None
    header = ["a", "b", "arm", "baseline", "n_seeds"]
    header += [f"{m}_{k}" for m in DIFF_METRICS for k in ("diff", "ci95_low", "ci95_high")]
    header += ["ensemble_acc_t_p", "vs_baseline_diff", "vs_baseline_ci95_low", "vs_baseline_ci95_high"]
    rows = [
        [
            d.a.name,
            d.b.name,
            x.arm,
            x.baseline,
            len(x.seeds),
            *(v for m in DIFF_METRICS for v in (x.diffs[m].mean, x.diffs[m].low, x.diffs[m].high)),
            x.p_value,
            x.vs_baseline.mean,
            x.vs_baseline.low,
            x.vs_baseline.high,
        ]
        for x in d.arms
    ]
    path = target / COMPARE_STUDIES_CSV
    try:
        write_csv(path, header, rows)
    except OSError as error:
        raise UserError(f"--out: {path}: cannot be written ({type(error).__name__}: {error})") from None
    return path


def run_compare_studies_request(request: CompareStudiesRequest) -> int:
    """Print B - A (and write the CSV with ``--out``); exit 0. Mistakes raise UserError (exit 2)."""
    difference = compare_studies(request.a, request.b)
    if request.out is not None:
        check_out(difference, Path(request.out))  # before anything is printed: a refusal is one line
    print(difference_text(difference))
    if request.out is not None:
        print(f"\nwritten: {write_difference_csv(difference, Path(request.out))}")
    return 0
