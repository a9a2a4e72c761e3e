"""``summary.md``: what ran and what came out, written from the numbers. Pure: Report in, text out."""

from __future__ import annotations

from sweep.baselines import baseline_configs
from sweep.formatting import md_table, num, param_text, plural, signed, when
from sweep.plan import PLAN_FILE, SPACE_COPY, TUNE_DIR
from sweep.report.build import Report, beats, rankable
from sweep.report.csv_files import PARETO_CSV
from sweep.report.optuna_export import OPTUNA_DB
from sweep.report.plot import PARETO_PNG
from sweep.report.reading import TRIALS_CSV
from sweep.report.records import INERT_DISC_ACC, TrialRecord, uses_test_split
from sweep.spaces import CategoricalParam, FloatParam, IntParam, Param
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


def _params_inline(trial: TrialRecord) -> str:
    return ", ".join(f"{k}={param_text(v)}" for k, v in trial.params.items()) or "-"


def front_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The front (and the baselines below it) as table rows; shared by summary.md and the terminal."""
    objectives, params = report.objectives, list(report.space.params)
    arrows = ["↑" if d == "max" else "↓" for d in report.directions]
    header = ["trial", *(f"{m} {a}" for m, a in zip(objectives, arrows))]
    if report.baselines:
        header += [f"Δ {m}" for m in objectives]
    header += [*params, "epochs"]
    rows: list[list[str]] = []
    for t in report.pareto:
        values = t.objective_values(objectives) or []
        row = [t.trial_id, *(num(v) for v in values)]
        if report.baselines:
            base = report.baseline_for(t)
            bv = base.objective_values(objectives) if base else None
            row += [signed(a - b) for a, b in zip(values, bv)] if bv else ["-"] * len(objectives)
        row += [(param_text(t.config[p]) if p in t.config else "-") for p in params]
        rows.append([*row, f"{t.epochs}"])
    for base in report.baselines:
        label = f"baseline {base.trial_id}" + ("" if base.status == "complete" else f" ({base.status})")
        row = [label, *(num(base.metrics.get(m)) for m in objectives)]
        row += ["0"] * len(objectives) if base.status == "complete" else ["-"] * len(objectives)
        row += [(param_text(base.config[p]) if p in base.config else "-") for p in params]
        rows.append([*row, f"{base.epochs}"])
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
    plan, counts = report.plan, report.counts
    finished = counts["complete"] + counts["stopped_early"] + counts["error"]
    out = [
        f"- Search trials: {plan.trials} requested, {len(report.search_trials)} started, {finished} finished "
        f"({counts['complete']} complete, {counts['stopped_early']} stopped early, {counts['error']} failed), "
        f"{counts['interrupted']} interrupted"
    ]
    if plan.baseline:
        planned = len(baseline_configs(plan.fixed, report.space.searched_objectives()))
        states = ", ".join(f"{b.trial_id} {b.status}" for b in report.baselines) or "none started"
        out.append(f"- Baseline (`independent`, same fixed settings): {planned} planned; {states}")
    else:
        out.append("- Baseline: not run (the space sets `baseline: false`)")
    cpus, gpus = plan.cpus_per_trial, plan.gpus_per_trial
    out.append(
        f"- Resources per trial: {cpus:g} CPU, {gpus:g} GPU; at most {plan.max_concurrent} at once; "
        f"retries per trial: {plan.max_failures}"
        if cpus is not None and gpus is not None and plan.max_concurrent is not None
        else "- Resources per trial: not recorded"
    )
    out.append(f"- Early stopping: ASHA on {plan.early_stop}" if plan.early_stop else "- Early stopping: none")
    started = [t.started for t in report.trials if t.started is not None]
    ended = [t.ended for t in report.trials if t.ended is not None]
    line = f"- When: planned {plan.created}"
    if started:
        line += f"; first trial started {when(min(started))}"
    if ended:
        line += f", last result {when(max(ended))}"
    return [*out, line]


def _front_section(report: Report) -> list[str]:
    out = ["## Pareto front", ""]
    if not report.pareto:
        return [*out, "No complete search trial with finite objective values yet: the front is empty.", ""]
    header, rows = front_rows(report)
    ranked = sum(rankable(t, report.objectives) for t in report.search_trials)
    out.append(
        f"{len(report.pareto)} of {ranked} rankable search trials are non-dominated "
        "(↑ higher is better, ↓ lower is better"
        + ("; Δ is the difference from the baseline" if report.baselines else "")
        + "):"
    )
    return [*out, "", md_table(header, rows), ""]


def _tradeoffs_section(report: Report) -> list[str]:
    objectives, directions = report.objectives, report.directions
    out = ["## Best trade-offs", ""]
    ranked = [t for t in report.search_trials if rankable(t, objectives)]
    if not ranked:
        return [*out, "- None yet.", ""]
    for m, d in zip(objectives, directions):
        sign = 1.0 if d == "max" else -1.0
        best = max(ranked, key=lambda t: sign * t.value(m))
        line = f"- Best {m}: `{best.trial_id}` with {num(best.value(m))} ({_params_inline(best)})"
        base = report.baseline_for(best)
        if base is not None:
            line += f"; baseline {num(base.value(m))}, {signed(best.value(m) - base.value(m))}"
        out.append(line)
    winners = [
        t for t in report.pareto if (b := report.baseline_for(t)) is not None and beats(t, b, objectives, directions)
    ]
    if not report.baselines or not report.baseline_of:
        out.append("- No complete baseline to compare with.")
    elif winners:
        out.append(
            f"- Beat the baseline on every objective: {', '.join(f'`{t.trial_id}`' for t in winners)} "
            f"({len(winners)} of {len(report.pareto)} front members)"
        )
    else:
        out.append(f"- None of the {len(report.pareto)} front members beats the baseline on every objective.")
    return [*out, ""]


def _trouble_sections(report: Report) -> list[str]:
    """Failed, stopped-early and not-ranked trials."""
    errors = [t for t in report.trials if t.status == "error"]
    out = ["## Failed trials", ""]
    out += [
        f"- `{t.trial_id}` ({t.arm}; {_params_inline(t)}), after {plural(t.epochs, 'epoch')}: {t.reason}"
        for t in errors
    ] or ["None."]
    out += ["", "## Stopped early", ""]
    early = [t for t in report.search_trials if t.status == "stopped_early"]
    if early:
        spans = sorted({t.epochs for t in early})
        asha = f" by ASHA on {report.plan.early_stop}" if report.plan.early_stop else ""
        out.append(
            f"{plural(len(early), 'search trial')} {'was' if len(early) == 1 else 'were'} stopped early{asha}, "
            f"after {', '.join(map(str, spans))} of {_setting(report, 'epochs')} epochs; "
            "they are kept off the front (their values are from partial training)."
        )
    else:
        out.append("None.")
    out.append("")
    stopped = [t for t in report.trials if t.status == "interrupted"]
    nan = [t for t in report.search_trials if t.status == "complete" and t.objective_values(report.objectives) is None]
    if stopped or nan:
        out += ["## Not ranked", ""]
        out += [f"- `{t.trial_id}` ({t.arm}) interrupted: {t.reason}" for t in stopped]
        out += [f"- `{t.trial_id}` complete but {t.reason}" for t in nan]
        out.append("")
    return out


def _inert_section(report: Report) -> list[str]:
    """Search trials whose discriminator ended at chance: named, and why they are off the front."""
    inert = [t for t in report.search_trials if t.status == "complete" and t.inert_adversary]
    out = ["## Inert adversary", ""]
    if not inert:
        return [*out, "None.", ""]
    out.append(
        f"{plural(len(inert), 'complete search trial')} ended with `disc_acc` below {INERT_DISC_ACC:g} "
        "(0.5 = chance) or not a number: the discriminator learned nothing, so the adversarial term was "
        "noise. They are kept off the front (`inert_adversary` in trials.csv):"
    )
    out += [f"- `{t.trial_id}`: disc_acc {num(t.metrics.get('disc_acc'))} ({_params_inline(t)})" for t in inert]
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
            "> Every number below is a **validation** number of one seed: a selection, not a result. "
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
        f"- `{TRIALS_CSV}`: every Tune trial: arm, status, reason, epochs, searched params, final metrics, checkpoint",
        f"- `{PARETO_CSV}`: the front, with each member's difference from the baseline",
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
    out = [f"# Sweep `{report.plan.name}`", "", split_note(report), ""]
    if report.notes:
        out += ["> **Note:** " + note for note in report.notes] + [""]
    out += ["## What ran", "", *_what_ran_space(report), *_what_ran_trials(report), ""]
    out += [
        *_front_section(report),
        *_tradeoffs_section(report),
        *_trouble_sections(report),
        *_inert_section(report),
        *_files_section(report),
    ]
    return "\n".join(out) + "\n"
