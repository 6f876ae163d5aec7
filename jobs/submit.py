"""``nubound submit``: send a whole scan (driver included) to a batch queue and return at once.

The driver is one batch job rendered from ``deploy/driver.sbatch``; it runs
``python -m nubound.jobs.submit drive``, i.e. :func:`run_driver`: start the profile's cluster
(the scheduler lives in the driver job, worker jobs are submitted from there), optionally serve
the live view, and run or resume the scan. Submitting the same scan again resumes it: the
store is the same and the scanner skips every block marked done. A driver that is still queued
or running for the same store is refused, so two drivers never share a store.

Also here: ``nubound cluster list|show`` (``show`` prints a batch profile's worker job script:
the dry run).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import logging
import os
import shlex
import shutil
import string
import subprocess
import sys
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from nubound.jobs.clusters import ClusterProfile, client_from_profile, job_script, load_profile
from nubound.jobs.options import add_scan_options
from nubound.physics.errors import ConfigError

log = logging.getLogger(__name__)
DRIVER_TEMPLATE = "driver.sbatch"


@dataclass(frozen=True)
class DriverJob:
    """A rendered driver batch script and where its scan and log go."""

    script: str
    job_name: str
    store: str
    log_file: str


@dataclass(frozen=True)
class Submission:
    """What ``nubound submit`` did."""

    job_id: str
    job_name: str
    store: str
    log_file: str
    script_path: str


def load_registry(ref: str | None):
    """A PhysicsRegistry from ``"module:attr"`` or ``"path/file.py:attr"`` (None: the default).

    ``attr`` is a registry instance or a callable returning one (plugins, tests). A file is
    imported as the module named by its stem; its folder is put on ``sys.path`` and on
    ``PYTHONPATH``, which worker processes and batch jobs inherit.
    """
    if ref is None:
        return None
    target, sep, attr = ref.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigError(f"--registry: expected MODULE:ATTR or FILE.py:ATTR, got '{ref}'")
    if target.endswith(".py"):
        path = Path(target).resolve()
        if not path.is_file():
            raise ConfigError(f"--registry: no file {target}")
        folder = str(path.parent)
        sys.path.insert(0, folder)
        # worker processes (local or batch jobs) inherit the environment: they import it too
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [folder] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        target = path.stem
    module = importlib.import_module(target)
    obj = getattr(module, attr)
    from nubound.scanner.catalogue import PhysicsRegistry

    return obj if isinstance(obj, PhysicsRegistry) else obj()


def scan_store(config: str | Path, profile: ClusterProfile, *, store: str | None = None,
               registry=None) -> str:
    """The absolute store location of a scan on a profile (validates the spec on the way)."""
    from nubound.scanner.spec import load_spec
    from nubound.storage.store import normalize_url

    spec = load_spec(config, registry=registry)
    return normalize_url(profile.store_url(store or spec.store))


def _job_name(store: str) -> str:
    return "nubound-" + hashlib.sha1(store.encode()).hexdigest()[:10]


def driver_job(config: str | Path, profile: ClusterProfile, *, store: str | None = None,
               registry: str | None = None, live_view: str | None = None,
               max_in_flight: int | None = None) -> DriverJob:
    """Render the driver batch script of ``config`` on ``profile`` (nothing is submitted)."""
    from dask.utils import parse_bytes

    if profile.kind != "slurm":
        raise ConfigError(f"--cluster {profile.name}: submit needs a kind = 'slurm' profile, got "
                          f"'{profile.kind}'; run `nubound scan CONFIG --cluster {profile.name}`"
                          " from a login node instead")
    config = Path(config).resolve()
    url = scan_store(config, profile, store=store, registry=load_registry(registry))
    d = profile.driver
    log_dir = Path(d.get("log_directory") or (Path(url).parent if "://" not in url else "."))
    name = _job_name(url)
    log_file = str(log_dir.resolve() / f"{name}-%j.log")
    args = [str(config), "--cluster", str(_profile_path(profile)), "--store", url]
    if registry:
        args += ["--registry", registry]
    if live_view:
        args += ["--live-view", live_view]
    if max_in_flight is not None:
        args += ["--max-in-flight", str(max_in_flight)]
    directives = [f"#SBATCH --partition={d['queue']}"] if "queue" in d else []
    directives += [f"#SBATCH --account={d['account']}"] if "account" in d else []
    directives += [f"#SBATCH {x}" for x in d.get("job_extra_directives", ())]
    template = string.Template(
        (resources.files("nubound.deploy") / DRIVER_TEMPLATE).read_text(encoding="utf-8"))
    script = template.substitute(
        job_name=name, log_file=log_file, walltime=d.get("walltime", "01:00:00"),
        cores=d.get("cores", 1), memory_mb=parse_bytes(d.get("memory", "2GiB")) // 2**20,
        workdir=str(Path.cwd()), directives="\n".join(directives),
        prologue="\n".join(d.get("prologue", ())), store=shlex.quote(url),
        python=shlex.quote(d.get("python", sys.executable)),
        driver_args=" ".join(shlex.quote(a) for a in args),
    )
    return DriverJob(script, name, url, log_file)


def _profile_path(profile: ClusterProfile) -> str:
    """The profile as the driver job can load it: a packaged name or the absolute file path."""
    return profile.source or profile.name


def _slurm(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        raise ConfigError(f"{cmd[0]} not found: submit needs SLURM's client commands "
                          "(sbatch, squeue) on this machine and SLURM_CONF if not in /etc/slurm")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ConfigError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def active_jobs(job_name: str) -> list[str]:
    """Ids of queued or running jobs named ``job_name``."""
    out = _slurm(["squeue", "-h", "-n", job_name, "-o", "%i"])
    return [line.strip() for line in out.splitlines() if line.strip()]


def submit(config: str | Path, profile: ClusterProfile | str, *, store: str | None = None,
           registry: str | None = None, live_view: str | None = None,
           max_in_flight: int | None = None) -> Submission:
    """Submit the driver job with ``sbatch`` and return at once."""
    if not isinstance(profile, ClusterProfile):
        profile = load_profile(profile)
    job = driver_job(config, profile, store=store, registry=registry, live_view=live_view,
                     max_in_flight=max_in_flight)
    running = active_jobs(job.job_name)
    if running:
        raise ConfigError(f"the scan of {job.store} already runs as job {running[0]}; follow it "
                          f"with `nubound status {job.store}` or cancel it with "
                          f"`scancel {running[0]}` before submitting again")
    log_dir = Path(job.log_file).parent
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{job.job_name}.sbatch"
    path.write_text(job.script, encoding="utf-8")
    job_id = _slurm(["sbatch", "--parsable", str(path)]).split(";")[0]
    return Submission(job_id, job.job_name, job.store, job.log_file.replace("%j", job_id),
                      str(path))


def worker_comment(driver_job_id: str) -> str:
    """The SLURM comment of the worker jobs of driver job ``driver_job_id``."""
    return f"nubound-driver-{driver_job_id}"


def tag_worker_jobs(profile: ClusterProfile, driver_job_id: str | None) -> ClusterProfile:
    """``profile`` whose SLURM worker jobs carry :func:`worker_comment` of the driver job.

    ``deploy/driver.sbatch`` cancels the jobs with that comment when the driver job ends or is
    cancelled. Unchanged outside a SLURM job or for other kinds.
    """
    if profile.kind != "slurm" or not driver_job_id:
        return profile
    extra = (*profile.workers.get("job_extra_directives", ()),
             f"--comment={worker_comment(driver_job_id)}")
    return replace(profile, workers={**profile.workers, "job_extra_directives": extra})


def run_driver(config: str | Path, *, cluster: ClusterProfile | str, store: str | None = None,
               registry=None, live_view: str | None = None, max_in_flight: int | None = None):
    """Run (or resume) a scan on the profile's cluster; what the driver job executes.

    Also usable from a login node (``nubound scan --cluster``). Prints the dashboard address
    (the scanner records it in the store attrs) and, with ``live_view`` ("host:port"), serves
    the live view for the duration of the scan and records its address as ``live_view_link``.
    """
    from nubound.jobs.dashboard.monitor import DashboardMonitor
    from nubound.jobs.live_view import LiveView
    from nubound.scanner.run import prepare_store, run_scan
    from nubound.scanner.spec import load_spec
    from nubound.storage.store import update_attrs

    profile = cluster if isinstance(cluster, ClusterProfile) else load_profile(cluster)
    profile = tag_worker_jobs(profile, os.environ.get("SLURM_JOB_ID"))
    spec = load_spec(config, registry=registry)
    url, _ = prepare_store(spec, url=scan_store(config, profile, store=store, registry=registry),
                           registry=registry)
    view = LiveView(url, address=live_view).start() if live_view else None
    try:
        if view is not None:
            print(f"nubound: live view {view.url}", file=sys.stderr, flush=True)
            update_attrs(url, live_view_link=view.url)
        with client_from_profile(profile) as session:
            print(f"nubound: dashboard {session.dashboard_link}", file=sys.stderr, flush=True)
            return run_scan(spec, session.client, url=url, registry=registry,
                            max_in_flight=max_in_flight, threads_max=profile.max_threads,
                            monitor=DashboardMonitor(session.client))
    finally:
        if view is not None:
            view.stop()


def _cmd_submit(args: argparse.Namespace) -> int:
    profile = load_profile(args.cluster)
    if args.dry_run:
        job = driver_job(args.config, profile, store=args.store, registry=args.registry,
                         live_view=args.live_view, max_in_flight=args.max_in_flight)
        print(job.script)
        print(f"# worker job script of profile '{profile.name}':\n{job_script(profile)}")
        return 0
    sub = submit(args.config, profile, store=args.store, registry=args.registry,
                 live_view=args.live_view, max_in_flight=args.max_in_flight)
    print(f"submitted job {sub.job_id}\n"
          f"  store:   {sub.store}\n"
          f"  log:     {sub.log_file}\n"
          f"  follow:  nubound status {shlex.quote(sub.store)}\n"
          f"           squeue -j {sub.job_id}    (cancel: scancel {sub.job_id}; "
          f"submit again to resume)")
    return 0


def _cmd_cluster_list(args: argparse.Namespace) -> int:
    from nubound.jobs.clusters import packaged_profiles

    for name, path in sorted(packaged_profiles().items()):
        print(f"{name:10s} {load_profile(name).description}  ({path})")
    return 0


def _cmd_cluster_show(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    if args.toml:
        print(Path(profile.source).read_text(encoding="utf-8"), end="")
        return 0
    print(f"# profile {profile.name}: kind = {profile.kind}, store_root = {profile.store_root}, "
          f"tls = {'on' if profile.tls else 'off'}")
    if profile.kind in ("slurm", "pbs"):
        print(job_script(profile))
    return 0




def add_submit_commands(subparsers) -> None:
    """Add ``submit`` and ``cluster list|show`` to the ``nubound`` parser."""
    p = subparsers.add_parser("submit", help="submit a whole scan as a batch job (SLURM)")
    add_scan_options(p, cluster_required=True)
    p.add_argument("--dry-run", action="store_true",
                   help="print the driver and worker job scripts, submit nothing")
    p.set_defaults(func=_cmd_submit)

    cluster = subparsers.add_parser("cluster", help="cluster profiles")
    csub = cluster.add_subparsers(dest="cluster_cmd", required=True)
    csub.add_parser("list", help="packaged profiles").set_defaults(func=_cmd_cluster_list)
    show = csub.add_parser("show", help="validate a profile; print its worker job script")
    show.add_argument("profile", help="packaged name or .toml file")
    show.add_argument("--toml", action="store_true",
                      help="print the profile file itself (a start for your own)")
    show.set_defaults(func=_cmd_cluster_show)


def main(argv: list[str] | None = None) -> int:
    """``python -m nubound.jobs.submit drive CONFIG --cluster P --store S``: the driver job."""
    parser = argparse.ArgumentParser(prog="python -m nubound.jobs.submit")
    sub = parser.add_subparsers(dest="command", required=True)
    drive = sub.add_parser("drive", help="run the scan of a submitted driver job")
    add_scan_options(drive, cluster_required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = run_driver(args.config, cluster=args.cluster, store=args.store,
                            registry=load_registry(args.registry), live_view=args.live_view,
                            max_in_flight=args.max_in_flight)
    except ConfigError as exc:
        print(f"nubound: error: {exc}", file=sys.stderr)
        return 2
    print(f"nubound driver: {result.blocks_computed} blocks computed, "
          f"{result.blocks_done_before + result.blocks_computed + result.blocks_skipped}/"
          f"{result.blocks_total} done in {result.wall_s:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
