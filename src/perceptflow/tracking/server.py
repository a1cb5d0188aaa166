"""An MLflow tracking server for teams and clusters: start and stop one for a workflow run, check it answers.

SQLite is safe for one machine only; jobs on several nodes (or many concurrent workflows) log through a tracking
server instead (mlflow.org/docs/latest/self-hosting). The workflow can start one on loopback for its own run
(``mlflow.server.enabled: true`` or ``PERCEPTFLOW_MLFLOW_SERVER=1``), or use a server someone runs
(``MLFLOW_TRACKING_URI=http://host:port``). Either way `require_reachable` runs before any job starts, so a server
that is down gives one message instead of a traceback per job.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_ENV = "PERCEPTFLOW_MLFLOW_SERVER"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


class TrackingServerError(RuntimeError):
    """The tracking server cannot be reached or did not start."""


@dataclass(frozen=True)
class ServerSettings:
    """A tracking server this workflow starts for its run (the config's ``mlflow.server`` section).

    Attributes:
        enabled: start a server for the run (``PERCEPTFLOW_MLFLOW_SERVER=1`` also enables it).
        host: interface to bind; loopback by default. Cluster jobs on other nodes need an address they can route
            to (and a firewall that lets them in).
        port: port to listen on; 0 picks a free one.
        backend_store_uri: where runs are stored (relative SQLite paths resolve against the working directory).
        artifacts_destination: folder the server writes artifacts to (the server proxies uploads, so jobs need no
            access to it).
        workers: server worker processes.
        startup_timeout: seconds to wait for ``/health`` (a fresh SQLite database migrates for ~15 s).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    backend_store_uri: str = "sqlite:///results/mlflow-server.db"
    artifacts_destination: str = "results/mlartifacts"
    workers: int = 2
    startup_timeout: float = 180.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> ServerSettings:
        """Settings from the ``mlflow.server`` mapping (None: defaults); the environment variable can enable it."""
        values = dict(section or {})
        if os.environ.get(SERVER_ENV, "").strip().lower() in ("1", "true", "yes"):
            values["enabled"] = True
        return cls(**values)


def _absolute_sqlite(uri: str) -> str:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _health(url: str, timeout: float) -> str | None:
    """None when ``url/health`` answers OK, else why not."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))


def require_reachable(uri: str, timeout: float = 10.0) -> None:
    """Fail with one clear message when ``uri`` is an http(s) tracking server that does not answer ``/health``.

    Other URIs (SQLite, files) need no server and pass.

    Raises:
        TrackingServerError: the server is down, unreachable or unhealthy.
    """
    if not uri.startswith(("http://", "https://")):
        return
    problem = _health(uri, timeout)
    if problem is not None:
        raise TrackingServerError(
            f"MLflow tracking server {uri} is unreachable ({problem}); no job was started. Start it "
            f"(docs/clusters.md, 'MLflow server'), fix {TRACKING_URI_ENV} or mlflow.tracking_uri, or set "
            f"mlflow.server.enabled: true to let the workflow start one on loopback."
        )


class TrackingServer:
    """A ``mlflow server`` child process (its own process group), stopped by PID.

    Use as a context manager or call `start` and `stop`.
    """

    def __init__(self, settings: ServerSettings, log_path: str | os.PathLike[str] | None = None) -> None:
        self.settings = settings
        self.port = settings.port or free_port(settings.host)
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The tracking URI jobs use (``http://host:port``)."""
        return f"http://{self.settings.host}:{self.port}"

    def command(self) -> list[str]:
        """The ``mlflow server`` command line (backend and artifact paths made absolute)."""
        artifacts = self.settings.artifacts_destination
        if "://" not in artifacts:
            artifacts = str(Path(artifacts).resolve())
        return [
            *(sys.executable, "-m", "mlflow", "server"),
            *("--host", self.settings.host, "--port", str(self.port)),
            *("--backend-store-uri", _absolute_sqlite(self.settings.backend_store_uri)),
            *("--artifacts-destination", artifacts, "--workers", str(self.settings.workers)),
        ]

    def start(self) -> str:
        """Start the server and wait until ``/health`` answers; returns its URL.

        Raises:
            TrackingServerError: it exited or did not answer within ``startup_timeout`` (its log is quoted).
        """
        backend = _absolute_sqlite(self.settings.backend_store_uri)
        if backend.startswith("sqlite:///"):
            Path(backend[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        output: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_path.open("wb")
        self.process = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.settings.startup_timeout
        while (problem := _health(self.url, timeout=2.0)) is not None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise TrackingServerError(f"mlflow server on {self.url} did not start ({problem}){self._log_tail()}")
            time.sleep(0.5)
        return self.url

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and its workers (SIGTERM to its process group, SIGKILL after ``timeout``)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):  # workers that outlived the server
            os.killpg(process.pid, signal.SIGKILL)

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return ":\n" + self.log_path.read_text(errors="replace")[-2000:]

    def __enter__(self) -> TrackingServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_for_workflow(section: Mapping[str, Any] | None, log_path: str = "logs/mlflow_server.log") -> str | None:
    """Start the opt-in server of ``mlflow.server`` for this workflow process and point jobs at it.

    Sets ``MLFLOW_TRACKING_URI`` in this process's environment (local jobs and ``sbatch --export=ALL`` inherit it)
    and stops the server when the process exits. Returns its URL, or None when the server is not enabled.
    """
    settings = ServerSettings.from_config(section)
    if not settings.enabled:
        return None
    server = TrackingServer(settings, log_path=log_path)
    url = server.start()
    atexit.register(server.stop)
    os.environ[TRACKING_URI_ENV] = url
    return url
