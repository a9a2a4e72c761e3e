"""``summary.md``: what ran and what came out, written from the numbers. Pure: Report in, text out."""

from __future__ import annotations

import math
import statistics

from sweep.baselines import baseline_configs
from sweep.formatting import md_table, num, param_text, plural, signed, when
from sweep.plan import PLAN_FILE, SPACE_COPY, TUNE_DIR
from sweep.report.build import Report, rankable
from sweep.report.configs import ALPHA, ConfigRecord, PairedDiff
from sweep.report.csv_files import CONFIGS_CSV, PARETO_CSV
from sweep.report.optuna_export import OPTUNA_DB
from sweep.report.plot import PARETO_PNG
from sweep.report.provenance_block import provenance_block
from sweep.report.reading import TRIALS_CSV
from sweep.report.records import TrialRecord, uses_test_split
from sweep.spaces import CategoricalParam, FloatParam, IntParam, Param
from sweep.spaces.replication import INERT_DISC_ACC
from trainable.config import TrialConfig

__all__ = ["SUMMARY_MD", "summary_text", "front_rows", "describe_param", "split_note"]

SUMMARY_MD = "summary.md"


def describe_param(param: Param) -> str:
    """``float in [0.001, 1], log scale (only when disc_arch in mlp)`` and the like."""
    if isinstance(param, CategoricalParam):
        text = "one of " + ", ".join(param_text(c) for c in param.choices)
    else:
        kind = "int" if isinstance(param, IntParam) else "float"
        text = f"{kind} in [{param.low:g}, {param.high:g}]"
        if param.log:
            text += ", log scale"
        if param.step not in (None, 1) or (isinstance(param, FloatParam) and param.step is not None):
            text += f", step {param.step:g}"
    if param.when:
        conditions = (f"{k} in {', '.join(map(param_text, v))}" for k, v in param.when.items())
        text += " (only when " + "; ".join(conditions) + ")"
    return text


def _params_inline(config: ConfigRecord | TrialRecord) -> str:
    return ", ".join(f"{k}={param_text(v)}" for k, v in config.params.items()) or "-"


def _interval(d: PairedDiff | None) -> str:
    """``+0.0123 [-0.0040, +0.0286]`` (or without the interval when there is none)."""
    if d is None or not math.isfinite(d.mean):
        return "-"
    if not math.isfinite(d.low):
        return f"{signed(d.mean)} (no interval)"
    return f"{signed(d.mean)} [{signed(d.low)}, {signed(d.high)}]"


