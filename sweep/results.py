"""The report of a results folder, rebuilt from the folder alone.

``write_report(results_dir)`` reads ``sweep.json``, ``space.yaml`` and Ray Tune's
experiment folder ``tune/`` (the newest ``experiment_state-*.json`` and each
trial's ``params.json``, ``result.json``, ``error.txt`` and ``checkpoint_*``
folders) and (re)writes:

* ``trials.csv``  one row per Tune trial: arm, status, reason, epochs, searched
  params (space order), final metrics (``metric_names.METRICS`` order), checkpoint;
* ``pareto.csv``  the non-dominated complete search trials on the space's
  objectives, each compared with the baseline;
* ``pareto.png``  the objectives plotted, the front highlighted, the baseline marked;
* ``optuna.db``   an Optuna study (SQLite) of the search trials, for Optuna's tools;
* ``summary.md``  what ran and what came out, written from the numbers.

It works on any state the folder can be in, also after the driver died: trials
Tune still listed as RUNNING or PENDING are ``interrupted``, trial folders Tune
never recorded are found on disk, and a partly written ``result.json`` line is
skipped. Nothing here starts Ray or touches a tensor.

Statuses (``STATUSES``): ``complete`` (all configured epochs), ``stopped_early``
(ended before them without an error: ASHA), ``error`` (Tune gave up on it),
``interrupted`` (running or pending when the sweep stopped; ``--resume`` goes on).
Only complete search trials with finite objective values can be on the front.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import sqlite3
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sweep.errors import UserError
from sweep.plan import PLAN_FILE, SPACE_COPY, TUNE_DIR, SweepPlan, load_plan, planned_baselines
from sweep.baselines import BASELINE_ARM
from sweep.spaces import CategoricalParam, FloatParam, IntParam, Param, SearchSpace
from trainable.config import ConfigError, TrialConfig
from trainable.metric_names import METRICS

__all__ = [
    "Status",
    "STATUSES",
    "SEARCH_ARM",
    "TRIALS_CSV",
    "PARETO_CSV",
    "PARETO_PNG",
    "OPTUNA_DB",
    "SUMMARY_MD",
    "TrialRecord",
    "Report",
    "pareto_front",
    "error_reason",
    "read_trials",
    "write_report",
    "print_final",
]

Status = Literal["complete", "stopped_early", "error", "interrupted"]
STATUSES: tuple[Status, ...] = ("complete", "stopped_early", "error", "interrupted")
SEARCH_ARM = "search"  # the `arm` column of every trial Optuna proposed

TRIALS_CSV = "trials.csv"
PARETO_CSV = "pareto.csv"
PARETO_PNG = "pareto.png"
OPTUNA_DB = "optuna.db"
SUMMARY_MD = "summary.md"

_STATE_GLOB = re.compile(r"^experiment_state-.*\.json$")
_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")


# ------------------------------------------------------------------------ records
@dataclass(frozen=True)
class TrialRecord:
    """One Tune trial as the report sees it."""

    trial_id: str
    arm: str  # BASELINE_ARM or SEARCH_ARM
    status: Status
    reason: str  # why it errored / was interrupted / cannot be ranked; "" otherwise
    epochs: int  # epochs reported (the trial's own `epoch` count, which survives a resume)
    max_epochs: int  # the epochs its config asked for
    config: dict[str, Any]  # the config Tune ran it with (params.json)
    params: dict[str, Any]  # the space's params this trial has, in space order
    metrics: dict[str, float | int | None]  # last reported value of each METRICS name; None if never reported
    history: tuple[dict[str, Any], ...]  # every parsed result.json line, in order
    checkpoint: str  # the newest checkpoint folder (path or URI); "" when none
    started: float | None  # Unix time the trial started, if known
    ended: float | None  # Unix time of its last result, if known

    @property
    def is_baseline(self) -> bool:
        return self.arm == BASELINE_ARM

    def value(self, metric: str) -> float:
        """The metric's last reported value; NaN when it was never reported."""
        reported = self.metrics.get(metric)
        return math.nan if reported is None else float(reported)

    def objective_values(self, metrics: Sequence[str]) -> list[float] | None:
        """The values of ``metrics``, or None when one is missing or not finite."""
        values = [self.value(m) for m in metrics]
        return values if all(math.isfinite(v) for v in values) else None

    @property
    def effective_pairing(self) -> str | None:
        """How this trial's pair shared each batch, to match it with its baseline."""
        try:
            return TrialConfig.from_dict(self.config).effective_pairing
        except ConfigError:
            return None


@dataclass
class Report:
    """What ``write_report`` found and wrote."""

    results_dir: Path
    plan: SweepPlan
    space: SearchSpace
    trials: list[TrialRecord]  # every Tune trial, in the order Tune created them
    pareto: list[TrialRecord]  # the front, best first on the first objective
    baselines: list[TrialRecord]
    counts: dict[Status, int]  # search trials by status (every status, zeros included)
    baseline_of: dict[str, str]  # rankable search trial's id -> the baseline trial it is compared with
    files: dict[str, Path] = field(default_factory=dict)  # file name -> path written
    notes: list[str] = field(default_factory=list)  # what the folder lacked, said in summary.md

    @property
    def objectives(self) -> list[str]:
        return self.space.metric_names()

    @property
    def search_trials(self) -> list[TrialRecord]:
        return [t for t in self.trials if not t.is_baseline]

    def baseline_for(self, trial: TrialRecord) -> TrialRecord | None:
        wanted = self.baseline_of.get(trial.trial_id)
        return next((b for b in self.baselines if b.trial_id == wanted), None)


