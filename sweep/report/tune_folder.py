"""Read one Ray Tune experiment folder, a local path or a URI: for the report and compare.

What comes from where:

* the trial list and, per trial, Tune's status, config, creation order and start
  time: Ray's public ``ray.tune.ExperimentAnalysis`` (it reads the newest
  ``experiment_state-*.json`` the way ``Tuner.restore`` does);
* a scan of the folder where that API cannot serve:

  - no state file yet (the driver died before Tune first saved one):
    ``ExperimentAnalysis`` raises, the trial folders are all there is;
  - trial folders started after the last state save: the state does not list them;
  - ``result.json`` with a torn last line (the driver died mid-write):
    ``ExperimentAnalysis`` parses every line and drops the whole history of that
    trial, so the lines are parsed here, skipping the one that does not parse;
  - checkpoints: the state lags the folder (a checkpoint written after the last
    save is on disk only), so the ``checkpoint_*`` folders are listed;
  - ``error.txt``: read as text, also for a trial the state no longer lists as
    errored (a resume clears its error file name).

Nothing here writes, starts Ray or judges a trial (``sweep.report.status`` does).
Like ``Tuner.restore``, ``ExperimentAnalysis`` unpickles parts of the state file:
read only experiment folders you trust.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sweep.errors import UserError
from sweep.paths import is_uri

__all__ = ["TuneTrial", "TuneExperiment", "experiment_exists", "read_experiment", "parse_results", "epochs_done"]

_STATE_FILE = re.compile(r"^experiment_state-.*\.json$")
_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")
_TRIAL_FILES = {"params.json", "result.json"}  # a folder holding one of these is a trial's


@dataclass(frozen=True)
class TuneTrial:
    """One trial as its experiment folder shows it."""

    trial_id: str
    dirname: str  # its folder, relative to the experiment
    status: str  # Tune's: TERMINATED, ERROR, RUNNING, PENDING, PAUSED; "" when Tune never recorded it
    config: dict[str, Any]  # what it ran with (params.json, else the state's config)
    results: tuple[dict[str, Any], ...]  # every parsed result.json line, in order
    error_text: str | None  # error.txt, when there is one
    checkpoints: tuple[str, ...]  # checkpoint folder locations (path or URI), oldest first
    started: float | None  # Unix time it started, when known

    @property
    def last_result(self) -> dict[str, Any]:
        return self.results[-1] if self.results else {}

    @property
    def epochs(self) -> int:
        """Epochs reported (the trial's own ``epoch`` count, which survives a resume)."""
        return epochs_done(self.last_result)

    @property
    def ended(self) -> float | None:
        """Unix time of its last result, when known."""
        return _as_time(self.last_result.get("timestamp"))


@dataclass(frozen=True)
class TuneExperiment:
    location: str  # as given: a local path or a URI
    trials: tuple[TuneTrial, ...]  # in the order Tune created them
    notes: tuple[str, ...]  # what the folder lacked, for people


def epochs_done(result: Mapping[str, Any]) -> int:
    for key in ("epoch", "training_iteration"):
        value = result.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return int(value)
    return 0


def parse_results(text: str | None) -> list[dict[str, Any]]:
    """result.json: one JSON object per reported epoch; a line that does not parse is skipped."""
    rows: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            continue  # a torn line, written when the driver died
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _as_time(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class _Storage:
    """Read-only access to the experiment folder through pyarrow (what Tune itself uses)."""

    def __init__(self, location: str) -> None:
        from pyarrow import fs as pafs  # comes with ray[tune]

        self.location = location.rstrip("/") or "/"
        if is_uri(location):
            try:
                self.fs, self.root = pafs.FileSystem.from_uri(location)
            except (ValueError, NotImplementedError, OSError) as error:  # pyarrow's errors derive from these
                raise UserError(f"{location}: cannot open the Tune experiment there: {error}") from None
        else:
            self.fs, self.root = pafs.LocalFileSystem(), os.path.abspath(location)
        self.root = self.root.rstrip("/") or "/"

    def where(self, *parts: str) -> str:
        """A location for people and for the report's files: path or URI as the caller gave it."""
        return "/".join([self.location, *parts])

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def is_dir(self, *parts: str) -> bool:
        from pyarrow import fs as pafs

        return self.fs.get_file_info(self.path(*parts)).type == pafs.FileType.Directory

    def entries(self, *parts: str) -> list[tuple[str, bool]]:
        """(name, is a folder) of each entry, sorted by name; [] when missing."""
        from pyarrow import fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(self.path(*parts), allow_not_found=True))
        return sorted((i.base_name, i.type == pafs.FileType.Directory) for i in infos)

    def read_text(self, *parts: str) -> str | None:
        """The file's text, or None when it is not a file."""
        from pyarrow import fs as pafs

        if self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return stream.read().decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Listed:
    """What Tune's saved state says of one trial."""

    trial_id: str
    dirname: str
    status: str
    config: dict[str, Any]
    started: float | None
    last_result: dict[str, Any]
    tag: str  # Tune's experiment_tag, "<creation number>_<params>"


@contextmanager
def _quiet_analysis() -> Iterator[None]:
    # ExperimentAnalysis warns for every trial whose result.json it cannot parse or
    # find (torn line, never started); those are read here, so the warning is noise.
    logger = logging.getLogger("ray.tune.analysis.experiment_analysis")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _listed_trials(storage: _Storage, notes: list[str]) -> list[_Listed] | None:
    """The trials of Tune's newest saved state, via ExperimentAnalysis; None without a usable one."""
    if not any(_STATE_FILE.match(name) for name, is_dir in storage.entries() if not is_dir):
        notes.append("Tune had saved no experiment state yet; statuses were inferred from the trial folders")
        return None
    from ray.tune import ExperimentAnalysis

    try:
        with _quiet_analysis():
            analysis = ExperimentAnalysis(storage.root, storage_filesystem=storage.fs)
    except Exception as error:  # noqa: BLE001 - any unreadable state (torn JSON, a pickle from another Ray) means: scan
        notes.append(
            f"Tune's experiment state could not be read ({type(error).__name__}: {error}); "
            "statuses were inferred from the trial folders"
        )
        return None
    listed = []
    for trial in analysis.trials:
        started = _as_time(trial.run_metadata.start_time)
        status = str(trial.status)
        if status == "PENDING" and started is not None:
            # Tune turns RUNNING into PENDING when it reads its state back; a start time tells them apart.
            status = "RUNNING"
        listed.append(
            _Listed(
                trial_id=str(trial.trial_id),
                dirname=os.path.basename(str(trial.path).rstrip("/")),
                status=status,
                config=dict(trial.config or {}),
                started=started,
                last_result=dict(trial.last_result or {}),
                tag=str(trial.experiment_tag or ""),
            )
        )
    return listed


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}