def front_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The front (and the baselines below it) as table rows; shared by summary.md and the terminal."""
    objectives, params = report.objectives, list(report.space.params)
    arrows = ["↑" if d == "max" else "↓" for d in report.directions]
    header = ["config", "seeds", *(f"{m} {a}" for m, a in zip(objectives, arrows))]
    if report.baseline_groups:
        header += [f"Δ {m} [95 % CI]" for m in objectives] + ["beats baseline"]
    header += params
    rows: list[list[str]] = []
    for c in report.pareto:
        row = [c.config_id, str(c.n), *(num(c.value(m)) for m in objectives)]
        if report.baseline_groups:
            row += [_interval(c.paired.get(m)) for m in objectives]
            row += ["yes" if c.beats_baseline else "no" if c.beats_baseline is not None else "-"]
        rows.append([*row, *((param_text(c.config[p]) if p in c.config else "-") for p in params)])
    for g in report.baseline_groups:
        done = [t for t in g.replicates if t.status == "complete"]
        label = g.label + ("" if len(done) == len(g.replicates) else f" ({len(done)} of {len(g.replicates)} complete)")
        means = [num(statistics.fmean(g.values(m).values())) if g.values(m) else "-" for m in objectives]
        row = [label, str(len(done)), *means]
        row += ["0"] * len(objectives) + [""]
        rows.append([*row, *((param_text(done[0].config[p]) if done and p in done[0].config else "-") for p in params)])
    return header, rows


def _setting(report: Report, key: str) -> object:
    return report.plan.fixed.get(key, getattr(TrialConfig, key))


def _what_ran_space(report: Report) -> list[str]:
    plan, space = report.plan, report.space
    searched = space.searched_objectives()
    objective = f"searched ({', '.join(searched)})" if searched is not None else str(_setting(report, "objective"))
    shown_fixed = {k: v for k, v in plan.fixed.items() if k != "dataset"}
    return [
        f"- Space: `{space.name}` — {space.description or '(no description)'}; "
        f"run from `{plan.space_file}` (copy: `{SPACE_COPY}`)",
        f"- Dataset: {plan.fixed.get('dataset', space.dataset)}; classifier: {_setting(report, 'classifier')}; "
        f"training objective: {objective}; {_setting(report, 'epochs')} epochs per trial",
        "- Fixed settings: " + (", ".join(f"{k}={param_text(v)}" for k, v in sorted(shown_fixed.items())) or "none"),
        "- Searched: " + "; ".join(f"{n} {describe_param(p)}" for n, p in space.params.items()),
        "- Objectives: " + ", ".join(f"{m} ({d}imize)" for m, d in zip(report.objectives, report.directions)),
        f"- Sampler: {space.sampler} (seed {space.seed})",
    ]


def _what_ran_trials(report: Report) -> list[str]:
    plan, counts, k = report.plan, report.counts, report.replicates
    ended = counts["complete"] + counts["stopped_early"] + counts["error"]
    out = [
        f"- Configurations: {plan.trials} requested, {len(report.configs)} started, {ended} finished "
        f"({counts['complete']} complete, {counts['stopped_early']} stopped early, {counts['error']} failed), "
        f"{counts['interrupted']} interrupted; seeds per configuration: {k.text()} "
        f"(seed {_setting(report, 'seed')} + r, the baseline's seeds); {len(report.search_trials)} search trials in all"
    ]
    if plan.baseline:
        planned = len(baseline_configs(plan.fixed, report.space.searched_objectives()))
        states = (
            "; ".join(
                f"{g.label}: {sum(t.status == 'complete' for t in g.replicates)} of {len(g.replicates)} seeds complete"
                for g in report.baseline_groups
            )
            or "none started"
        )
        out.append(f"- Baseline (`independent`, same fixed settings, same seeds): {planned} planned; {states}")
    else:
        out.append("- Baseline: not run (the space sets `baseline: false`)")
    cpus, gpus = plan.cpus_per_trial, plan.gpus_per_trial
    out.append(
        f"- Resources per trial: {cpus:g} CPU, {gpus:g} GPU; at most {plan.max_concurrent} at once; "
        f"retries per trial: {plan.max_failures}"
        if cpus is not None and gpus is not None and plan.max_concurrent is not None
        else "- Resources per trial: not recorded"
    )
    stop = f"successive halving of whole configurations on {plan.early_stop}" if plan.early_stop else "none"
    out.append(f"- Early stopping: {stop}")
    if report.space.constraints:
        out.append("- Constraints: " + ", ".join(c.text() for c in report.space.constraints))
    started = [t.started for t in report.trials if t.started is not None]
    ended_at = [t.ended for t in report.trials if t.ended is not None]
    line = f"- When: planned {plan.created}"
    if started:
        line += f"; first trial started {when(min(started))}"
    if ended_at:
        line += f", last result {when(max(ended_at))}"
    return [*out, line]


def _trial_minutes(report: Report) -> float | None:
    """The mean wall time of a complete trial, in minutes (None when no trial recorded its times)."""
    spans = [t.ended - t.started for t in report.trials if t.status == "complete" and t.started and t.ended]
    return statistics.fmean(spans) / 60 if spans else None


def _holm_differs(d: PairedDiff) -> bool:
    """The Holm-adjusted paired test tells this difference from 0 (either way)."""
    return math.isfinite(d.p_holm) and d.p_holm < ALPHA


def _noise_section(report: Report) -> list[str]:
    """The noise floor first: seed sd against the spread of the front, and how many claims it allows."""
    out = ["## Noise floor", ""]
    floor = report.noise_floor()
    front = report.pareto
    spreads = {m: statistics.stdev([c.value(m) for c in front]) if len(front) > 1 else math.nan for m in floor}
    parts = [f"{m}: seed sd {num(floor[m])}, spread of the front {num(spreads[m])}" for m in report.objectives]
    if report.replicates.max == 1:
        minutes = _trial_minutes(report)
        k = 3
        cost = len(report.configs) + sum(len(g.replicates) for g in report.baseline_groups)
        extra = (
            f", about {k * cost * minutes:.0f} min of trial time at this sweep's {minutes:.1f} min a trial"
            if minutes
            else ""
        )
        out.append(
            "Every configuration ran **one seed**, so this sweep cannot tell a real difference from a lucky seed: "
            "no configuration is said to beat the baseline. The seed sd of each objective is unknown here; "
            f"in earlier studies of this project it was as large as the spread between configurations. "
            f"`--replicates {k}` (or `replicates: {k}` in the space) would train {k} seeds of every configuration "
            f"and baseline, {k * cost} trials instead of {cost}{extra}, and pair every difference by seed."
        )
        return [*out, ""]
    compared = [c for c in front if c.paired]
    distinct = sum(bool(c.beats_baseline) for c in compared)
    differs = sum(any(_holm_differs(d) for d in c.paired.values()) and not c.beats_baseline for c in compared)
    noise = len(compared) - distinct - differs
    out.append("; ".join(parts) + ".")
    out.append("")
    if not front:
        return [*out, "No configuration reached the front, so none is compared with the baseline.", ""]
    if not compared:
        return [*out, "No front member could be compared with the baseline (no seed of both completed).", ""]
    sentence = (
        f"{distinct} of {len(compared)} front members beat the baseline beyond seed noise (paired by seed, "
        f"Holm-adjusted over the {len(compared)} compared, every objective on the better side of 0 at 95 %)"
    )
    if differs:
        sentence += f"; {differs} differ from it on some objective, but are not better on every one"
    if noise:
        sentence += f"; {noise} are **within seed noise** of it on every objective"
    out.append(sentence + ".")
    return [*out, ""]


def _front_section(report: Report) -> list[str]:
    out = ["## Pareto front of configurations", ""]
    if not report.pareto:
        return [*out, "No complete, feasible configuration with finite objective values yet: the front is empty.", ""]
    header, rows = front_rows(report)
    ranked = sum(rankable(c, report.objectives) for c in report.configs)
    out.append(
        f"{len(report.pareto)} of {ranked} rankable configurations are non-dominated by their means over seeds "
        "(↑ higher is better, ↓ lower is better"
        + ("; Δ is the paired difference from the matched baseline with its 95 % interval" if report.baselines else "")
        + "):"
    )
    return [*out, "", md_table(header, rows), ""]


def _claims_section(report: Report) -> list[str]:
    out = ["## What this sweep can claim", ""]
    if not report.baseline_groups:
        return [*out, "- No baseline ran: nothing is compared with it.", ""]
    winners = [c for c in report.pareto if c.beats_baseline]
    if winners:
        for c in winners:
            diffs = ", ".join(f"{m} {_interval(c.paired.get(m))}" for m in report.objectives)
            out.append(
                f"- `{c.config_id}` beats the baseline on every objective over {c.n} paired seeds: {diffs} ({_params_inline(c)})"
            )
    elif not report.pareto:
        out.append("- Nothing: no complete, feasible configuration reached the front (see below).")
    elif report.replicates.max == 1:
        out.append("- Nothing: with one seed per configuration no difference can be told from seed noise.")
    else:
        out.append(
            f"- No configuration is better than the baseline on every objective beyond seed noise with "
            f"{report.replicates.text()} seeds (see the intervals above)."
        )
    out.append(
        "- A sweep selects on validation: confirm a claim on fresh seeds and the test split with "
        "`launch.py compare` (docs/protocol.md section 9)."
    )
    return [*out, ""]


def _trouble_sections(report: Report) -> list[str]:
    """Failed, stopped-early and not-ranked configurations (and failed baselines)."""
    out = ["## Failed", ""]
    failed = [c for c in report.configs if c.status == "error"]
    out += [f"- `{c.config_id}` ({_params_inline(c)}): {c.reason}" for c in failed]
    out += [
        f"- baseline `{t.trial_id}` (seed {t.config.get('seed', 0)}): {t.reason}"
        for t in report.baselines
        if t.status == "error"
    ]
    if len(out) == 2:
        out.append("None.")
    out += ["", "## Stopped early", ""]
    early = [c for c in report.configs if c.status == "stopped_early"]
    if early:
        spans = sorted({c.epochs for c in early})
        how = f" by successive halving on {report.plan.early_stop}" if report.plan.early_stop else ""
        out.append(
            f"{plural(len(early), 'configuration')} {'was' if len(early) == 1 else 'were'} stopped early{how} "
            f"(all seeds together), after {', '.join(map(str, spans))} of {_setting(report, 'epochs')} epochs; "
            "they are kept off the front (their values are from partial training)."
        )
    else:
        out.append("None.")
    out.append("")
    stopped = [c for c in report.configs if c.status == "interrupted"]
    nan = [c for c in report.configs if c.status == "complete" and c.objective_values(report.objectives) is None]
    if stopped or nan:
        out += ["## Not ranked", ""]
        out += [f"- `{c.config_id}` interrupted: {c.reason}" for c in stopped]
        out += [f"- `{c.config_id}` complete but {c.reason}" for c in nan]
        out.append("")
    return out


def _inert_section(report: Report) -> list[str]:
    """Configurations that break a constraint (an inert adversary first): named, and why they are off the front."""
    broken = [c for c in report.configs if c.status == "complete" and c.broken]
    out = ["## Infeasible (inert adversary, constraints)", ""]
    if not broken:
        return [*out, "None.", ""]
    out.append(
        f"{plural(len(broken), 'complete configuration')} broke a constraint on its mean over seeds: a "
        f"discriminator below `disc_acc` {INERT_DISC_ACC:g} (0.5 = chance) learned nothing, so its adversarial "
        "term was noise. Optuna was told they are infeasible, and they are kept off the front:"
    )
    out += [f"- `{c.config_id}`: {'; '.join(c.broken)} ({_params_inline(c)})" for c in broken]
    return [*out, ""]


def split_note(report: Report) -> str:
    """Which split the sweep's numbers come from: validation, the test split (val_size 0), or unknown."""
    trials = [t for t in report.trials if t.eval_split or t.history or "val_size" in t.config]
    if uses_test_split(report.plan.fixed) or any(uses_test_split(t.config, t.eval_split) for t in report.trials):
        return (
            "> **Warning: selection and report share the test split.** Trials of this sweep were evaluated "
            "on the test split (`val_size: 0`, or run before netsep had a validation split), so its numbers "
            "were measured on the images it selected on; they cannot be reported as results "
            "(docs/protocol.md section 1). Score chosen configurations with `launch.py compare` on a sweep "
            "with a validation split."
        )
    if trials and all(t.eval_split == "validation" for t in trials):
        return (
            "> Every number below is a **validation** number: a selection, not a result. "
            "Test-split numbers come only from `launch.py compare` (docs/protocol.md section 1)."
        )
    return (
        "> **Note:** this folder does not record which split its numbers were measured on; sweeps run before "
        "netsep had a validation split selected on the test split, and their numbers cannot be reported as "
        "results (docs/protocol.md section 1)."
    )


