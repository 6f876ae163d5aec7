"""Cluster profiles: TOML files that say where a scan runs, turned into a Dask client.

A profile (``profile_version = 1``) names a ``kind`` and the settings of that kind; the packaged
profiles in ``configs/clusters/`` carry a comment on every key. The layer stays thin over
dask-jobqueue (docs/design.md#conventions): ``slurm``/``pbs`` map one to one onto
``SLURMCluster``/``PBSCluster``
arguments, ``local`` onto ``distributed.LocalCluster``, ``address`` onto ``Client(address)``::

    profile_version = 1
    kind = "slurm"                      # local | slurm | pbs | address
    store_root = "/scratch/me/nubound"  # relative scan stores go here (path or fsspec URL)
    [network]                           # interface, dashboard_address, scheduler_port, (address)
    [workers]                           # cores, memory, walltime, queue, prologue, ... (per kind)
    [scaling]                           # jobs = N, or minimum_jobs/maximum_jobs (adaptive)
    [tls]                               # enabled, ca_file, cert_file, key_file
    [driver]                            # the batch job of `nubound submit`

Nothing listens on a public interface unless the profile says so: the local scheduler and every
dashboard bind to 127.0.0.1 by default; batch kinds must name the ``interface`` their workers
reach the scheduler on. Every error is a ConfigError naming the key and the allowed keys.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from nubound.physics.errors import ConfigError

log = logging.getLogger(__name__)

PROFILE_VERSION = 1
KINDS = ("local", "slurm", "pbs", "address")
BATCH_KINDS = ("slurm", "pbs")
_TOP = ("profile_version", "kind", "description", "store_root", "network", "workers", "scaling",
        "tls", "driver")
_TOP_BY_KIND = {
    "local": ("profile_version", "kind", "description", "store_root", "network", "workers",
              "tls"),
    "address": ("profile_version", "kind", "description", "store_root", "network", "tls"),
    "slurm": _TOP,
    "pbs": _TOP,
}
_NETWORK = {
    "local": ("host", "dashboard_address", "scheduler_port"),
    "address": ("address",),
    "slurm": ("interface", "dashboard_address", "scheduler_port"),
    "pbs": ("interface", "dashboard_address", "scheduler_port"),
}
_BATCH_WORKERS = ("cores", "processes", "memory", "walltime", "queue", "account", "prologue",
                  "python", "log_directory", "local_directory", "job_extra_directives",
                  "death_timeout")
_WORKERS = {
    "local": ("n_workers", "threads_per_worker", "memory_limit"),
    "slurm": _BATCH_WORKERS,
    "pbs": _BATCH_WORKERS + ("resource_spec",),
}
_SCALING = ("jobs", "minimum_jobs", "maximum_jobs")
_TLS = ("enabled", "ca_file", "cert_file", "key_file")
_DRIVER = ("cores", "memory", "walltime", "queue", "account", "prologue", "log_directory",
           "job_extra_directives", "python")
_LOCALHOST = "127.0.0.1"
WORKER_PRELOAD = "nubound.jobs.worker_preload"  # jobs/worker_preload.py


@dataclass(frozen=True)
class TLSSettings:
    """Dask TLS files: one CA, one cert/key pair for scheduler, workers and client."""

    ca_file: str
    cert_file: str
    key_file: str

    def security(self):
        """A ``distributed.security.Security`` that requires encryption on every connection."""
        from distributed.security import Security

        files = {}
        for role in ("scheduler", "worker", "client"):
            files[f"tls_{role}_cert"] = self.cert_file
            files[f"tls_{role}_key"] = self.key_file
        return Security(tls_ca_file=self.ca_file, require_encryption=True, **files)


@dataclass(frozen=True)
class ClusterProfile:
    """A validated cluster profile (see the module docstring for the TOML layout)."""

    name: str
    kind: str
    description: str = ""
    store_root: str | None = None
    network: dict[str, Any] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    scaling: dict[str, int] = field(default_factory=dict)
    tls: TLSSettings | None = None
    driver: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the TOML file it was read from (what a driver job loads again)

    @property
    def protocol(self) -> str:
        """``tls://`` when TLS is on, else ``tcp://``."""
        return "tls://" if self.tls else "tcp://"

    def security(self):
        """The ``Security`` object, or None without TLS."""
        return self.tls.security() if self.tls else None

    @property
    def max_threads(self) -> int | None:
        """Worker threads of the cluster at its largest (None when unknown: ``address``).

        Batch kinds: ``maximum_jobs`` (or ``jobs``) × ``cores``; local: ``n_workers`` ×
        ``threads_per_worker``. The scan sizes its submission window for it from the start, so
        an adaptive cluster sees enough work to grow to its maximum.
        """
        if self.kind == "local":
            return self.workers.get("n_workers", 1) * self.workers.get("threads_per_worker", 1)
        if self.kind in BATCH_KINDS:
            jobs = self.scaling.get("maximum_jobs", self.scaling.get("jobs", 1))
            return jobs * self.workers["cores"]
        return None

    def store_url(self, store: str) -> str:
        """Where a spec's ``store`` lives: relative paths go under ``store_root`` if set."""
        if "://" in store or Path(store).is_absolute() or not self.store_root:
            return store
        if "://" in self.store_root:
            return self.store_root.rstrip("/") + "/" + store
        return str(Path(self.store_root) / store)