# -------------------------------------------------------------------- Pareto front
def pareto_front(values: list[list[float]], directions: list[str]) -> list[int]:
    """Indices (ascending) of the points no other point dominates.

    ``directions`` holds ``"max"`` or ``"min"`` per objective. A point dominates
    another when it is at least as good on every objective and better on one, so
    equal points do not dominate each other: duplicates are all on the front, as
    in Optuna's ``study.best_trials``.
    """
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"each direction must be 'max' or 'min', but got {d!r}")
    if not directions:
        raise ValueError("at least one direction is required, but got []")
    signed: list[list[float]] = []  # every objective turned into "larger is better"
    for i, point in enumerate(values):
        if len(point) != len(directions):
            raise ValueError(f"point {i} has {len(point)} values for {len(directions)} directions: {point!r}")
        if any(not math.isfinite(v) for v in point):
            raise ValueError(f"point {i} has a value that is not finite: {point!r}")
        signed.append([v if d == "max" else -v for v, d in zip(point, directions)])

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))

    return [i for i, p in enumerate(signed) if not any(dominates(q, p) for j, q in enumerate(signed) if j != i)]


# ------------------------------------------------------------------- error reasons
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILURE_HEADER = re.compile(r"^Failure # \d+", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:\([\w.]+\))?): (?P<message>\S.*)$")
_FRAME_LINE = re.compile(r'^\s+File "(?P<path>[^"]+)", line \d+')
# Frames in Ray or in Python's standard library: an exception raised there while
# Ray handled the trial's own error (e.g. copying it) is not the trial's reason.
_INTERNAL_FRAME = re.compile(r"(/ray/|/lib/python\d+\.\d+/(?!site-packages/))")


def error_reason(text: str) -> str:
    """The one line of a Tune ``error.txt`` that says why the trial failed.

    Tune appends one block per failed attempt ("Failure # N"); the last block
    counts. Within it, Ray wraps the trial's exception in its own (``ray.*``) and
    may raise more while handling it, so the answer is the last exception raised
    by the trial's own code, as ``Type: message`` without the module, e.g.
    ``DivergedError: diverged at epoch 1, step 3: the classifier loss is not finite``.
    Falls back to the last exception line, then the last non-empty line.
    """
    text = _ANSI.sub("", text)
    starts = [m.start() for m in _FAILURE_HEADER.finditer(text)]
    block = text[starts[-1]:] if starts else text
    found: list[tuple[str, str, bool]] = []  # (type, message, raised by the trial's own code)
    last_frame = ""
    for line in block.splitlines():
        frame = _FRAME_LINE.match(line)
        if frame:
            last_frame = frame.group("path")
            continue
        match = _EXCEPTION_LINE.match(line)
        if match and not line.startswith(("Failure #", "Traceback")):
            kind = match.group("type")
            own = not kind.startswith("ray.") and not _INTERNAL_FRAME.search(last_frame)
            found.append((kind, match.group("message").strip(), own))
            last_frame = ""
    chosen = next((f for f in reversed(found) if f[2]), None)
    if chosen is None:
        chosen = next((f for f in found if not f[0].startswith("ray.")), None)
    if chosen is None and found:
        chosen = found[-1]
    if chosen is not None:
        kind, message, _ = chosen
        short = kind.rsplit(".", 1)[-1] if "(" not in kind else kind
        return f"{short}: {message}"
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return lines[-1] if lines else "error.txt is empty"


# ------------------------------------------------------------ reading Tune's folder
def _is_uri(location: str) -> bool:
    return "://" in location


class _TuneFolder:
    """Read-only access to Tune's experiment folder, a local path or a URI (s3://, gs://)."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/") or "/"
        self._fs: Any = None
        self._root = self.location
        if _is_uri(location):
            try:
                # pyarrow comes with ray[tune]: Tune itself reads and writes its storage through it.
                from pyarrow import fs as pafs
            except ImportError as error:  # pragma: no cover - ray[tune] always brings pyarrow
                raise UserError(f"{location}: reading a Tune experiment from a URI needs pyarrow ({error})") from None
            try:
                self._fs, self._root = pafs.FileSystem.from_uri(location)
            except (ValueError, NotImplementedError, OSError) as error:  # pyarrow's errors derive from these
                raise UserError(f"{location}: cannot open the Tune experiment there: {error}") from None

    def where(self, *parts: str) -> str:
        return "/".join([self.location, *parts])

    def _path(self, *parts: str) -> str:
        return "/".join([self._root.rstrip("/"), *parts])

    def is_dir(self, *parts: str) -> bool:
        if self._fs is None:
            return Path(self._path(*parts)).is_dir()
        from pyarrow import fs as pafs

        return self._fs.get_file_info(self._path(*parts)).type == pafs.FileType.Directory

    def entries(self, *parts: str) -> list[tuple[str, bool]]:
        """(name, is a folder) of each entry, sorted by name; [] when missing."""
        if self._fs is None:
            folder = Path(self._path(*parts))
            if not folder.is_dir():
                return []
            return sorted((p.name, p.is_dir()) for p in folder.iterdir())
        from pyarrow import fs as pafs

        infos = self._fs.get_file_info(pafs.FileSelector(self._path(*parts), allow_not_found=True))
        return sorted((i.base_name, i.type == pafs.FileType.Directory) for i in infos)

    def read_text(self, *parts: str) -> str | None:
        """The file's text, or None when it does not exist."""
        try:
            if self._fs is None:
                return Path(self._path(*parts)).read_text(encoding="utf-8", errors="replace")
            with self._fs.open_input_stream(self._path(*parts)) as stream:
                return stream.read().decode("utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


@dataclass(frozen=True)
class _StateEntry:
    """What Tune's experiment state says of one trial."""

    trial_id: str
    status: str
    dirname: str
    config: dict[str, Any]
    started: float | None
    last_result: dict[str, Any]
    error_file: str | None


def _read_state(folder: _TuneFolder, notes: list[str]) -> list[_StateEntry] | None:
    """The trials of the newest experiment state, in Tune's order; None without one."""
    names = [name for name, is_dir in folder.entries() if not is_dir and _STATE_GLOB.match(name)]
    if not names:
        return None
    newest = max(names)  # the name holds the session's start time, YYYY-MM-DD_HH-MM-SS
    try:
        data = json.loads(folder.read_text(newest) or "")
        entries: list[_StateEntry] = []
        for item in data["trial_data"]:
            meta, run = json.loads(item[0]), json.loads(item[1])
            trial_id = str(meta["trial_id"])
            entries.append(_StateEntry(
                trial_id=trial_id,
                status=str(meta.get("status", "")),
                dirname=str(meta.get("relative_logdir") or meta.get("custom_dirname") or f"trial_{trial_id}"),
                config=dict(meta.get("config") or {}),
                started=run.get("start_time"),
                last_result=dict(run.get("last_result") or {}),
                error_file=run.get("error_filename"),
            ))
        return entries
    except (ValueError, KeyError, TypeError, IndexError) as error:
        notes.append(f"Tune's experiment state {newest} could not be read ({type(error).__name__}: {error}); "
                     "statuses were inferred from the trial folders")
        return None


def _parse_results(text: str | None) -> list[dict[str, Any]]:
    """result.json: one JSON object per reported epoch; a torn last line is skipped."""
    rows: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue  # written when the driver died
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _as_number(value: Any) -> float | int | None:
    """A reported metric as it was reported (epoch stays an int); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _epochs_done(last: Mapping[str, Any]) -> int:
    for key in ("epoch", "training_iteration"):
        value = last.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return int(value)
    return 0


def _trial_params(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """The space's params this trial's config has, in space order (conditional ones may be absent)."""
    return {name: config[name] for name in space.params if name in config}


def _trial_record(
    folder: _TuneFolder, space: SearchSpace, trial_id: str, dirname: str, state: _StateEntry | None
) -> TrialRecord:
    params_text = folder.read_text(dirname, "params.json")
    config: dict[str, Any] = {}
    if params_text:
        try:
            config = dict(json.loads(params_text))
        except (ValueError, TypeError):
            config = {}
    if not config and state is not None:
        config = dict(state.config)
    history = _parse_results(folder.read_text(dirname, "result.json"))
    if not history and state is not None and "epoch" in state.last_result:
        history = [state.last_result]  # results not synced from a remote node, but Tune saw them
    last = history[-1] if history else {}
    epochs = _epochs_done(last)
    max_epochs = int(config.get("epochs", TrialConfig.epochs))
    metrics = {name: _as_number(last.get(name)) for name in METRICS}

    error_text = folder.read_text(dirname, (state.error_file if state else None) or "error.txt")
    tune_status = state.status if state is not None else ""
    status: Status
    reason = ""
    if tune_status == "ERROR":
        status = "error"
        reason = error_reason(error_text) if error_text else "Tune marked the trial ERROR but wrote no error.txt"
    elif tune_status == "TERMINATED":
        status = "complete" if epochs >= max_epochs else "stopped_early"
    elif epochs >= max_epochs and history:
        # All epochs were reported; the driver died before Tune recorded the end.
        status = "complete"
    else:
        status = "interrupted"
        was = tune_status or "not yet recorded by Tune"
        reason = f"{was} when the sweep stopped, after {epochs} of {max_epochs} epochs; --resume continues it"
        if error_text:
            reason += f" (an earlier attempt failed: {error_reason(error_text)})"

    checkpoints = sorted(
        (int(m.group(1)), name) for name, is_dir in folder.entries(dirname)
        if is_dir and (m := _CHECKPOINT_DIR.match(name))
    )
    checkpoint = folder.where(dirname, checkpoints[-1][1]) if checkpoints else ""
    started = _as_float(state.started) if state is not None else None
    if started is None and history:
        started = _as_float(history[0].get("timestamp"))
    ended = _as_float(last.get("timestamp"))
    return TrialRecord(
        trial_id=trial_id,
        arm=BASELINE_ARM if config.get("arm") == BASELINE_ARM else SEARCH_ARM,
        status=status,
        reason=reason,
        epochs=epochs,
        max_epochs=max_epochs,
        config=config,
        params=_trial_params(space, config),
        metrics=metrics,
        history=tuple(history),
        checkpoint=checkpoint,
        started=started,
        ended=ended,
    )


def _tune_location(results_dir: Path, plan: SweepPlan) -> str:
    """Tune's folder: ``<results>/tune`` when it is here (also after the folder moved), else the plan's URI."""
    local = results_dir / TUNE_DIR
    if local.is_dir() or not _is_uri(plan.tune_storage):
        return str(local)
    return plan.tune_path


def _load(results_dir: Path) -> tuple[SweepPlan, SearchSpace]:
    if not results_dir.is_dir():
        raise UserError(f"{results_dir}: no such results folder (expected the folder a sweep printed, "
                        "e.g. experiments/<name>)")
    if not (results_dir / PLAN_FILE).is_file():
        raise UserError(f"{results_dir}: not a netsep results folder ({PLAN_FILE} is missing); "
                        "pass the folder a sweep printed when it started, e.g. experiments/<name>")
    if not (results_dir / SPACE_COPY).is_file():
        raise UserError(f"{results_dir}: {SPACE_COPY} is missing (the copy of the search space the sweep ran); "
                        f"copy the space file there as {SPACE_COPY}")
    try:
        return load_plan(results_dir)
    except (ValueError, TypeError) as error:
        raise UserError(f"{results_dir / PLAN_FILE}: cannot be read as a sweep plan "
                        f"({type(error).__name__}: {error})") from None


def read_trials(results_dir: str | Path) -> tuple[SweepPlan, SearchSpace, list[TrialRecord], list[str]]:
    """Every Tune trial of a results folder, in the order Tune created them.

    Returns the plan, the space, the trials and notes on what the folder lacked.
    ``UserError`` when the folder is not a results folder or holds no Tune experiment.
    """
    results_dir = Path(results_dir)
    plan, space = _load(results_dir)
    folder = _TuneFolder(_tune_location(results_dir, plan))
    if not folder.is_dir():
        raise UserError(f"{results_dir}: no Ray Tune experiment at {folder.location} (the sweep started no "
                        "trial yet, or its tune/ folder was removed or not copied along)")
    notes: list[str] = []
    state = _read_state(folder, notes)
    if state is None and not notes:
        notes.append("Tune had saved no experiment state yet; statuses were inferred from the trial folders")
    records: list[TrialRecord] = []
    known_dirs: set[str] = set()
    for entry in state or []:
        records.append(_trial_record(folder, space, entry.trial_id, entry.dirname, entry))
        known_dirs.add(entry.dirname)
    # Trial folders the saved state does not list (the driver died before saving it again).
    unlisted: list[TrialRecord] = []
    for name, is_dir in folder.entries():
        if not is_dir or name in known_dirs:
            continue
        files = {n for n, d in folder.entries(name) if not d}
        if not files & {"params.json", "result.json"}:
            continue
        first = next(iter(_parse_results(folder.read_text(name, "result.json"))), {})
        trial_id = str(first.get("trial_id") or name.removeprefix("trial_"))
        unlisted.append(_trial_record(folder, space, trial_id, name, None))
    unlisted.sort(key=lambda r: (r.started if r.started is not None else math.inf, r.trial_id))
    records.extend(unlisted)
    return plan, space, records, notes


# ------------------------------------------------------------------ the comparison
def _directions(space: SearchSpace) -> list[str]:
    return [o.direction for o in space.objectives]


def _rankable(trial: TrialRecord, objectives: Sequence[str]) -> bool:
    return not trial.is_baseline and trial.status == "complete" and trial.objective_values(objectives) is not None


def _nan_reason(trial: TrialRecord, objectives: Sequence[str]) -> str:
    bad = [m for m in objectives if not math.isfinite(trial.value(m))]
    missing = [m for m in bad if trial.metrics.get(m) is None]
    if missing:
        return f"objective {', '.join(missing)} was never reported"
    return f"objective {', '.join(bad)} is not a finite number ({', '.join(str(trial.metrics[m]) for m in bad)})"


def _with_nan_reasons(trials: list[TrialRecord], objectives: Sequence[str]) -> list[TrialRecord]:
    """Complete search trials whose objectives are not finite say why they are not ranked."""
    out = []
    for t in trials:
        if not t.is_baseline and t.status == "complete" and t.objective_values(objectives) is None and not t.reason:
            t = replace(t, reason=_nan_reason(t, objectives))
        out.append(t)
    return out


def _match_baselines(trials: list[TrialRecord], baselines: list[TrialRecord], objectives: Sequence[str]) -> dict[str, str]:
    """Each trial's baseline: the complete one whose batches were shared the same way.

    With one baseline it is everyone's (also if a trial's config cannot tell its
    pairing); a stopped-early or failed baseline is no yardstick.
    """
    usable = [b for b in baselines if b.status == "complete" and b.objective_values(objectives) is not None]
    matched: dict[str, str] = {}
    for trial in trials:
        same = [b for b in usable if b.effective_pairing == trial.effective_pairing]
        if same:
            matched[trial.trial_id] = same[0].trial_id
        elif len(usable) == 1 and len(baselines) == 1:
            matched[trial.trial_id] = usable[0].trial_id
    return matched


def _better(value: float, other: float, direction: str) -> bool:
    return value > other if direction == "max" else value < other


def _beats(trial: TrialRecord, baseline: TrialRecord, objectives: Sequence[str], directions: Sequence[str]) -> bool:
    """Strictly better than the baseline on every objective."""
    mine, theirs = trial.objective_values(objectives), baseline.objective_values(objectives)
    if mine is None or theirs is None:
        return False
    return all(_better(a, b, d) for a, b, d in zip(mine, theirs, directions))


# --------------------------------------------------------------------- formatting
def _cell(value: Any) -> str:
    """CSV text: exact floats (repr), YAML-style booleans and null, blank for absent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}f}"


