"""Read one Ray Tune experiment folder, a local path or a URI: for the report and compare.

What comes from where:

* the trial list and, per trial, Tune's status, config, creation order and start
  time: Tune's newest ``experiment_state-*.json``, read here as plain JSON. Tune's own
  readers (``ExperimentAnalysis``, ``Tuner.restore``) expand the cloudpickle blobs that
  file may embed, and unpickling runs whatever code the file's author put in it; this
  reader never unpickles anything, so any folder, also one copied from someone else,
  can be reported on safely (the fields it needs are plain JSON);
* a scan of the folder where the state cannot serve:

  - no state file yet (the driver died before Tune first saved one), or one that
    does not parse: the trial folders are all there is;
  - trial folders started after the last state save: the state does not list them;
  - ``result.json`` with a torn last line (the driver died mid-write): its lines are
    parsed here, skipping the one that does not parse;
  - checkpoints: the state lags the folder (a checkpoint written after the last
    save is on disk only), so the ``checkpoint_*`` folders are listed;
  - ``error.txt``: read as text (never ``error.pkl``).

Nothing here writes, starts Ray, unpickles or judges a trial (``sweep.report.status`` does).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sweep.errors import UserError
from sweep.paths import is_uri

__all__ = ["TuneTrial", "TuneExperiment", "experiment_exists", "read_experiment", "parse_results", "epochs_done"]

_STATE_FILE = re.compile(r"^experiment_state-.*\.json$")
_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")
_TRIAL_FILES = {"params.json", "result.json"}  # a folder holding one of these is a trial's
# Read limits (bytes): a folder from elsewhere must not make the report read without end.
FILE_LIMIT = 64 << 20  # a trial's result.json at many epochs, params.json, error.txt
STATE_FILE_LIMIT = 256 << 20  # Tune's experiment state: about 10 KB per trial


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

    def read_text(self, *parts: str, limit: int = FILE_LIMIT) -> str | None:
        """The file's text, or None when it is not a file or is larger than ``limit`` bytes."""
        from pyarrow import fs as pafs

        info = self.fs.get_file_info(self.path(*parts))
        if info.type != pafs.FileType.File or (info.size is not None and info.size > limit):
            return None
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return stream.read(limit + 1)[:limit].decode("utf-8", errors="replace")


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


def _plain_json(text: str | None) -> Any:
    """JSON as data: Tune's embedded pickles stay inert dicts; None when it does not parse."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # torn, not JSON, or nested beyond reason
        return None


def _listed_entry(entry: Any) -> _Listed | None:
    """One ``trial_data`` item (Tune's two JSON strings: the trial's state, its run metadata)."""
    if not isinstance(entry, list) or len(entry) != 2 or not all(isinstance(part, str) for part in entry):
        return None
    state, meta = _plain_json(entry[0]), _plain_json(entry[1])
    if not isinstance(state, dict) or not isinstance(meta, dict):
        return None
    trial_id, status = state.get("trial_id"), state.get("status")
    if not isinstance(trial_id, str) or not isinstance(status, str):
        return None
    config = state.get("config")
    started = _as_time(meta.get("start_time"))
    last = meta.get("last_result")
    if status == "PENDING" and started is not None:
        # Tune turns RUNNING into PENDING when it reads its state back; a start time tells them apart.
        status = "RUNNING"
    return _Listed(
        trial_id=trial_id,
        dirname=f"trial_{trial_id}",  # netsep's trial_dirname_creator; _read_experiment maps it to the folder
        status=status,
        config=_inert(config) if isinstance(config, dict) else {},
        started=started,
        last_result=_inert(last) if isinstance(last, dict) else {},
        tag=str(state.get("experiment_tag") or ""),
    )


def _inert(value: dict[str, Any]) -> dict[str, Any]:
    """A mapping without Tune's embedded pickles (a ``{"_type": "CLOUDPICKLE_FALLBACK"}`` value becomes None)."""
    return {
        str(k): (None if isinstance(v, dict) and v.get("_type") == "CLOUDPICKLE_FALLBACK" else v)
        for k, v in value.items()
    }


def _listed_trials(storage: _Storage, notes: list[str]) -> list[_Listed] | None:
    """The trials of Tune's newest saved state, read as plain JSON; None without a usable one."""
    names = sorted(name for name, is_dir in storage.entries() if not is_dir and _STATE_FILE.match(name))
    if not names:
        notes.append("Tune had saved no experiment state yet; statuses were inferred from the trial folders")
        return None
    newest = names[-1]  # experiment_state-<session timestamp>.json: the newest sorts last, as Tune picks it
    data = _plain_json(storage.read_text(newest, limit=STATE_FILE_LIMIT))
    entries = data.get("trial_data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        notes.append(
            f"Tune's experiment state {newest} could not be read (not the JSON Tune writes: cut short, "
            "damaged, or over the size limit); statuses were inferred from the trial folders"
        )
        return None
    listed = [trial for trial in map(_listed_entry, entries) if trial is not None]
    if len(listed) < len(entries):
        notes.append(f"{len(entries) - len(listed)} entries of Tune's experiment state {newest} could not be read")
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


def _trial_folders(storage: _Storage) -> dict[str, str]:
    """Trial id -> its folder, for every folder of the experiment that holds a trial's files."""
    found: dict[str, str] = {}
    for name, is_dir in storage.entries():
        if not is_dir or not {n for n, d in storage.entries(name) if not d} & _TRIAL_FILES:
            continue
        first = next(iter(parse_results(storage.read_text(name, "result.json"))), {})
        found.setdefault(str(first.get("trial_id") or name.removeprefix("trial_")), name)
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
    folders = _trial_folders(storage)
    keyed: list[tuple[tuple[float, float, float, str], TuneTrial]] = []
    for index, entry in enumerate(listed):
        trial = _read_trial(storage, folders.pop(entry.trial_id, entry.dirname), entry.trial_id, entry)
        keyed.append(((_creation_number(entry.tag), index, trial.started or math.inf, trial.trial_id), trial))
    for trial_id, dirname in folders.items():  # folders the saved state does not list (saved before they began)
        trial = _read_trial(storage, dirname, trial_id, None)
        keyed.append(((math.inf, math.inf, trial.started or math.inf, trial.trial_id), trial))
    keyed.sort(key=lambda pair: pair[0])
    return TuneExperiment(location=storage.location, trials=tuple(t for _, t in keyed), notes=tuple(notes))