def _read_trial(storage: _Storage, dirname: str, trial_id: str, listed: _Listed | None) -> TuneTrial:
    config = _json_object(storage.read_text(dirname, "params.json")) or (dict(listed.config) if listed else {})
    results = parse_results(storage.read_text(dirname, "result.json"))
    if not results and listed is not None and "epoch" in listed.last_result:
        results = [listed.last_result]  # results not synced from a remote node, but Tune saw them
    checkpoints = sorted(
        (int(m.group(1)), name)
        for name, is_dir in storage.entries(dirname)
        if is_dir and (m := _CHECKPOINT_DIR.match(name))
    )
    started = listed.started if listed is not None else None
    if started is None and results:
        started = _as_time(results[0].get("timestamp"))
    return TuneTrial(
        trial_id=trial_id,
        dirname=dirname,
        status=listed.status if listed else "",
        config=config,
        results=tuple(results),
        error_text=storage.read_text(dirname, "error.txt"),
        checkpoints=tuple(storage.where(dirname, name) for _, name in checkpoints),
        started=started,
    )


def _creation_number(tag: Any) -> float:
    """Tune's creation counter, the number before the first ``_`` of an experiment_tag; inf when unknown."""
    head = str(tag or "").split("_", 1)[0]
    return float(head) if head.isdigit() else math.inf


def _unlisted_trials(storage: _Storage, known: set[str]) -> list[TuneTrial]:
    """Trial folders the saved state does not list (the driver died before saving it again)."""
    found = []
    for name, is_dir in storage.entries():
        if not is_dir or name in known:
            continue
        if not {n for n, d in storage.entries(name) if not d} & _TRIAL_FILES:
            continue
        first = next(iter(parse_results(storage.read_text(name, "result.json"))), {})
        found.append(_read_trial(storage, name, str(first.get("trial_id") or name.removeprefix("trial_")), None))
    return found


def experiment_exists(location: str) -> bool:
    """True when ``location`` is a folder (Tune's experiment folder, as far as one can tell)."""
    return _Storage(location).is_dir()


def read_experiment(location: str) -> TuneExperiment:
    """Every trial of the experiment at ``location``, in the order Tune created them.

    Tune's state does not keep that order (it lists trials in the order it first
    cached them, and a resume re-adds them newest result first); the creation
    counter at the head of each trial's ``experiment_tag`` does. Trials the state
    does not list come after, by start time (result.json holds no tag).
    """
    storage = _Storage(location)
    notes: list[str] = []
    listed = _listed_trials(storage, notes) or []
    keyed: list[tuple[tuple[float, float, float, str], TuneTrial]] = []
    for index, entry in enumerate(listed):
        trial = _read_trial(storage, entry.dirname, entry.trial_id, entry)
        keyed.append(((_creation_number(entry.tag), index, trial.started or math.inf, trial.trial_id), trial))
    for trial in _unlisted_trials(storage, {entry.dirname for entry in listed}):
        keyed.append(((math.inf, math.inf, trial.started or math.inf, trial.trial_id), trial))
    keyed.sort(key=lambda pair: pair[0])
    return TuneExperiment(location=storage.location, trials=tuple(t for _, t in keyed), notes=tuple(notes))