def _signed(value: float, digits: int = 4) -> str:
    return f"{value:+.{digits}f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _arrow(direction: str) -> str:
    return "higher is better" if direction == "max" else "lower is better"


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts is not None else "-"


def _write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in rows)])


# ------------------------------------------------------------------ the CSV files
def _param_cell(config: Mapping[str, Any], name: str) -> Any:
    """A param's CSV value: blank when the trial lacks it, "null" for a chosen null."""
    if name not in config:
        return None
    return "null" if config[name] is None else config[name]


def _trials_csv(report: Report, path: Path) -> None:
    params = list(report.space.params)
    header = ["trial_id", "arm", "status", "reason", "epochs", "max_epochs", *params, *METRICS, "checkpoint"]
    rows = [
        [t.trial_id, t.arm, t.status, t.reason, t.epochs, t.max_epochs,
         *(_param_cell(t.config, p) for p in params), *(t.metrics[m] for m in METRICS), t.checkpoint]
        for t in report.trials
    ]
    _write_csv(path, header, rows)


def _pareto_csv(report: Report, path: Path) -> None:
    objectives, directions = report.objectives, _directions(report.space)
    params = list(report.space.params)
    number = {t.trial_id: i for i, t in enumerate(report.search_trials)}
    header = ["trial_id", "optuna_number", *objectives, "baseline_trial_id",
              *(f"delta_{m}" for m in objectives), "beats_baseline", *params, "epochs", "checkpoint"]
    rows = []
    for t in report.pareto:
        values = t.objective_values(objectives) or []
        base = report.baseline_for(t)
        base_values = base.objective_values(objectives) if base else None
        deltas = [a - b for a, b in zip(values, base_values)] if base_values else [None] * len(objectives)
        beats = (_beats(t, base, objectives, directions) if base else None)
        rows.append([t.trial_id, number[t.trial_id], *values, base.trial_id if base else None, *deltas,
                     None if beats is None else ("yes" if beats else "no"),
                     *(_param_cell(t.config, p) for p in params),
                     t.epochs, t.checkpoint])
    _write_csv(path, header, rows)


