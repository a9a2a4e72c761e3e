"""Session-wide isolation and the shared fixtures: a test Ray head and one real smoke sweep.

Isolation: before any test runs, ``HOME``, netsep's cache (``NETSEP_CACHE_DIR``),
Ray's temp folder (``RAY_TMPDIR``) and torch.compile's cache point into one fresh temporary folder, for the
tests and every process they start. So no stale cache hides a reader change, and
nothing (``~/.cache/netsep``, ``~/.ray/auth_token``, ``/tmp/ray``) is written in the
user's home or shared with other Ray users. The session fails if a test left
something new in the repository or the real home.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_results, fingerprint, launch
from tests.processes import RayHead

# Under NETSEP_REQUIRE_ALL=1 every skip fails (tests/require_all.py); no test leaves process
# state behind (tests/isolation.py); only tests marked slow start Ray (tests/ray_guard.py).
pytest_plugins = ["tests.require_all", "tests.isolation", "tests.ray_guard"]

# Written in the real home by a sweep that is not isolated (Ray's token, netsep's cache).
_REAL_HOME_PATHS = (".ray/auth_token", ".cache/netsep")
# Variables that would send a tool's state outside the temporary home.
_UNSET = (
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "MPLCONFIGDIR",
    "WANDB_DIR",
    "RAY_ADDRESS",
    "TORCH_HOME",
)
_ROOT = pytest.StashKey[Path]()  # the session's temporary folder
_BEFORE = pytest.StashKey[tuple]()  # (real home, its netsep/Ray paths, the checkout's extra files) at the start


def _repo_extras() -> set[str]:
    """Untracked and ignored paths in the checkout, bytecode and pytest's cache aside."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    paths = {line[3:] for line in done.stdout.splitlines() if line[:2] in ("??", "!!")}
    tool_caches = ("__pycache__", ".pytest_cache", ".ruff_cache", ".egg-info")  # pytest's and linters' own
    return {p for p in paths if not any(c in p for c in tool_caches)}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (a CI job cancelled, `timeout`) ends the run as Ctrl+C does, so session
    # fixtures still kill what they started (the test Ray head lives in its own session).
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    root = Path(tempfile.mkdtemp(prefix="nst", dir="/tmp"))  # short: Ray's socket paths stay < 108 bytes
    real_home = Path.home()
    config.stash[_ROOT] = root
    config.stash[_BEFORE] = (real_home, {p for p in _REAL_HOME_PATHS if (real_home / p).exists()}, _repo_extras())
    (root / "home").mkdir()
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "HOME": str(root / "home"),
            "NETSEP_CACHE_DIR": str(root / "cache"),
            "RAY_TMPDIR": str(root / "r"),
            # torch.compile's cache (else /tmp/torchinductor_$USER, shared): set here, before
            # inductor's first compile would set it in the middle of some test.
            "TORCHINDUCTOR_CACHE_DIR": str(root / "inductor"),
            "RAY_USAGE_STATS_ENABLED": "0",
            # This checkout's code, in pytest and in every process it starts (Ray workers too).
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        }
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    real_home, home_paths, repo_paths = before
    leaks = [str(real_home / p) for p in _REAL_HOME_PATHS if (real_home / p).exists() and p not in home_paths]
    leaks += [str(REPO / p) for p in sorted(_repo_extras() - repo_paths)]
    if leaks:
        session.config.get_terminal_writer().line(
            "tests wrote outside their temporary folders: " + ", ".join(leaks), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_ROOT, None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    """One Ray head (2 CPUs) for the sweeps that do not test Ray's own start-up; killed by pid."""
    head = RayHead(Path(os.environ["RAY_TMPDIR"]).parent / "head", cpus=2)
    try:
        head.wait_ready()
        yield head
    finally:
        head.close()


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory, ray_head: RayHead) -> Iterator[tuple[Path, subprocess.CompletedProcess]]:
    """`launch.py --smoke-test` (4 trials x 2 epochs + baseline on digits), shared by several tests.

    Read it only: a test that writes into a results folder takes ``smoke_copy``. The
    session errors at the end if the folder changed.
    """
    tmp = tmp_path_factory.mktemp("smoke")
    proc = launch(
        "--smoke-test",
        "--no-dashboard",
        "--storage",
        str(tmp / "exp"),
        "--name",
        "smoke",
        *ray_head.client_args(),
        cwd=tmp,
        env=ray_head.env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    folder = tmp / "exp" / "smoke"
    before = fingerprint(folder)
    yield folder, proc
    changed = sorted(set(before.items()) ^ set(fingerprint(folder).items()))
    assert not changed, f"a test wrote into the shared smoke folder (use smoke_copy): {changed[:10]}"


@pytest.fixture
def process_defaults_restored() -> Iterator[None]:
    """For a test that runs netsep's process-wide set-up in pytest's own process (the Ray
    defaults the connection and Tune assembly put in the environment, Ray's and Tune's
    signal handlers): all of it is put back afterwards, before the isolation check."""
    from tests.isolation import restore, snapshot

    before = snapshot()
    yield
    restore(before, snapshot())


@pytest.fixture
def smoke_copy(smoke_sweep, tmp_path: Path) -> Path:
    """A private copy of the smoke sweep's results folder, for a test that writes into it."""
    return copy_results(smoke_sweep[0], tmp_path / "smoke")