def _err(path: str, message: str) -> ConfigError:
    return ConfigError(f"cluster profile {path}: {message}")


def _table(raw: Any, allowed: tuple[str, ...], path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _err(path, f"expected a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise _err(where, f"unknown key; allowed keys: {', '.join(allowed)}")
    return dict(raw)


def _typed(table: dict, key: str, kinds: type | tuple, path: str, *, minimum: int | None = None):
    value = table[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise _err(f"{path}.{key}", f"expected {kinds}, got {value!r}")
    if not isinstance(value, kinds):
        names = (kinds.__name__ if isinstance(kinds, type)
                 else " or ".join(k.__name__ for k in kinds))
        raise _err(f"{path}.{key}", f"expected {names}, got {value!r}")
    if minimum is not None and value < minimum:
        raise _err(f"{path}.{key}", f"expected an integer >= {minimum}, got {value!r}")
    return value


_INT_KEYS = {"cores": 1, "processes": 1, "n_workers": 1, "threads_per_worker": 1,
             "death_timeout": 1, "scheduler_port": 0, "jobs": 0, "minimum_jobs": 0,
             "maximum_jobs": 1}
_LIST_KEYS = ("prologue", "job_extra_directives")
_PATH_KEYS = ("log_directory", "local_directory", "ca_file", "cert_file", "key_file", "python")


def _check_values(table: dict, path: str) -> dict:
    out = {}
    for key in table:
        if key in _INT_KEYS:
            out[key] = _typed(table, key, int, path, minimum=_INT_KEYS[key])
        elif key in _LIST_KEYS:
            value = _typed(table, key, list, path)
            if not all(isinstance(v, str) for v in value):
                raise _err(f"{path}.{key}", f"expected a list of strings, got {value!r}")
            out[key] = tuple(value)
        elif key == "enabled":
            out[key] = _typed(table, key, bool, path)
        else:
            value = _typed(table, key, str, path)
            out[key] = _expand(value) if key in _PATH_KEYS else value
    return out


def _expand(path: str) -> str:
    return path if "://" in path else os.path.expanduser(os.path.expandvars(path))


def parse_profile(raw: dict[str, Any], name: str = "profile") -> ClusterProfile:
    """Validate a profile table (from TOML) into a :class:`ClusterProfile`."""
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind not in KINDS:
        raise _err("kind", f"got {kind!r}; allowed: {', '.join(KINDS)}")
    raw = _table(raw, _TOP_BY_KIND[kind], "")
    if raw.get("profile_version") != PROFILE_VERSION:
        raise _err("profile_version", f"expected {PROFILE_VERSION}, got "
                   f"{raw.get('profile_version')!r}")
    network = _check_values(_table(raw.get("network", {}), _NETWORK[kind], "network"), "network")
    workers = _check_values(_table(raw.get("workers", {}), _WORKERS.get(kind, ()), "workers"),
                            "workers")
    scaling = _check_values(_table(raw.get("scaling", {}), _SCALING, "scaling"), "scaling")
    driver = _check_values(_table(raw.get("driver", {}), _DRIVER, "driver"), "driver")
    tls_raw = _check_values(_table(raw.get("tls", {}), _TLS, "tls"), "tls")
    if kind == "address" and "address" not in network:
        raise _err("network.address", "required for kind = 'address' (e.g. 'tcp://host:8786')")
    if kind in BATCH_KINDS:
        for key in ("cores", "memory", "walltime"):
            if key not in workers:
                raise _err(f"workers.{key}", f"required for kind = '{kind}'")
        if "interface" not in network:
            raise _err("network.interface", "required for batch clusters: the interface the "
                       "workers reach the scheduler on (e.g. 'ib0'; 'lo' on one machine)")
    if "jobs" in scaling and {"minimum_jobs", "maximum_jobs"} & set(scaling):
        raise _err("scaling.jobs", "give either jobs = N or minimum_jobs/maximum_jobs")
    if scaling.get("minimum_jobs", 0) > scaling.get("maximum_jobs", 10**9):
        raise _err("scaling.minimum_jobs", "must not exceed scaling.maximum_jobs")
    tls = None
    if tls_raw.get("enabled", False):
        missing = [k for k in ("ca_file", "cert_file", "key_file") if k not in tls_raw]
        if missing:
            raise _err(f"tls.{missing[0]}", "required when tls.enabled = true")
        tls = TLSSettings(tls_raw["ca_file"], tls_raw["cert_file"], tls_raw["key_file"])
    store_root = raw.get("store_root")
    if store_root is not None:
        store_root = _expand(_typed(raw, "store_root", str, ""))
    description = _typed(raw, "description", str, "") if "description" in raw else ""
    return ClusterProfile(name, kind, description, store_root, network, workers, scaling, tls,
                          driver)


def packaged_profiles() -> dict[str, Path]:
    """Names and files of the profiles shipped in ``configs/clusters/``."""
    folder = resources.files("nubound.configs") / "clusters"
    return {p.name.removesuffix(".toml"): Path(str(p)) for p in folder.iterdir()
            if p.name.endswith(".toml")}


def load_profile(name_or_path: str | os.PathLike) -> ClusterProfile:
    """A profile by packaged name (``local``, ``slurm``, ...) or by TOML file path."""
    path = Path(name_or_path)
    if not path.suffix == ".toml":
        known = packaged_profiles()
        if str(name_or_path) not in known:
            raise ConfigError(f"--cluster: no profile '{name_or_path}'; packaged profiles: "
                              f"{', '.join(sorted(known))} (or give a path to a .toml file)")
        path = known[str(name_or_path)]
    if not path.is_file():
        raise ConfigError(f"--cluster: profile file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cluster profile {path}: not valid TOML ({exc})") from None
    return replace(parse_profile(raw, name=path.stem), source=str(path.resolve()))


def _import_jobqueue(kind: str):
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"cluster profile kind '{kind}' needs dask-jobqueue: "
                          "install nubound[cluster] (pip install 'nubound[cluster]')") from None
    return dask_jobqueue


def jobqueue_kwargs(profile: ClusterProfile) -> dict[str, Any]:
    """Arguments of ``SLURMCluster``/``PBSCluster`` (and of their job class) for a batch profile."""
    w = dict(profile.workers)
    kw: dict[str, Any] = {
        "cores": w.pop("cores"), "memory": w.pop("memory"), "walltime": w.pop("walltime"),
        "processes": w.pop("processes", 1),
        "python": w.pop("python", sys.executable),
        "interface": profile.network["interface"],
        "job_script_prologue": list(w.pop("prologue", ())),
        "job_extra_directives": list(w.pop("job_extra_directives", ())),
        # A worker's HTTP server (health, metrics; its Bokeh pages are off) would otherwise
        # listen on 0.0.0.0: unauthenticated, on every interface of the compute node.
        "worker_extra_args": ["--no-dashboard", "--dashboard-address", f"{_LOCALHOST}:0",
                              "--preload", WORKER_PRELOAD],
    }
    kw.update(w)  # queue, account, log_directory, local_directory, death_timeout, resource_spec
    if profile.tls:
        kw["security"] = profile.security()
        kw["protocol"] = "tls://"
    return kw


def job_script(profile: ClusterProfile) -> str:
    """The worker job script of a batch profile, without starting a scheduler (dry run).

    The scheduler address is the placeholder ``<protocol>SCHEDULER:PORT``; a live cluster puts
    its own address there (``cluster.job_script()``).
    """
    if profile.kind not in BATCH_KINDS:
        raise ConfigError(f"cluster profile kind: '{profile.kind}' has no job script; only "
                          f"{', '.join(BATCH_KINDS)} profiles submit worker jobs")
    jq = _import_jobqueue(profile.kind)
    job_cls = {"slurm": jq.slurm.SLURMJob, "pbs": jq.pbs.PBSJob}[profile.kind]
    return job_cls(scheduler=f"{profile.protocol}SCHEDULER:PORT", name="nubound-worker",
                   **jobqueue_kwargs(profile)).job_script()


def local_cluster(n_workers: int | None = None, *, threads_per_worker: int = 1,
                  host: str = _LOCALHOST, dashboard_address: str = f"{_LOCALHOST}:0",
                  **kwargs: Any):
    """A ``distributed.LocalCluster`` of worker processes as nubound starts it: the nubound
    page in its dashboard, and workers that start with the physics imported and the kernels
    loaded (:mod:`nubound.jobs.worker_preload`). ``kwargs`` go to LocalCluster."""
    from distributed import LocalCluster

    from nubound.jobs.dashboard.preload import scheduler_preload  # the /nubound page

    kwargs.setdefault("scheduler_kwargs", scheduler_preload())
    warm_kernel_cache()
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                        processes=True, host=host, dashboard_address=dashboard_address,
                        preload=[WORKER_PRELOAD], **kwargs)


def warm_kernel_cache() -> None:
    """Compile the numba kernels here, once, if their cache is cold (about 30 s), so that the
    workers about to start load them from the cache instead of compiling each its own."""
    from nubound.physics.compiled import compile_kernels

    seconds = compile_kernels()
    if seconds > 2.0:
        log.info("compiled the profile kernels in %.0f s (numba; cached for later runs)",
                 seconds)


def make_cluster(profile: ClusterProfile):
    """Start the cluster object a profile describes (None for ``kind = 'address'``)."""
    net = profile.network
    dashboard = net.get("dashboard_address", f"{_LOCALHOST}:0")
    if profile.kind == "address":
        return None
    from nubound.jobs.dashboard.preload import scheduler_preload  # the /nubound page

    if profile.kind == "local":
        w = profile.workers
        kw = {"security": profile.security(), "protocol": profile.protocol} if profile.tls else {}
        return local_cluster(
            w.get("n_workers", 1), threads_per_worker=w.get("threads_per_worker", 1),
            memory_limit=w.get("memory_limit", "auto"), host=net.get("host", _LOCALHOST),
            scheduler_port=net.get("scheduler_port", 0), dashboard_address=dashboard,
            scheduler_kwargs=scheduler_preload(profile.tls), **kw)
    warm_kernel_cache()
    jq = _import_jobqueue(profile.kind)
    cls = {"slurm": jq.SLURMCluster, "pbs": jq.PBSCluster}[profile.kind]
    scheduler_options = {"dashboard_address": dashboard, "port": net.get("scheduler_port", 0),
                         **scheduler_preload(profile.tls)}
    cluster = cls(scheduler_options=scheduler_options, **jobqueue_kwargs(profile))
    scaling = profile.scaling
    if "minimum_jobs" in scaling or "maximum_jobs" in scaling:
        cluster.adapt(minimum_jobs=scaling.get("minimum_jobs", 0),
                      maximum_jobs=scaling.get("maximum_jobs", 1))
    else:
        cluster.scale(jobs=scaling.get("jobs", 1))
    return cluster


@dataclass
class ClusterSession:
    """A running cluster (or a connection to one) and its client; a context manager."""

    profile: ClusterProfile
    client: Any
    cluster: Any = None

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard URL, or None when the scheduler has none."""
        try:
            return self.client.dashboard_link
        except (KeyError, AttributeError):
            return None

    def close(self) -> None:
        """Close the client, then the cluster (cancels batch worker jobs)."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> ClusterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_from_profile(profile: ClusterProfile | str | os.PathLike) -> ClusterSession:
    """Start (or connect to) the profile's cluster and return a :class:`ClusterSession`.

    The scanner's run loop only needs ``session.client``; ``session.dashboard_link`` is what
    it prints and records in the store attributes.
    """
    from distributed import Client

    if not isinstance(profile, ClusterProfile):
        profile = load_profile(profile)
    cluster = make_cluster(profile)
    try:
        if cluster is None:
            client = Client(profile.network["address"], security=profile.security())
        else:
            client = Client(cluster, security=profile.security())
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    session = ClusterSession(profile, client, cluster)
    log.info("cluster '%s' (%s) up; dashboard: %s", profile.name, profile.kind,
             session.dashboard_link)
    return session