# ------------------------------------------------------------------- the Optuna study
def _plan_time(report: Report) -> float:
    """When the sweep was planned (sweep.json's ``created``), else its first trial's start."""
    try:
        return datetime.strptime(report.plan.created, "%Y-%m-%d %H:%M:%S").timestamp()
    except (TypeError, ValueError):
        started = [t.started for t in report.trials if t.started is not None]
        return min(started) if started else 0.0


def _optuna_db(report: Report, path: Path) -> None:
    """A fresh SQLite study of the search trials, in the order Optuna proposed them."""
    import optuna

    if path.exists():
        path.unlink()
    # Optuna logs each study it creates at INFO; the rebuild is not news, so quiet it meanwhile.
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        _fill_study(report, path)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _fill_study(report: Report, path: Path) -> None:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import TrialState, create_trial

    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    objectives = report.objectives
    directions = [optuna.study.StudyDirection.MAXIMIZE if d == "max" else optuna.study.StudyDirection.MINIMIZE
                  for d in _directions(report.space)]
    study = optuna.create_study(storage=storage, study_name=report.plan.name, directions=directions)
    with warnings.catch_warnings():
        # Experimental since Optuna 3.2, still so in 5.0; it names the objectives in Optuna's dashboard.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(objectives)
    study.set_user_attr("space_file", report.plan.space_file)
    study.set_user_attr("created", report.plan.created)
    study.set_user_attr("results_dir", str(report.results_dir))
    watched = report.plan.early_stop or objectives[0]  # the metric ASHA compared trials on
    planned = _plan_time(report)
    for trial in report.search_trials:
        values = trial.objective_values(objectives)
        if trial.status == "complete" and values is not None:
            state = TrialState.COMPLETE
        elif trial.status == "stopped_early":
            state, values = TrialState.PRUNED, None
        else:
            state, values = TrialState.FAIL, None
        distributions: dict[str, BaseDistribution] = {
            name: report.space.params[name].distribution() for name in trial.params}
        intermediate = {}
        for row in trial.history:
            value = _as_float(row.get(watched))
            step = _epochs_done(row)
            if value is not None and math.isfinite(value) and step > 0:
                intermediate[step] = value
        user_attrs: dict[str, Any] = {
            "tune_trial_id": trial.trial_id,
            "status": trial.status,
            "reason": trial.reason,
            "checkpoint": trial.checkpoint,
            "epochs": trial.epochs,
            **{f"final_{m}": trial.metrics[m] for m in METRICS},
        }
        try:
            frozen = create_trial(state=state, values=values, params=dict(trial.params),
                                  distributions=distributions, user_attrs=user_attrs,
                                  intermediate_values=intermediate)
        except ValueError as error:
            raise UserError(f"{report.results_dir / SPACE_COPY}: trial {trial.trial_id}'s params {trial.params} "
                            f"do not fit the space ({error}); was {SPACE_COPY} edited after the sweep?") from None
        # Tune's clock, not the time of this rebuild, so two rebuilds give the same study. Optuna
        # wants a start for every finished trial; one that never started gets the sweep's start.
        start = trial.started if trial.started is not None else planned
        frozen.datetime_start = datetime.fromtimestamp(start)
        frozen.datetime_complete = datetime.fromtimestamp(max(start, trial.ended or start))
        study.add_trial(frozen)
    # Close SQLAlchemy's pooled connection: the file is complete and nothing holds it open.
    storage.remove_session()
    storage.engine.dispose()


# ------------------------------------------------------------------------ the plot
def _plot(report: Report, path: Path) -> None:
    """pareto.png. One objective: value per trial number. Two: the plane. More: every pair."""
    # Agg, and no pyplot: no global backend choice, no figure left open in a registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    objectives = report.objectives
    k = len(objectives)
    if k <= 2:
        fig = Figure(figsize=(7.5, 5.5), dpi=110)
        ax = fig.add_subplot(1, 1, 1)
        if k == 1:
            _draw_single(report, ax)
        else:
            _draw_pair(report, ax, 0, 1, connect=True)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", fontsize=8)
    else:
        # A lower-triangle grid of every pair of objectives; the front is non-dominated in
        # all of them at once, so it is highlighted in each panel but not connected.
        n = k - 1
        fig = Figure(figsize=(3.6 * n + 1, 3.3 * n + 1), dpi=100)
        handles: Any = None
        for row in range(n):
            for col in range(n):
                if col > row:
                    continue
                ax = fig.add_subplot(n, n, row * n + col + 1)
                _draw_pair(report, ax, col, row + 1, connect=False, small=True)
                handles = ax.get_legend_handles_labels()
        if handles and handles[0]:
            # Into the empty upper-right corner of the triangle, below the title.
            fig.legend(*handles, loc="upper right", bbox_to_anchor=(0.97, 0.9), fontsize=8)
    complete = _plural(report.counts["complete"], "complete search trial")
    if k == 1:
        title = f"{report.plan.name}: {objectives[0]} of {complete}"
    else:
        title = f"{report.plan.name}: {len(report.pareto)} on the Pareto front of {complete}"
    fig.suptitle(title, fontsize=10)
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})


