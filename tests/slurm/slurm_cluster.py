"""A real one-node SLURM cluster on loopback for tests: munged, slurmctld and slurmd from Debian's packages.

Everything (configuration, state, logs, the munge socket) lives in one folder, linked from /etc/slurm/slurm.conf
while the cluster runs (never over an existing file); the daemons run in the foreground as children of the test
process and are stopped by PID. The node has this machine's CPUs and 90 % of its memory.
Completed jobs go to a job completion log (``jobcomp/filetxt``), which needs no accounting database. Recipe measured
in ../shared/design/SLURM_LOCAL.md (SLURM 22.05).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "sbatch", "squeue", "sinfo", "srun"]

SLURM_CONF = """\
ClusterName=perceptflow
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class ClusterUnavailableError(RuntimeError):
    """This machine cannot run the SLURM daemons (the reason is the message)."""


def ensure_installed() -> None:
    """Install SLURM and munge from Debian packages when a binary is missing (needs root and apt-get)."""
    if all(shutil.which(binary) for binary in BINARIES):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ClusterUnavailableError(
            f"SLURM is not installed and this is not a root Debian machine: apt-get {PACKAGES}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], check=True, env=env, capture_output=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_size() -> tuple[int, int]:
    """CPUs this process may use and 90 % of the machine's memory in MB."""
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    return len(os.sched_getaffinity(0)), int(mem_kb / 1024 * 0.9)


@dataclass
class SlurmCluster:
    """A one-node cluster under ``root``; `start` it, point clients at it with `env`, `stop` it by PID."""

    root: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopped_pids: list[int] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def system_conf(self) -> Path:
        """Where job steps look: the SLURM job-step plugin (0.6.1) drops ``SLURM_CONF`` before its ``srun``."""
        return Path("/etc/slurm/slurm.conf")

    @property
    def env(self) -> dict[str, str]:
        """Environment for SLURM clients (sbatch, squeue, srun inside jobs) to find this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        cpus, mem_mb = node_size()
        for folder in ("state", "spool", "munge"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        munge = pwd.getpwnam("munge")
        os.chown(self.root / "munge", munge.pw_uid, munge.pw_gid)
        self.root.chmod(0o755)
        self.conf.write_text(
            SLURM_CONF.format(
                root=self.root,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                munge_socket=self.root / "munge" / "munge.socket",
                cpus=cpus,
                mem_mb=mem_mb,
            )
        )

    def start(self, timeout: float = 90.0) -> None:
        """Link the configuration to the system path, start munged, slurmctld and slurmd, wait for an idle node.

        Raises:
            ClusterUnavailableError: the machine has a slurm.conf of its own (this never replaces it).
        """
        if self.system_conf.exists() or self.system_conf.is_symlink():
            raise ClusterUnavailableError(f"{self.system_conf} exists: a real cluster's; this test will not replace it")
        self.write_config()
        self.system_conf.parent.mkdir(parents=True, exist_ok=True)
        self.system_conf.symlink_to(self.conf)
        munge_dir = self.root / "munge"
        self._spawn(
            "munged",
            [
                *("/usr/sbin/munged", "--foreground", f"--socket={munge_dir / 'munge.socket'}"),
                *(f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}"),
                f"--seed-file={munge_dir / 'munged.seed'}",
            ],
            user="munge",
        )
        self._wait_for(lambda: (munge_dir / "munge.socket").exists(), timeout, "munged socket")
        self._spawn("slurmctld", ["/usr/sbin/slurmctld", "-D", "-f", str(self.conf)])
        self._wait_for(lambda: self._run("sinfo", check=False).returncode == 0, timeout, "slurmctld answering")
        self._spawn("slurmd", ["/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait_for(lambda: self.node_state() == "idle", timeout, "node idle")

    def node_state(self) -> str:
        return self._run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip()

    def queue(self) -> list[str]:
        """Jobs the controller still lists as pending or running."""
        result = self._run("squeue", "-h", "-t", "PENDING,RUNNING", "-o", "%i %j %T")
        return result.stdout.split("\n")[:-1]

    def completed_jobs(self) -> dict[str, dict[str, str]]:
        """Job id -> its record in the job completion log (JobState, Partition, NodeList, Name ...)."""
        log = self.root / "jobcomp.log"
        records = {}
        for line in log.read_text().splitlines() if log.is_file() else []:
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            records[fields["JobId"]] = fields
        return records

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel leftover jobs, then stop slurmd, slurmctld and munged by PID (SIGTERM, then SIGKILL)."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self._run("scancel", "--state=PENDING,RUNNING", "--user", pwd.getpwuid(os.getuid()).pw_name, check=False)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.stopped_pids.append(process.pid)
        if self.system_conf.is_symlink() and self.system_conf.readlink() == self.conf:
            self.system_conf.unlink()

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.is_file() else f"(no {path})"

    def _spawn(self, name: str, command: list[str], user: str | None = None) -> None:
        output = (self.root / f"{name}.out").open("wb")
        self.processes[name] = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, user=user)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, capture_output=True, text=True, check=check, env={**os.environ, **self.env}, timeout=30
        )

    def _wait_for(self, ready: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():  # type: ignore[operator]
            dead = [name for name, process in self.processes.items() if process.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                logs = "\n".join(
                    f"--- {name}\n{(self.root / f'{name}.out').read_text(errors='replace')[-2000:]}"
                    for name in ("munged", "slurmctld", "slurmd")
                )
                raise RuntimeError(f"SLURM did not come up ({what}; exited: {dead}):\n{logs}")
            time.sleep(0.5)
