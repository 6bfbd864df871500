"""The grid on a real one-node SLURM cluster (tests/slurm_cluster.py): jobs go through sbatch,
a cancelled job and a job past its time limit are reported as such and resume, and a job the
scheduler refuses is one line naming the setting. Skipped where the cluster cannot run."""

import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from slurm_cluster import slurm_cluster  # noqa: F401  (the fixture)
from test_grid import CI_GRID, QUICK, data, write_grid  # noqa: F401  (data: the tiny cache fixture)

from mlib.commands.cli import main as cli_main
from mlib.experiments import grid

pytestmark = pytest.mark.slow
JOB_OPTIONS = ["--gpus-per-job", "0", "--cpus-per-job", "1"]  # the test node has 2 CPUs and no GPU


def grid_command(cluster, cache, split, out, *options, grid_file=CI_GRID, overrides=QUICK) -> list[str]:
    return [
        "grid",
        "--grid",
        str(grid_file),
        *[a for o in overrides for a in ("--set", o)],
        "--cache",
        str(cache),
        "--split",
        str(split),
        "--out",
        str(out),
        "--no-progress",
        "--executor",
        "slurm",
        "--partition",
        cluster.partition,
        *JOB_OPTIONS,
        *options,
    ]


def final_states(cluster, jobs) -> dict[str, str]:
    """Each job's final state in the cluster's accounting (sacct), once it has left RUNNING and
    COMPLETING (the result file comes a moment before the job's end)."""
    deadline = time.monotonic() + 30
    while True:
        text = cluster.command("sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", ",".join(jobs))
        states = dict(line.split("|") for line in text.strip().splitlines())
        if set(states) >= set(jobs) and not {"RUNNING", "COMPLETING", "PENDING"} & set(states.values()):
            return states
        assert time.monotonic() < deadline, f"jobs still unfinished in sacct: {states}"
        time.sleep(0.5)


def one_run_grid(tmp_path, epochs: int) -> tuple[Path, list[str]]:
    """The first ci configuration alone, trained for ``epochs`` epochs."""
    import yaml

    spec = write_grid(
        tmp_path / "one.yaml",
        {"fixed": yaml.safe_load(CI_GRID.read_text())["fixed"], "configurations": [{"set": {"model.alpha": 4}}]},
    )
    return spec, [o for o in QUICK if not o.startswith("train.epochs")] + [f"train.epochs={epochs}"]


@pytest.fixture(scope="module")
def in_process(data, tmp_path_factory):
    """The ci grid trained in this process: the table the SLURM grid must equal."""
    cache, split = data
    out = tmp_path_factory.mktemp("inprocess")
    grid.run_grid(CI_GRID, overrides=QUICK, cache=cache, split=split, out=out, progress=False, log=False)
    return out


def test_slurm_jobs_write_the_in_process_table(slurm_cluster, data, in_process, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the jobs' thread count, as in the LocalExecutor test
    cache, split = data
    out = tmp_path / "slurm"
    assert cli_main(grid_command(slurm_cluster, cache, split, out, "--time", "5", "--max-parallel", "2")) == 0
    saved = pd.read_csv(out / "grid.csv")
    pd.testing.assert_frame_equal(
        saved.drop(columns=["seconds"]), pd.read_csv(in_process / "grid.csv").drop(columns=["seconds"])
    )
    assert saved["status"].tolist() == ["done"] * 3
    # three jobs went through sbatch and slurmd, and the cluster's accounting says they completed
    submitted = {p.name.split("_")[0] for p in (out / ".submitit").glob("*_submission.sh")}
    assert len(submitted) == 3
    assert set(final_states(slurm_cluster, submitted).values()) == {"COMPLETED"}


def act_on_the_job(cluster, ready, act) -> tuple[threading.Thread, list[str]]:
    """A thread that waits until the cluster's queue holds the test grid's job and ``ready()``,
    then calls ``act(job)``; the jobs acted on (one)."""
    acted: list[str] = []

    def wait_then_act():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = cluster.command("squeue", "-h", "-t", "RUNNING", "-o", "%i").split()
            if jobs and ready():
                acted.extend(jobs)
                for job in jobs:
                    act(job)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=wait_then_act)
    thread.start()
    return thread, acted


def epochs_done(run_dir: Path) -> int:
    history = run_dir / "history.csv"
    return len(pd.read_csv(history)) if history.is_file() else 0