def _draw_pair(report: Report, ax: Any, i: int, j: int, connect: bool, small: bool = False) -> None:
    objectives, directions = report.objectives, _directions(report.space)
    xm, ym = objectives[i], objectives[j]

    def xy(trials: Iterable[TrialRecord]) -> tuple[list[float], list[float]]:
        pts = [(t.value(xm), t.value(ym)) for t in trials]
        pts = [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
        return [p[0] for p in pts], [p[1] for p in pts]

    front_ids = {t.trial_id for t in report.pareto}
    complete = [t for t in report.search_trials if t.status == "complete" and t.trial_id not in front_ids]
    early = [t for t in report.search_trials if t.status == "stopped_early"]
    size = 14 if small else 28
    if early:
        ax.scatter(*xy(early), s=size, color="tab:gray", alpha=0.3, label="stopped early (partial training)")
    if complete:
        ax.scatter(*xy(complete), s=size, color="tab:blue", alpha=0.75, label="complete")
    if report.pareto:
        fx, fy = xy(report.pareto)
        ax.scatter(fx, fy, s=size * 2, color="tab:red", edgecolor="black", linewidth=0.6, zorder=3,
                   label="Pareto front")
        if connect and len(fx) > 1:
            order = sorted(range(len(fx)), key=lambda n: (fx[n], fy[n]))
            ax.plot([fx[n] for n in order], [fy[n] for n in order], color="tab:red", linewidth=1.2, zorder=2)
        if not small:
            for t, x, y in zip(report.pareto, fx, fy):
                ax.annotate(t.trial_id, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    for base in report.baselines:
        bx, by = xy([base])
        if bx:
            faded = base.status != "complete"
            ax.scatter(bx, by, s=size * 4, marker="*", color="black", alpha=0.35 if faded else 1.0, zorder=4,
                       label="baseline (independent)" + (f", {base.status}" if faded else ""))
            if not small:
                ax.annotate(f"baseline {base.trial_id}", (bx[0], by[0]), textcoords="offset points",
                            xytext=(5, -11), fontsize=7)
    ax.set_xlabel(f"{xm} ({_arrow(directions[i])})", fontsize=8 if small else 10)
    ax.set_ylabel(f"{ym} ({_arrow(directions[j])})", fontsize=8 if small else 10)
    ax.grid(True, alpha=0.3)
    if not report.pareto and not complete and not early:
        ax.text(0.5, 0.5, "no finished search trial yet", transform=ax.transAxes, ha="center", va="center")


def _draw_single(report: Report, ax: Any) -> None:
    metric, direction = report.objectives[0], _directions(report.space)[0]
    front_ids = {t.trial_id for t in report.pareto}
    search = report.search_trials
    points: dict[str, list[tuple[int, float]]] = {"complete": [], "front": [], "stopped_early": []}
    for number, t in enumerate(search):
        value = t.value(metric)
        if not math.isfinite(value):
            continue
        if t.trial_id in front_ids:
            points["front"].append((number, value))
        elif t.status in ("complete", "stopped_early"):
            points[t.status].append((number, value))
    if points["stopped_early"]:
        ax.scatter(*zip(*points["stopped_early"]), s=28, color="tab:gray", alpha=0.3,
                   label="stopped early (partial training)")
    if points["complete"]:
        ax.scatter(*zip(*points["complete"]), s=28, color="tab:blue", alpha=0.75, label="complete")
    if points["front"]:
        ax.scatter(*zip(*points["front"]), s=60, color="tab:red", edgecolor="black", zorder=3, label="best")
    # The best value so far among rankable trials, as a step line.
    best: list[tuple[int, float]] = []
    for number, t in enumerate(search):
        if _rankable(t, [metric]):
            value = t.value(metric)
            if not best or _better(value, best[-1][1], direction):
                best.append((number, value))
    if best:
        xs = [b[0] for b in best] + [len(search) - 1]
        ys = [b[1] for b in best] + [best[-1][1]]
        ax.step(xs, ys, where="post", color="tab:red", linewidth=1.2, label="best so far")
    for base in report.baselines:
        value = base.value(metric)
        if math.isfinite(value):
            ax.axhline(value, color="black", linestyle="--", linewidth=1.2,
                       label=f"baseline {base.trial_id} (independent)")
            ax.scatter([-0.5], [value], marker="*", s=120, color="black", zorder=4)
    ax.set_xlabel("search trial number (order Optuna proposed them)")
    ax.set_ylabel(f"{metric} ({_arrow(direction)})")
    ax.grid(True, alpha=0.3)
    if any(points.values()) or report.baselines:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished search trial yet", transform=ax.transAxes, ha="center", va="center")


# ----------------------------------------------------------------------- summary.md
def _describe_param(param: Param) -> str:
    if isinstance(param, CategoricalParam):
        text = "one of " + ", ".join(_param_text(c) for c in param.choices)
    else:
        kind = "int" if isinstance(param, IntParam) else "float"
        text = f"{kind} in [{param.low:g}, {param.high:g}]"
        if param.log:
            text += ", log scale"
        if param.step not in (None, 1) or (isinstance(param, FloatParam) and param.step is not None):
            text += f", step {param.step:g}"
    if param.when:
        text += " (only when " + "; ".join(f"{k} in {', '.join(map(_param_text, v))}" for k, v in param.when.items()) + ")"
    return text


def _params_inline(trial: TrialRecord) -> str:
    return ", ".join(f"{k}={_param_text(v)}" for k, v in trial.params.items()) or "-"


def _front_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The front (and the baselines below it) as table rows; shared by summary.md and the terminal."""
    objectives, directions = report.objectives, _directions(report.space)
    params = list(report.space.params)
    arrows = ["↑" if d == "max" else "↓" for d in directions]
    header = ["trial", *(f"{m} {a}" for m, a in zip(objectives, arrows))]
    if report.baselines:
        header += [f"Δ {m}" for m in objectives]
    header += [*params, "epochs"]
    rows: list[list[str]] = []
    for t in report.pareto:
        values = t.objective_values(objectives) or []
        row = [t.trial_id, *(_num(v) for v in values)]
        if report.baselines:
            base = report.baseline_for(t)
            bv = base.objective_values(objectives) if base else None
            row += [_signed(a - b) for a, b in zip(values, bv)] if bv else ["-"] * len(objectives)
        row += [(_param_text(t.config[p]) if p in t.config else "-") for p in params]
        row.append(f"{t.epochs}")
        rows.append(row)
    for base in report.baselines:
        label = f"baseline {base.trial_id}" + ("" if base.status == "complete" else f" ({base.status})")
        row = [label, *(_num(base.metrics.get(m)) for m in objectives)]
        row += ["0"] * len(objectives) if base.status == "complete" else ["-"] * len(objectives)
        row += [(_param_text(base.config[p]) if p in base.config else "-") for p in params]
        row.append(f"{base.epochs}")
        rows.append(row)
    return header, rows


def _summary(report: Report) -> str:
    plan, space = report.plan, report.space
    objectives, directions = report.objectives, _directions(space)
    fixed = plan.fixed
    search = report.search_trials
    counts = report.counts
    finished = counts["complete"] + counts["stopped_early"] + counts["error"]
    baselines_planned = len(planned_baselines(plan, space))
    started = [t.started for t in report.trials if t.started is not None]
    ended = [t.ended for t in report.trials if t.ended is not None]
    out: list[str] = [f"# Sweep `{plan.name}`", ""]
    if report.notes:
        out += ["> **Note:** " + note for note in report.notes] + [""]

    out += ["## What ran", ""]
    out.append(f"- Space: `{space.name}` — {space.description or '(no description)'}; "
               f"run from `{plan.space_file}` (copy: `{SPACE_COPY}`)")
    out.append(f"- Dataset: {fixed.get('dataset', space.dataset)}; classifier: "
               f"{fixed.get('classifier', TrialConfig.classifier)}; training objective: "
               + (f"searched ({', '.join(map(str, space.params['objective'].choices))})"  # type: ignore[union-attr]
                  if "objective" in space.params else str(fixed.get('objective', TrialConfig.objective)))
               + f"; {fixed.get('epochs', TrialConfig.epochs)} epochs per trial")
    shown_fixed = {k: v for k, v in fixed.items() if k not in ("dataset",)}
    out.append("- Fixed settings: " + (", ".join(f"{k}={_param_text(v)}" for k, v in sorted(shown_fixed.items())) or "none"))
    out.append("- Searched: " + "; ".join(f"{n} {_describe_param(p)}" for n, p in space.params.items()))
    out.append("- Objectives: " + ", ".join(f"{m} ({'max' if d == 'max' else 'min'}imize)" for m, d in zip(objectives, directions)))
    out.append(f"- Sampler: {space.sampler} (seed {space.seed})")
    out.append(f"- Search trials: {plan.trials} requested, {len(search)} started, {finished} finished "
               f"({counts['complete']} complete, {counts['stopped_early']} stopped early, {counts['error']} failed), "
               f"{counts['interrupted']} interrupted")
    if plan.baseline:
        states = ", ".join(f"{b.trial_id} {b.status}" for b in report.baselines) or "none started"
        out.append(f"- Baseline (`independent`, same fixed settings): {baselines_planned} planned; {states}")
    else:
        out.append("- Baseline: not run (the space sets `baseline: false`)")
    gpus = plan.gpus_per_trial
    out.append(f"- Resources per trial: {plan.cpus_per_trial:g} CPU, {gpus:g} GPU; at most "
               f"{plan.max_concurrent} at once; retries per trial: {plan.max_failures}"
               if plan.cpus_per_trial is not None and gpus is not None and plan.max_concurrent is not None
               else "- Resources per trial: not recorded")
    out.append(f"- Early stopping: ASHA on {plan.early_stop}" if plan.early_stop else "- Early stopping: none")
    when = f"- When: planned {plan.created}"
    if started:
        when += f"; first trial started {_when(min(started))}"
    if ended:
        when += f", last result {_when(max(ended))}"
    out.append(when)
    out.append("")

    out += ["## Pareto front", ""]
    if report.pareto:
        header, rows = _front_rows(report)
        out.append(f"{len(report.pareto)} of {sum(_rankable(t, objectives) for t in search)} rankable search trials "
                   "are non-dominated (↑ higher is better, ↓ lower is better"
                   + ("; Δ is the difference from the baseline" if report.baselines else "") + "):")
        out += ["", _md_table(header, rows), ""]
    else:
        out += ["No complete search trial with finite objective values yet: the front is empty.", ""]

    out += ["## Best trade-offs", ""]
    rankable = [t for t in search if _rankable(t, objectives)]
    if rankable:
        for m, d in zip(objectives, directions):
            sign = 1.0 if d == "max" else -1.0
            best = max(rankable, key=lambda t: sign * t.value(m))
            line = f"- Best {m}: `{best.trial_id}` with {_num(best.value(m))} ({_params_inline(best)})"
            base = report.baseline_for(best)
            if base is not None:
                line += f"; baseline {_num(base.value(m))}, {_signed(best.value(m) - base.value(m))}"
            out.append(line)
        winners = [t for t in report.pareto if (b := report.baseline_for(t)) is not None and _beats(t, b, objectives, directions)]
        if not report.baselines or not report.baseline_of:
            out.append("- No complete baseline to compare with.")
        elif winners:
            out.append(f"- Beat the baseline on every objective: {', '.join(f'`{t.trial_id}`' for t in winners)} "
                       f"({len(winners)} of {len(report.pareto)} front members)")
        else:
            out.append(f"- None of the {len(report.pareto)} front members beats the baseline on every objective.")
    else:
        out.append("- None yet.")
    out.append("")

    errors = [t for t in report.trials if t.status == "error"]
    out += ["## Failed trials", ""]
    if errors:
        out += [f"- `{t.trial_id}` ({t.arm}; {_params_inline(t)}), after {_plural(t.epochs, 'epoch')}: {t.reason}"
                for t in errors]
    else:
        out.append("None.")
    out.append("")

    early = [t for t in search if t.status == "stopped_early"]
    out += ["## Stopped early", ""]
    if early:
        spans = sorted({t.epochs for t in early})
        out.append(f"{_plural(len(early), 'search trial')} {'was' if len(early) == 1 else 'were'} stopped early"
                   + (f" by ASHA on {plan.early_stop}" if plan.early_stop else "")
                   + f", after {', '.join(map(str, spans))} of {fixed.get('epochs', TrialConfig.epochs)} epochs; "
                   "they are kept off the front (their values are from partial training).")
    else:
        out.append("None.")
    out.append("")

    stopped = [t for t in report.trials if t.status == "interrupted"]
    nan = [t for t in search if t.status == "complete" and t.objective_values(objectives) is None]
    if stopped or nan:
        out += ["## Not ranked", ""]
        out += [f"- `{t.trial_id}` ({t.arm}) interrupted: {t.reason}" for t in stopped]
        out += [f"- `{t.trial_id}` complete but {t.reason}" for t in nan]
        out.append("")

    out += ["## Files", ""]
    db = report.results_dir / OPTUNA_DB
    out += [
        f"- `{TRIALS_CSV}`: every Tune trial: arm, status, reason, epochs, searched params, final metrics, checkpoint",
        f"- `{PARETO_CSV}`: the front, with each member's difference from the baseline",
        f"- `{PARETO_PNG}`: " + ("the objective per trial" if len(objectives) == 1 else
                                 "the first two objectives" if len(objectives) == 2 else "every pair of objectives")
        + ", front highlighted, baseline marked",
        (f"- `{OPTUNA_DB}`: Optuna study `{plan.name}` of the search trials: "
         f"`optuna.load_study(study_name=\"{plan.name}\", storage=\"sqlite:///{db}\")` "
         f"or `optuna-dashboard sqlite:///{db}`"),
        f"- `{SUMMARY_MD}`: this file (rebuild with `python launch.py report {report.results_dir}`)",
        f"- `{PLAN_FILE}`, `{SPACE_COPY}`: the plan and the space as run (`--resume` reads them)",
        f"- `{TUNE_DIR}/`: Ray Tune's experiment folder (per trial: params.json, result.json, checkpoints)",
    ]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- entry points
def write_report(results_dir: Path) -> Report:
    """Rebuild every report file of ``results_dir`` from the folder alone; see the module doc."""
    results_dir = Path(results_dir)
    plan, space, trials, notes = read_trials(results_dir)
    objectives, directions = space.metric_names(), _directions(space)
    trials = _with_nan_reasons(trials, objectives)
    search = [t for t in trials if not t.is_baseline]
    baselines = [t for t in trials if t.is_baseline]
    candidates = [t for t in search if _rankable(t, objectives)]
    points = [t.objective_values(objectives) or [] for t in candidates]  # all finite: they are rankable
    front_idx = pareto_front(points, directions) if candidates else []
    primary = 1.0 if directions[0] == "max" else -1.0
    front = sorted((candidates[i] for i in front_idx), key=lambda t: -primary * t.value(objectives[0]))
    counts: dict[Status, int] = {s: sum(t.status == s for t in search) for s in STATUSES}
    report = Report(results_dir=results_dir, plan=plan, space=space, trials=trials, pareto=front,
                    baselines=baselines, counts=counts,
                    baseline_of=_match_baselines(candidates, baselines, objectives), notes=notes)
    writers = [(TRIALS_CSV, _trials_csv), (PARETO_CSV, _pareto_csv), (OPTUNA_DB, _optuna_db),
               (PARETO_PNG, _plot)]
    try:
        for name, write in writers:
            write(report, results_dir / name)
            report.files[name] = results_dir / name
        (results_dir / SUMMARY_MD).write_text(_summary(report), encoding="utf-8")
        report.files[SUMMARY_MD] = results_dir / SUMMARY_MD
    except (OSError, sqlite3.Error) as error:
        raise UserError(f"{results_dir}: cannot write the report there ({type(error).__name__}: {error})") from None
    return report


def print_final(report: Report) -> None:
    """The front, the baseline below it, counts by status and the folder, as plain text."""
    objectives = report.objectives
    print()
    if report.pareto:
        print(f"Pareto front: {len(report.pareto)} non-dominated of {report.counts['complete']} complete search trials "
              f"({', '.join(f'{m} {d}' for m, d in zip(objectives, _directions(report.space)))})")
        header, rows = _front_rows(report)
        print(_text_table(header, rows))
    else:
        print("Pareto front: empty (no complete search trial with finite objective values)")
        for base in report.baselines:
            values = ", ".join(f"{m}={_num(base.metrics.get(m))}" for m in objectives)
            print(f"  baseline {base.trial_id} ({base.status}): {values}")
    c = report.counts
    print(f"\nSearch trials: {c['complete']} complete, {c['stopped_early']} stopped early, "
          f"{c['error']} error, {c['interrupted']} interrupted (of {report.plan.trials} requested)")
    if report.baselines:
        print("Baseline: " + ", ".join(f"{b.trial_id} {b.status}" for b in report.baselines))
    for t in report.trials:
        if t.status == "error":
            print(f"  error {t.trial_id} ({t.arm}): {t.reason}")
    for note in report.notes:
        print(f"Note: {note}")
    print(f"Results: {report.results_dir.resolve()}  (summary.md, trials.csv, pareto.csv, pareto.png, optuna.db)")
