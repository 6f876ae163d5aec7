"""Submission without a queue: the rendered driver script, dry runs, deploy/ files, README."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nubound.jobs import submit as sub
from nubound.jobs.clusters import load_profile
from nubound.physics.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

DRIVER_PROFILE = """
profile_version = 1
kind = "slurm"
store_root = "{root}"
[network]
interface = "lo"
[workers]
cores = 1
memory = "1GiB"
walltime = "00:10:00"
[driver]
cores = 1
memory = "1536MiB"
walltime = "00:07:00"
queue = "debug"
prologue = ["echo prologue-one", "export NUBOUND_X=1"]
job_extra_directives = ["--no-requeue"]
"""


def parser() -> argparse.ArgumentParser:
    from nubound.jobs.live_view import add_live_view_command

    p = argparse.ArgumentParser(prog="nubound")
    subparsers = p.add_subparsers(dest="command", required=True)
    sub.add_submit_commands(subparsers)
    add_live_view_command(subparsers)
    return p


@pytest.fixture
def scan_files(tmp_path, fake_spec_text):
    profile = tmp_path / "prof.toml"
    profile.write_text(DRIVER_PROFILE.format(root=tmp_path / "root"))
    config = tmp_path / "spec.toml"
    config.write_text(fake_spec_text("s.zarr"))
    return config, profile


def test_driver_script_carries_the_driver_settings(scan_files, tmp_path, monkeypatch, registry_ref):
    config, profile = scan_files
    monkeypatch.chdir(tmp_path)
    job = sub.driver_job(config, load_profile(profile), registry=registry_ref)
    assert job.store == str(tmp_path / "root" / "s.zarr")
    d = [ln.removeprefix("#SBATCH ") for ln in job.script.splitlines() if ln.startswith("#SBATCH")]
    for line in (f"--job-name={job.job_name}", "--time=00:07:00", "--cpus-per-task=1",
                 "--mem=1536M", "--partition=debug", "--no-requeue", f"--chdir={tmp_path}",
                 f"--output={job.log_file}"):
        assert line in d
    lines = job.script.splitlines()
    assert lines.index("echo prologue-one") < lines.index("export NUBOUND_X=1")
    assert lines[-1] == "wait $!"  # the driver runs in the background: the trap can fire
    drive_line = shlex.split(lines[-2])
    assert drive_line == [sys.executable, "-m", "nubound.jobs.submit", "drive",
                          str(config), "--cluster", str(profile), "--store", job.store,
                          "--registry", registry_ref, "&"]
    assert "trap cancel_workers EXIT" in lines
    check = subprocess.run(["bash", "-n"], input=job.script, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_same_scan_same_job_name_and_store(scan_files, registry_ref):
    config, profile = scan_files
    a = sub.driver_job(config, load_profile(profile), registry=registry_ref)
    b = sub.driver_job(config, load_profile(profile), registry=registry_ref)
    c = sub.driver_job(config, load_profile(profile), store="other.zarr", registry=registry_ref)
    assert (a.job_name, a.store) == (b.job_name, b.store)
    assert c.job_name != a.job_name


def test_dry_run_prints_driver_and_worker_scripts(scan_files, capsys, registry_ref):
    config, profile = scan_files
    args = parser().parse_args(["submit", str(config), "--cluster", str(profile), "--dry-run",
                                "--registry", registry_ref])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "-m nubound.jobs.submit drive" in out and "trap cancel_workers EXIT" in out
    assert "-m distributed.cli.dask_worker tcp://SCHEDULER:PORT" in out


def test_submit_needs_a_slurm_profile(scan_files, registry_ref):
    config, _ = scan_files
    with pytest.raises(ConfigError, match="submit needs a kind = 'slurm' profile, got 'pbs'"):
        sub.driver_job(config, load_profile("pbs"), registry=registry_ref)


def test_submit_without_slurm_commands_says_so(scan_files, monkeypatch, registry_ref):
    config, profile = scan_files
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match="squeue not found: submit needs SLURM"):
        sub.submit(config, str(profile), registry=registry_ref)


def test_cluster_list_and_show(capsys):
    p = parser()
    args = p.parse_args(["cluster", "list"])
    assert args.func(args) == 0
    assert {ln.split()[0] for ln in capsys.readouterr().out.splitlines()} == \
        {"local", "slurm", "pbs", "address"}
    args = p.parse_args(["cluster", "show", "slurm"])
    assert args.func(args) == 0
    assert "#SBATCH" in capsys.readouterr().out
    args = p.parse_args(["cluster", "show", "slurm", "--toml"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == Path(load_profile("slurm").source).read_text()


def test_jobqueue_yaml_is_dask_jobqueue_configuration():
    import dask
    from dask_jobqueue.pbs import PBSJob
    from dask_jobqueue.slurm import SLURMJob

    ours = yaml.safe_load((REPO / "deploy" / "jobqueue.yaml").read_text())
    defaults = yaml.safe_load(
        (Path(sys.modules["dask_jobqueue"].__file__).parent / "jobqueue.yaml").read_text())
    for system, keys in ours["jobqueue"].items():
        unknown = set(keys) - set(defaults["jobqueue"][system])
        assert not unknown, f"{system}: keys dask-jobqueue does not know: {unknown}"
    flat = {f"jobqueue.{system}.{key}": value
            for system, keys in ours["jobqueue"].items() for key, value in keys.items()}
    with dask.config.set(flat):
        slurm = SLURMJob(scheduler="tcp://h:1", name="w").job_script()
        pbs = PBSJob(scheduler="tcp://h:1", name="w").job_script()
    s = ours["jobqueue"]["slurm"]
    assert f"#SBATCH -J {s['name']}" in slurm and "#SBATCH --no-requeue" in slurm
    assert f"#SBATCH -t {s['walltime']}" in slurm and f"--interface {s['interface']}" in slurm
    assert f"#PBS -l {ours['jobqueue']['pbs']['resource-spec']}" in pbs


def _readme_blocks() -> list[str]:
    text = (REPO / "deploy" / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_commands_parse_and_files_exist():
    text = (REPO / "deploy" / "README.md").read_text()
    for path in set(re.findall(r"`(deploy/[\w./-]+)`", text)):
        assert (REPO / path).exists(), path
    p = parser()
    seen = set()
    for block in _readme_blocks():
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] != "nubound":
                continue
            words = words[1:words.index(">")] if ">" in words else words[1:]
            seen.add(words[0])
            if words[0] in ("scan", "status"):  # the scanner's commands (jobs/scan.py)
                continue
            p.parse_args(words)
    assert {"submit", "cluster", "live-view", "scan", "status"} <= seen


def test_readme_tls_recipe_makes_certificates_that_verify(tmp_path):
    block = next(b for b in _readme_blocks() if "openssl req -x509" in b)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, check=True,
                   capture_output=True, timeout=120)
    tls = tmp_path / ".nubound" / "tls"
    check = subprocess.run(["openssl", "verify", "-CAfile", tls / "ca.pem", tls / "cert.pem"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "OK" in check.stdout
    assert (tls / "key.pem").stat().st_mode & 0o077 == 0


def test_worker_jobs_of_a_driver_carry_its_comment_and_no_wildcard_http(scan_files):
    from nubound.jobs.clusters import job_script

    _, profile = scan_files
    base = load_profile(profile)
    assert sub.tag_worker_jobs(base, None) is base  # not inside a SLURM job: unchanged
    script = job_script(sub.tag_worker_jobs(base, "4711"))
    assert "#SBATCH --comment=nubound-driver-4711" in script
    # the driver script's trap finds them by exactly this comment
    assert sub.worker_comment("4711") == "nubound-driver-4711"
    assert "--dashboard-address 127.0.0.1:0" in script and "--no-dashboard" in script
