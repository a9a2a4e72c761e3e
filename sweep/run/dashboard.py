"""``launch.py dashboard DIR``: optuna-dashboard on a results folder's study, live or finished.

It opens the searcher's live study (``optuna.journal``, written from a sweep's first
trial on) while the sweep runs, so the Pareto front can be watched as it forms; a
folder from before live studies has only the report's ``optuna.db``. The server
listens on 127.0.0.1 only: from another machine, tunnel it (``ssh -L 8080:127.0.0.1:8080
head``), as for Ray's own dashboard.

optuna-dashboard is an optional extra (``pip install -e '.[dashboard]'``). It can edit
a study (notes, marking trials, deleting the study); netsep serves it a read-only view
(``ReadOnlyStorage``), so whoever reaches the port can look but never change the
study the sweep's driver writes.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna

from sweep.errors import UserError
from sweep.plan import PLAN_FILE
from sweep.requests import DashboardRequest
from sweep.search.live_study import LIVE_STUDY_FILE, journal_storage

__all__ = ["ReadOnlyStorage", "dashboard_storage", "run_dashboard"]

REPORT_DB = "optuna.db"  # written by the report (sweep.report.optuna_export)
HOST = "127.0.0.1"


def dashboard_storage(results_dir: str | Path) -> tuple[Path, Any]:
    """(the study file, an Optuna storage on it) of a results folder; UserError when it has none."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise UserError(f"dashboard: {str(folder)!r} is not a folder (give a sweep's results folder)")
    if not (folder / PLAN_FILE).is_file():
        raise UserError(f"dashboard: {str(folder)!r} is not a netsep results folder (it has no {PLAN_FILE})")
    live, report = folder / LIVE_STUDY_FILE, folder / REPORT_DB
    if live.is_file():
        return live, journal_storage(live)
    if report.is_file():
        return report, f"sqlite:///{report.resolve()}"
    raise UserError(
        f"dashboard: {folder}: no Optuna study yet (neither {LIVE_STUDY_FILE}, written once the sweep's "
        f"first trial is proposed, nor the report's {REPORT_DB})"
    )


class ReadOnlyStorage(optuna.storages.BaseStorage):
    """An Optuna storage that answers every read from ``inner`` and refuses every write.

    optuna-dashboard's buttons (mark a trial, delete the study, write a note) become
    errors in the page; the journal the sweep's driver appends to stays the driver's.
    """

    def __init__(self, inner: optuna.storages.BaseStorage) -> None:
        self.inner = inner

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("netsep's dashboard is read-only: the sweep's driver alone writes its study")

    create_new_study = delete_study = set_study_user_attr = set_study_system_attr = _refuse
    create_new_trial = set_trial_param = set_trial_state_values = _refuse
    set_trial_intermediate_value = set_trial_user_attr = set_trial_system_attr = _refuse

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.inner.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.inner.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[Any]:
        return self.inner.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.inner.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self.inner.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list[Any]:
        return self.inner.get_all_studies()

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self.inner.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def get_trial(self, trial_id: int) -> Any:
        return self.inner.get_trial(trial_id)

    def get_all_trials(self, study_id: int, deepcopy: bool = True, states: Any = None) -> list[Any]:
        return self.inner.get_all_trials(study_id, deepcopy=deepcopy, states=states)

    def get_n_trials(self, study_id: int, state: Any = None) -> int:
        return self.inner.get_n_trials(study_id, state)


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            why = "in use" if error.errno == errno.EADDRINUSE else error.strerror
            raise UserError(f"dashboard: --port {port}: {HOST}:{port} is {why}; choose another --port") from None


def run_dashboard(request: DashboardRequest) -> int:
    """Serve the folder's study until Ctrl-C; 0 when stopped that way."""
    try:
        import optuna_dashboard
    except ImportError:
        raise UserError(
            "dashboard: optuna-dashboard is not installed; install the extra: pip install -e '.[dashboard]'"
        ) from None
    path, storage = dashboard_storage(request.results_dir)
    if isinstance(storage, str):  # the report's SQLite copy
        storage = optuna.storages.RDBStorage(storage)
    storage = ReadOnlyStorage(storage)
    _check_port_free(request.port)
    print(f"netsep: optuna-dashboard on {path} at http://{HOST}:{request.port}/ (Ctrl-C stops it)", flush=True)
    # The server runs in a thread and the main thread waits for Ctrl-C or SIGTERM (also
    # where it was started with SIGINT ignored: a background job of a script inherits
    # that). A KeyboardInterrupt raised inside wsgiref would be swallowed by its request
    # handler when the signal lands during a request, and the server would go on.
    server = make_server(HOST, request.port, optuna_dashboard.wsgi(storage), handler_class=_QuietHandler)
    serving = threading.Thread(target=server.serve_forever, name="optuna-dashboard", daemon=True)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        serving.start()
        while not stop.wait(0.5):  # a timed wait: the signal handler runs between waits
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()
        server.server_close()
    return 0


class _QuietHandler(WSGIRequestHandler):
    """No line per request on the terminal (the dashboard polls every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass
