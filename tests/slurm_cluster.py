"""A real one-node SLURM cluster on this machine for the tests (``slurm_cluster`` fixture).

munged, MariaDB, slurmdbd, slurmctld and slurmd run as plain processes of the
test session (no systemd), with their configuration, keys, sockets, logs and
state in one temporary folder; they listen on 127.0.0.1 only (MariaDB on a Unix
socket only) and are killed, and the folder removed, when the session ends.
slurmdbd and its database are there because submitit reads a finished job's
state with ``sacct``, which needs accounting: without it a cancelled or timed-out
job would never be seen to end.

The daemons must run as root and be installed (Debian bookworm:
``apt-get install slurmctld slurmd slurm-client slurmdbd munge mariadb-server``;
``.ci/run`` does it in CI). Where either is not so, or they do not come up, the
tests that use the cluster are skipped with the reason; under CI (``CI`` set), where
``.ci/run`` has installed them, daemons that do not come up fail the tests instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGES = "slurmctld slurmd slurm-client slurmdbd munge mariadb-server"
PROGRAMS = [
    "munged",
    "mariadbd",
    "mariadb-install-db",
    "mariadb",
    "slurmdbd",
    "slurmctld",
    "slurmd",
    "sbatch",
    "sinfo",
    "sacct",
    "scancel",
    "scontrol",
]
PARTITION = "debug"
NODE = "localhost"
MAX_TIME_MIN = 10  # the partition's MaxTime: no test job may run longer
START_TIMEOUT_S = 60  # the whole cluster must be up (node idle) within this


@dataclass
class SlurmCluster:
    """A running cluster: its folder, its ``slurm.conf`` and the environment its clients need."""

    folder: Path
    conf: Path
    partition: str
    cpus: int

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def command(self, *args: str, check: bool = True) -> str:
        """Run a SLURM client (sinfo, squeue, scancel...) against this cluster; its stdout."""
        done = subprocess.run(args, env=self.env(), capture_output=True, text=True, timeout=30)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def logs(self) -> str:
        """The daemons' logs, for a failing test's report."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted((self.folder / "log").glob("*.log"))
        )


def unavailable() -> str | None:
    """Why this machine cannot run the cluster, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the SLURM daemons need root (CI runs the suite as root)"
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (as root: apt-get install {PACKAGES}; .ci/run does it)"
    return None


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def slurm_conf(folder: Path, ports: dict[str, int], cpus: int) -> str:
    """A minimal slurm.conf: one node (this host as ``localhost``), one partition, no cgroups."""
    return f"""\
