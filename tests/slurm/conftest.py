"""Session fixtures for the SLURM tests: a real one-node cluster on loopback and an MLflow tracking server."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))  # workflow_support

from slurm_cluster import ClusterUnavailableError, SlurmCluster, ensure_installed

from perceptflow.tracking.server import ServerSettings, TrackingServer


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """munged + slurmctld + slurmd in a temporary folder (installed from Debian packages when missing).

    Clients find it through ``SLURM_CONF``, set for the session. Teardown stops every daemon by PID (idempotent;
    the cluster test also stops it itself to check).
    """
    try:
        ensure_installed()
    except ClusterUnavailableError as reason:
        pytest.skip(str(reason))
    # Not under pytest's 0700 tmp folders: munged runs as the munge user and needs to reach its socket folder.
    cluster = SlurmCluster(Path(tempfile.mkdtemp(prefix="perceptflow-slurm-")))
    previous = os.environ.get("SLURM_CONF")
    try:
        cluster.start()
    except ClusterUnavailableError as reason:
        pytest.skip(str(reason))
    os.environ.update(cluster.env)
    try:
        yield cluster
    finally:
        cluster.stop()
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackingServer]:
    """``mlflow server`` on 127.0.0.1 (SQLite backend, proxied artifacts), stopped by PID at the end."""
    root = tmp_path_factory.mktemp("mlflow-server")
    settings = ServerSettings(
        enabled=True,
        backend_store_uri=f"sqlite:///{root / 'mlflow.db'}",
        artifacts_destination=str(root / "artifacts"),
    )
    with TrackingServer(settings, log_path=root / "server.log") as server:
        yield server
