#!/usr/bin/env python
"""Screenshot of the Ray dashboard while a netsep smoke sweep runs (docs/dashboard.png).

    python scripts/dashboard_screenshot.py                       # -> docs/dashboard.png
    python scripts/dashboard_screenshot.py --page '#/actors' --out /tmp/actors.png

It starts ``launch.py --smoke-test`` (local Ray, dashboard on 127.0.0.1) with a token of
its own, waits until trial actors run, renders the dashboard in headless Chromium
(Debian: ``apt-get install -y chromium``) and saves a PNG; then it stops the sweep,
killing the processes of the session it started, by pid.

The dashboard wants Ray's token (token authentication is on by default for a local
Ray since Ray 2.60). A browser presents it as the ``ray-authentication-token``
cookie, which a command line cannot set, so Chromium is driven through the DevTools
protocol over a pipe (``--remote-debugging-pipe``: no debugging port is opened). The
browser resolves no host name except 127.0.0.1 and runs without background
networking, sync or component updates: the only traffic is to the dashboard.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["main", "screenshot", "DevToolsPipe"]

REPO = Path(__file__).resolve().parents[1]
TOKEN_COOKIE = "ray-authentication-token"  # ray._private.authentication.authentication_constants
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    # Every host name fails to resolve except loopback: nothing but the dashboard is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class DevToolsPipe:
    """Chromium's DevTools protocol over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-framed JSON)."""

    def __init__(self, chromium: str, user_data_dir: Path, width: int, height: int) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child, before exec: its fds 3 and 4 are the pipes
            high_r, high_w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={user_data_dir}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=wire,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout_s: float = 30.0
    ) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium did not answer {method} within {timeout_s:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe during {method}")
            self._buffer += chunk

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout_s=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass


def screenshot(url: str, token: str, out: Path, width: int = 1400, height: int = 900, settle_s: float = 8.0) -> None:
    """Render ``url`` (a dashboard on 127.0.0.1) with the token cookie set; save a PNG at ``out``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise SystemExit("error: no Chromium found; install it (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="netsep-chromium-") as profile:
        browser = DevToolsPipe(chromium, Path(profile), width, height)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            base = re.match(r"https?://[^/#]+", url)
            if base is None:
                raise SystemExit(f"error: --url must look like http://127.0.0.1:8265/..., got {url!r}")
            browser.call("Network.enable", session=session)
            browser.call(
                "Network.setCookie", {"name": TOKEN_COOKIE, "value": token, "url": base.group(0)}, session=session
            )
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            browser.call("Page.enable", session=session)
            browser.call("Page.navigate", {"url": url}, session=session)
            # The dashboard is a single-page app that fills itself from its API: let it settle.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                state = browser.call("Runtime.evaluate", {"expression": "document.readyState"}, session=session)
                if state.get("result", {}).get("value") == "complete":
                    break
                time.sleep(0.5)
            time.sleep(settle_s)
            shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(base64.b64decode(shot["data"]))
        finally:
            browser.close()


# ------------------------------------------------------------------ the smoke sweep
def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def _stop(process: subprocess.Popen) -> None:
    """SIGKILL the sweep and every process of its session (its local Ray)."""
    for _ in range(100):
        pids = _session_pids(process.pid)
        if process.poll() is None:
            pids.append(process.pid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.poll()
        time.sleep(0.2)
    process.wait()


def _trial_actors(url: str, token: str) -> int:
    request = urllib.request.Request(f"{url}/api/v0/actors?limit=1000", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            actors = json.loads(answer.read())["data"]["result"]["result"]
    except (urllib.error.URLError, OSError, KeyError, ValueError):
        return 0
    return sum(1 for a in actors if a.get("class_name") == "ImplicitFunc" and a.get("state") == "ALIVE")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png", help="PNG to write")
    p.add_argument("--page", default="#/overview", help="dashboard page, e.g. '#/overview', '#/actors', '#/jobs'")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=900)
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for running trials")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="netsep-screenshot-") as work:
        token = secrets.token_hex(32)
        token_file = Path(work) / "token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token_file), "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        log_path = Path(work) / "sweep.log"
        with open(log_path, "w") as log:
            sweep = subprocess.Popen(
                [sys.executable, "launch.py", "--smoke-test", "--storage", str(Path(work) / "experiments")],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + args.timeout
            url = None
            while time.monotonic() < deadline and sweep.poll() is None:
                if url is None:
                    found = re.search(r"Ray dashboard: (http://127\.0\.0\.1:\d+)", log_path.read_text(errors="replace"))
                    url = found.group(1) if found else None
                if url is not None and _trial_actors(url, token) >= 2:
                    break
                time.sleep(1)
            else:
                raise SystemExit(
                    "error: the smoke sweep did not get two trials running in time:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            screenshot(f"{url}/{args.page}", token, args.out, args.width, args.height)
            print(f"wrote {args.out} ({url}/{args.page})")
        finally:
            _stop(sweep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
