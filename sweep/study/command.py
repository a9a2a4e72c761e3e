"""``launch.py study FILE``: check, estimate, run (or resume) a study, and write its report.

    python launch.py study fmnist_dose --dry-run     # the plan, wall time and expected MDE; runs nothing
    python launch.py study fmnist_dose               # run it into experiments/<name>/
    python launch.py study fmnist_dose --resume      # continue it after an interrupt

Every mistake in the file, the dataset or the folder is found before Ray starts.
The runs and the report are compare's (``sweep.compare.run``, ``sweep.compare.report``),
plus the dose-response figure of ``sweep.study.plots``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from sweep.compare.analysis import CompareReport
from sweep.compare.command import claim_run_folder, connect_and_resolve, report_only, run_and_report
from sweep.compare.plan import ComparePlan
from sweep.compare.report import print_compare, write_compare_report
from sweep.errors import UserError
from sweep.folders import check_private, write_text_atomically
from sweep.plan import check_dataset
from sweep.report.provenance_block import registration_lead
from sweep.requests import StudyRequest
from sweep.resources import DEFAULT_CPUS_PER_TRIAL, default_max_concurrent
from sweep.study.estimate import estimate_study
from sweep.study.file import Study, load_study
from sweep.study.plan import STUDY_COPY, check_same_study, load_study_plan, plan_study, study_folder
from sweep.study.plots import DOSE_RESPONSE_PNG, plot_dose_response
from sweep.study.registration import registration_of, require_registered
from sweep.study.sequential import (
    SEQUENTIAL_CSV,
    decision_of,
    dry_run_lines,
    schedule_of,
    summary_lines,
    terminal_lines,
    write_sequential_csv,
)

__all__ = ["run_study_request"]


def _new_plan(study: Study, request: StudyRequest, folder: Path) -> ComparePlan:
    if folder.exists():
        raise UserError(
            f"{folder}: the study's results folder exists already; continue it with --resume, "
            "rebuild its report with --report-only, or move it away"
        )
    return plan_study(study, request.storage)


def _check_data(plan: ComparePlan) -> None:
    """The dataset of every distinct arm is here and large enough (no download, before Ray)."""
    seen: list[dict] = []
    for arm in plan.arms:
        keys = {k: arm.config.get(k) for k in ("dataset", "data_dir", "train_size", "val_size", "batch_size")}
        if keys not in seen:
            seen.append(keys)
            check_dataset(arm.config)


def _print_estimate(plan: ComparePlan, study: Study, request: StudyRequest) -> None:
    cluster = request.cluster
    cpus = cluster.cpus_per_trial if cluster.cpus_per_trial is not None else DEFAULT_CPUS_PER_TRIAL
    local_cpus = float(os.cpu_count() or 1)
    concurrent = cluster.max_concurrent or default_max_concurrent(local_cpus, 0.0, cpus, 0.0)
    estimate = estimate_study(plan, Path(request.storage), concurrent, threads=int(max(1, cpus)))
    print(f"netsep: study {study.name} ({study.source})", flush=True)
    lines = estimate.lines(study.effect, len(plan.seeds))
    schedule = schedule_of(study, plan)
    if schedule is not None and study.sequential is not None:
        sds = [(estimate.sd, estimate.sd_source)] if estimate.sd is not None else []
        if study.sequential.planning_sd is not None:
            sds.append((study.sequential.planning_sd, "the study's planning_sd"))
        lines += dry_run_lines(schedule, sds)
    for line in lines:
        print(f"  {line}")
    where = "this machine's CPUs" if cluster.address is None else "this machine's CPUs (not the cluster's)"
    print(f"  (timed on {where}, {concurrent} runs at a time; a GPU or a larger cluster is faster)", flush=True)


def _write_report(plan: ComparePlan, study: Study) -> CompareReport:
    schedule = schedule_of(study, plan)
    if schedule is None:
        report = write_compare_report(plan, study.effect)
    else:
        report = write_compare_report(
            plan, study.effect, lambda written: summary_lines(schedule, decision_of(schedule, written.runs))
        )
        decision = decision_of(schedule, report.runs)
        path = Path(plan.compare_dir) / SEQUENTIAL_CSV
        try:
            write_sequential_csv(path, schedule, decision)
        except OSError as error:
            raise UserError(f"{path}: cannot write it ({type(error).__name__}: {error})") from None
        report.files[SEQUENTIAL_CSV] = path
    path = Path(plan.compare_dir) / DOSE_RESPONSE_PNG
    try:
        plot_dose_response(path, plan, report.arms)
    except OSError as error:
        raise UserError(f"{path}: cannot write the figure ({type(error).__name__}: {error})") from None
    report.files[DOSE_RESPONSE_PNG] = path
    print_compare(report)
    if schedule is not None:
        print("\n" + "\n".join(terminal_lines(schedule, decision_of(schedule, report.runs))))
    for line in registration_lead(plan.compare_dir)[:1]:  # the terminal's report says it too
        print(f"\n{line}")
    return report


def run_study_request(request: StudyRequest) -> int:
    """Run, resume, estimate or report a study; the exit code. User mistakes raise UserError."""
    study = load_study(request.study)
    folder = study_folder(study, request.storage)
    if request.report_only:
        load_study_plan(folder)  # "not started yet" before anything else
        return report_only(folder, lambda plan: _write_report(plan, study))
    if request.resume:
        check_private(folder)  # before anything in a folder someone else may have prepared is read
        check_same_study(study, folder)
        plan = load_study_plan(folder)
    else:
        plan = _new_plan(study, request, folder)
    registration = registration_of(study.source)  # git: the commit that registered the file, or why none did
    if not request.dry_run:
        require_registered(registration, request.unregistered)  # before Ray starts, before anything is written
    _check_data(plan)
    if not request.resume:
        _print_estimate(plan, study, request)
    if request.dry_run:
        if not registration.registered:
            print(f"netsep: note: {registration.refusal()}")
        print("netsep: --dry-run: nothing was run")
        return 0
    if not registration.registered:
        print(f"netsep: {registration.shown} is not pre-registered ({registration.reason}); its reports say so")
    with claim_run_folder(folder, "study", request.resume):
        plan = connect_and_resolve(plan, request.cluster, request.resume)
        if not request.resume:
            write_text_atomically(folder / STUDY_COPY, study.text)
            plan = replace(plan, compare_dir=str(folder))
        print(f"netsep: study {study.name}: {len(plan.arms)} arms x {len(plan.seeds)} seeds -> {folder}", flush=True)
        resume_command = f"python launch.py study {request.study} --storage {request.storage} --resume"
        if request.unregistered:
            resume_command += " --unregistered"
        schedule = schedule_of(study, plan)
        return run_and_report(
            plan,
            request.resume,
            lambda: _write_report(plan, study),
            resume_command,
            provenance={"study_registration": registration.record()},
            looks=schedule,
            planned_runs=(lambda runs: schedule.planned_runs(decision_of(schedule, runs))) if schedule else None,
        )