ClusterName=mlibtest
SlurmctldHost={NODE}(127.0.0.1)
SlurmctldPort={ports["slurmctld"]}
SlurmdPort={ports["slurmd"]}
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge/munge.socket
StateSaveLocation={folder}/state/ctld
SlurmdSpoolDir={folder}/state/d
SlurmctldPidFile={folder}/state/slurmctld.pid
SlurmdPidFile={folder}/state/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost={NODE}
AccountingStoragePort={ports["slurmdbd"]}
AccountingStoragePass={folder}/munge/munge.socket
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=600
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={NODE} CPUs={cpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime={MAX_TIME_MIN} State=UP
"""


def slurmdbd_conf(folder: Path, port: int) -> str:
    return f"""\
AuthType=auth/munge
AuthInfo=socket={folder}/munge/munge.socket
DbdHost={NODE}
DbdAddr=127.0.0.1
DbdPort={port}
CommunicationParameters=NoInAddrAny
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
PidFile={folder}/state/slurmdbd.pid
LogFile={folder}/log/slurmdbd.log
"""


def _wait(what: str, ready, deadline: float, processes: list[subprocess.Popen]) -> None:
    while not ready():
        for p in processes:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: {Path(p.args[0]).name} exited with status {p.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {START_TIMEOUT_S} s")
        time.sleep(0.2)


def start(folder: Path, processes: list[subprocess.Popen]) -> SlurmCluster:
    """Configure and start every daemon; each one started is appended to ``processes``."""
    for sub in ("munge", "mysql", "state/ctld", "state/d", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    ports = dict(zip(("slurmctld", "slurmd", "slurmdbd"), free_ports(3)))
    cpus = os.cpu_count() or 1
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, ports, cpus))
    dbd_conf = folder / "slurmdbd.conf"  # slurmdbd reads it beside slurm.conf; it must be private
    dbd_conf.write_text(slurmdbd_conf(folder, ports["slurmdbd"]))
    dbd_conf.chmod(0o600)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    mysql_socket = folder / "mysql" / "mysqld.sock"
    env = {**os.environ, "SLURM_CONF": str(conf), "MYSQL_UNIX_PORT": str(mysql_socket)}
    log = lambda name: open(folder / "log" / f"{name}.out", "w")  # noqa: E731  (the daemons' own stdout)
    deadline = time.monotonic() + START_TIMEOUT_S

    def daemon(*args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log(Path(args[0]).name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    daemon(
        "munged",
        "--foreground",
        "--force",
        f"--socket={folder}/munge/munge.socket",
        f"--key-file={key}",
        f"--pid-file={folder}/munge/munged.pid",
        f"--log-file={folder}/log/munged.log",
        f"--seed-file={folder}/munge/munged.seed",
    )
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={folder}/mysql/data",
            "--user=root",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_S,
    )
    daemon(
        "mariadbd",
        "--no-defaults",
        f"--datadir={folder}/mysql/data",
        f"--socket={mysql_socket}",
        "--skip-networking",
        "--user=root",
        f"--pid-file={folder}/mysql/mysqld.pid",
        f"--log-error={folder}/log/mariadb.log",
    )
    _wait("MariaDB", mysql_socket.exists, deadline, processes)
    daemon("slurmdbd", "-D")
    _wait("slurmdbd", lambda: _listening(ports["slurmdbd"]), deadline, processes)
    daemon("slurmctld", "-D", "-i")
    daemon("slurmd", "-D", "-N", NODE)
    cluster = SlurmCluster(folder, conf, PARTITION, cpus)
    _wait(
        "slurmd",
        lambda: cluster.command("sinfo", "-h", "-N", "-o", "%t", check=False).strip() == "idle",
        deadline,
        processes,
    )
    return cluster


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(processes: list[subprocess.Popen], cluster: SlurmCluster | None = None) -> None:
    """Cancel the cluster's jobs, then end the daemons (the last started first): SIGTERM, then
    SIGKILL after 10 s; then any job step of this cluster that outlived slurmd."""
    if cluster is not None:
        cluster.command("scancel", f"--user={os.getuid()}", check=False)
        deadline = time.monotonic() + 30
        while cluster.command("squeue", "-h", check=False).strip() and time.monotonic() < deadline:
            time.sleep(0.5)
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if cluster is not None:
        for pid in _job_steps(cluster.conf):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _job_steps(conf: Path) -> list[int]:
    """The slurmstepd processes started by this cluster's slurmd (their environment names its
    slurm.conf): they run as their own sessions and would outlive it."""
    steps = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_bytes().startswith(b"slurmstepd") and f"SLURM_CONF={conf}".encode() in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                steps.append(int(proc.name))
        except OSError:
            continue
    return steps


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """The running cluster, with ``SLURM_CONF`` set for this session's SLURM clients (and so for
    submitit); the test is skipped, with the reason, where the machine cannot run one."""
    reason = unavailable()
    if reason:
        pytest.skip(f"no SLURM cluster: {reason}")
    folder = tmp_path_factory.mktemp("slurm")
    processes: list[subprocess.Popen] = []
    try:
        cluster = start(folder, processes)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        stop(processes)
        reason = f"no SLURM cluster: the daemons did not come up: {exc} (logs in {folder / 'log'})"
        if os.environ.get("CI"):  # CI installs them (.ci/run): a skip there would hide a broken cluster
            pytest.fail(f"{reason}\n{SlurmCluster(folder, folder / 'slurm.conf', PARTITION, 0).logs()}")
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", str(cluster.conf))
        yield cluster
    stop(processes, cluster)
    shutil.rmtree(folder, ignore_errors=True)