def test_a_cancelled_job_is_failed_and_a_rerun_resumes_it(slurm_cluster, data, tmp_path):
    cache, split = data
    spec, overrides = one_run_grid(tmp_path, epochs=2)
    out = tmp_path / "cancel"
    run_dir = grid.plan(spec, overrides=overrides, cache=cache, split=split, out=out)[0].run_dir
    watcher, cancelled = act_on_the_job(
        slurm_cluster, lambda: epochs_done(run_dir) >= 1, lambda job: slurm_cluster.command("scancel", job)
    )
    command = grid_command(slurm_cluster, cache, split, out, "--time", "5", grid_file=spec, overrides=overrides)
    assert cli_main(command) == 1
    watcher.join()
    table = pd.read_csv(out / "grid.csv")
    assert len(cancelled) == 1 and table["status"].tolist() == ["failed"]
    assert table.loc[0, "message"].startswith(f"job {cancelled[0]} ended CANCELLED without a result")
    assert final_states(slurm_cluster, cancelled)[cancelled[0]].startswith("CANCELLED")
    assert not (run_dir / "metrics.json").exists()
    epochs_before = epochs_done(run_dir)

    assert cli_main(command) == 0
    table = pd.read_csv(out / "grid.csv")
    assert table[["status", "origin"]].values.tolist() == [["done", "resumed"]]
    history = pd.read_csv(run_dir / "history.csv")
    assert epochs_before == 1 and history["epoch"].tolist() == [1, 2]


def test_a_job_past_its_time_limit_is_timed_out_and_resumes(slurm_cluster, data, tmp_path):
    """A run far longer than its job's time limit: once it has a checkpoint, the job's limit is
    cut to one minute (``scontrol update``; ``mlib grid --time`` sets it at submission, in minutes,
    and the test cannot wait minutes). SLURM signals the job (submitit asks for USR2 90 s before
    the limit) or kills it at the limit: either way grid.csv says ``timeout``, the checkpoint stays,
    and a rerun resumes from it (it is cancelled after one more epoch: the run is too long to finish)."""
    cache, split = data
    spec, overrides = one_run_grid(tmp_path, epochs=1000)
    out = tmp_path / "timeout"
    run_dir = grid.plan(spec, overrides=overrides, cache=cache, split=split, out=out)[0].run_dir
    command = grid_command(slurm_cluster, cache, split, out, "--time", "5", grid_file=spec, overrides=overrides)
    watcher, limited = act_on_the_job(
        slurm_cluster,
        lambda: epochs_done(run_dir) >= 1,
        lambda job: slurm_cluster.command("scontrol", "update", f"JobId={job}", "TimeLimit=1"),
    )
    assert cli_main(command) == 1
    watcher.join()
    table = pd.read_csv(out / "grid.csv")
    assert len(limited) == 1 and table["status"].tolist() == ["timeout"], table.loc[0, "message"]
    assert "time limit (--time)" in table.loc[0, "message"]
    assert "#SBATCH --time=5" in (out / ".submitit" / f"{limited[0]}_submission.sh").read_text()
    assert not (run_dir / "error.txt").exists() and (run_dir / "checkpoints" / "last.pt").is_file()
    epochs_before = epochs_done(run_dir)

    watcher, _ = act_on_the_job(
        slurm_cluster, lambda: epochs_done(run_dir) > epochs_before, lambda job: slurm_cluster.command("scancel", job)
    )
    assert cli_main(command) == 1
    watcher.join()
    table = pd.read_csv(out / "grid.csv")
    assert table[["status", "origin"]].values.tolist() == [["failed", "resumed"]]
    assert pd.read_csv(run_dir / "history.csv")["epoch"].tolist()[: epochs_before + 1] == list(
        range(1, epochs_before + 2)
    )


def test_a_bad_partition_is_one_line_naming_it(slurm_cluster, data, tmp_path, capsys):
    cache, split = data
    command = grid_command(slurm_cluster, cache, split, tmp_path / "g", "--time", "5")
    command[command.index("--partition") + 1] = "nosuchpartition"
    assert cli_main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlib grid: --partition 'nosuchpartition': the scheduler refused the job")
    assert len(err.splitlines()) == 1 and "Invalid partition" in err


def test_an_unreachable_controller_is_one_line_naming_it(
    slurm_cluster,
    data,
    tmp_path,
    capsys,
    monkeypatch,
):
    from slurm_cluster import free_ports

    cache, split = data
    conf = tmp_path / "slurm.conf"
    lines = slurm_cluster.conf.read_text().splitlines()
    conf.write_text(
        "\n".join(f"SlurmctldPort={free_ports(1)[0]}" if line.startswith("SlurmctldPort=") else line for line in lines)
        + "\n"
    )
    monkeypatch.setenv("SLURM_CONF", str(conf))
    assert cli_main(grid_command(slurm_cluster, cache, split, tmp_path / "g", "--time", "5")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mlib grid: SlurmctldHost in {conf} (the controller): the scheduler refused the job")
    assert len(err.splitlines()) == 1 and "Unable to contact slurm controller" in err