def _files_section(report: Report) -> list[str]:
    k = len(report.objectives)
    db, name = report.results_dir / OPTUNA_DB, report.plan.name
    drawn = {1: "the objective per trial", 2: "the first two objectives"}.get(k, "every pair of objectives")
    return [
        "## Files",
        "",
        f"- `{CONFIGS_CSV}`: one row per configuration: params, seeds, mean and sd of each objective, the paired "
        "difference from the baseline with its 95 % interval and p-values, beats_baseline",
        f"- `{TRIALS_CSV}`: every Tune trial (one per configuration and seed): arm, config_id, replicate, seed, "
        "status, reason, epochs, searched params, final metrics, checkpoint",
        f"- `{PARETO_CSV}`: the front of configurations, as configs.csv (beats_baseline decided over the front)",
        f"- `{PARETO_PNG}`: {drawn}, front highlighted, baseline marked",
        f"- `{OPTUNA_DB}`: Optuna study `{name}` of the search trials: "
        f'`optuna.load_study(study_name="{name}", storage="sqlite:///{db}")`',
        f"- `optuna.journal`: the searcher's own study, written live from the first trial: "
        f"`python launch.py dashboard {report.results_dir}` shows it (optuna-dashboard)",
        f"- `{SUMMARY_MD}`: this file (rebuild with `python launch.py report {report.results_dir}`)",
        f"- `{PLAN_FILE}`, `{SPACE_COPY}`: the plan and the space as run (`--resume` reads them)",
        f"- `{TUNE_DIR}/`: Ray Tune's experiment folder (per trial: params.json, result.json, checkpoints)",
    ]


def summary_text(report: Report) -> str:
    """The whole summary.md."""
    out = [f"# Sweep `{report.plan.name}`", "", split_note(report), "", *_noise_section(report)]
    if report.notes:
        out += ["> **Note:** " + note for note in report.notes] + [""]
    out += ["## What ran", "", *_what_ran_space(report), *_what_ran_trials(report), ""]
    out += provenance_block(report.results_dir)  # provenance.json: the code, versions and nodes that ran
    out += [
        *_front_section(report),
        *_claims_section(report),
        *_trouble_sections(report),
        *_inert_section(report),
        *_files_section(report),
    ]
    return "\n".join(out) + "\n"
