"""The real-browser test kit: a private JupyterLab server and headless Chromium (fixtures + helpers).

``lab`` starts JupyterLab once per test session on 127.0.0.1 (a free port, a random token) with a
temporary copy of ``notebooks/`` as its root, and always stops it (and its kernels) afterwards.
``page`` is a fresh Chromium page (Debian's ``chromium`` driven by playwright; no browser download).
Without chromium or playwright these tests are skipped, unless ``COURSE_REQUIRE_BROWSER=1`` (as in
``.ci/run``), where they fail instead.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def browser_unavailable(reason: str):
    """Skip, or fail when the environment says the browser tests must run."""
    if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (COURSE_REQUIRE_BROWSER=1, so this is an error, not a skip)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: ``url(path)`` gives a browser address with the token."""

    base: str
    token: str
    root: Path
    log: Path

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A private JupyterLab server over a temporary copy of notebooks/ (stopped even on failure)."""
    if shutil.which("chromium") is None:
        browser_unavailable("chromium is not installed (apt-get install chromium)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        browser_unavailable("jupyterlab is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    if (REPO / "notebooks").is_dir():
        shutil.copytree(REPO / "notebooks", root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    root.mkdir(exist_ok=True)
    # user settings: no "news?" / update pop-ups over the notebook
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), MPLBACKEND="Agg")
    port, token = free_port(), secrets.token_hex(16)
    log = tmp / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
                                start_new_session=True)  # its own process group: kernels die with it
    server = Lab(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(server.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 90 s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # kernels the server did not take down
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian chromium through playwright (closed at the end of the session)."""
    exe = shutil.which("chromium")
    if exe is None:
        browser_unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("playwright is not installed "
                            "(PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 pip install playwright)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page (1280×1000) in its own browser context."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells (python3 kernel), written without running it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def open_notebook(page, lab: Lab, path: str) -> None:
    """Open a notebook in JupyterLab (alone: ``?reset`` drops tabs restored from earlier tests)
    and wait until its kernel is idle."""
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    page.locator(".jp-Notebook").first.wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)


def run_all_cells(page) -> None:
    """JupyterLab menu: Run → Run All Cells."""
    import re

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
