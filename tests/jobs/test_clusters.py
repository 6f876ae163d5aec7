"""Cluster profiles: strict validation, packaged files, job scripts, local/address/TLS clusters."""

from __future__ import annotations

import gc
import re
import sys
import tomllib
import warnings

import pytest
from dask.utils import parse_bytes

from nubound.jobs import clusters
from nubound.jobs.clusters import ClusterProfile, load_profile, parse_profile
from nubound.physics.errors import ConfigError

SLURM_MIN = {"profile_version": 1, "kind": "slurm", "network": {"interface": "lo"},
             "workers": {"cores": 2, "memory": "3GiB", "walltime": "00:20:00"}}


def test_packaged_profiles_cover_every_kind():
    names = clusters.packaged_profiles()
    kinds = {load_profile(n).kind for n in names}
    assert kinds == set(clusters.KINDS)


@pytest.mark.parametrize("name", ["local", "slurm", "pbs", "address"])
def test_every_key_of_packaged_profiles_has_a_comment(name):
    text = clusters.packaged_profiles()[name].read_text()
    keys = tomllib.loads(text)
    n_keys = 0
    for line in text.splitlines():
        m = re.match(r"\s*([A-Za-z_]+)\s*=", line)
        if m:
            n_keys += 1
            assert "#" in line.split("=", 1)[1], f"{name}.toml: key '{m.group(1)}' lacks a comment"
    leaf = sum(len(v) if isinstance(v, dict) else 1 for v in keys.values())
    assert n_keys == leaf  # every key of the file was looked at


@pytest.mark.parametrize(("raw", "key"), [
    (SLURM_MIN | {"queue": "x"}, "queue"),
    (SLURM_MIN | {"workers": SLURM_MIN["workers"] | {"nworkers": 2}}, "workers.nworkers"),
    (SLURM_MIN | {"tls": {"enable": True}}, "tls.enable"),
    ({"profile_version": 1, "kind": "local", "scaling": {"jobs": 1}}, "scaling"),
    ({"profile_version": 1, "kind": "local", "network": {"interface": "lo"}}, "network.interface"),
])
def test_unknown_keys_name_the_key_and_the_allowed_ones(raw, key):
    with pytest.raises(ConfigError, match=re.escape(key) + r": unknown key; allowed keys: \w"):
        parse_profile(raw)


@pytest.mark.parametrize(("raw", "match"), [
    ({"kind": "sge", "profile_version": 1}, r"kind: got 'sge'; allowed: local, slurm, pbs"),
    ({"kind": "local"}, "profile_version: expected 1"),
    (SLURM_MIN | {"network": {}}, "network.interface: required"),
    (SLURM_MIN | {"workers": {"cores": 2, "memory": "1GiB"}}, "workers.walltime: required"),
    (SLURM_MIN | {"workers": SLURM_MIN["workers"] | {"cores": "2"}}, "workers.cores: expected int"),
    (SLURM_MIN | {"workers": SLURM_MIN["workers"] | {"cores": 0}}, "workers.cores: expected an"),
    (SLURM_MIN | {"scaling": {"jobs": 2, "maximum_jobs": 3}}, "scaling.jobs: give either"),
    (SLURM_MIN | {"scaling": {"minimum_jobs": 3, "maximum_jobs": 2}}, "scaling.minimum_jobs"),
    (SLURM_MIN | {"tls": {"enabled": True, "ca_file": "a"}}, "tls.cert_file: required"),
    ({"profile_version": 1, "kind": "address"}, "network.address: required"),
])
def test_bad_values_are_config_errors(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_profile(raw)


def test_unknown_profile_name_lists_the_packaged_ones():
    with pytest.raises(ConfigError, match="no profile 'nope'; packaged profiles: .*slurm"):
        load_profile("nope")


def test_store_url_places_relative_stores_under_store_root():
    p = ClusterProfile("p", "local", store_root="/scratch/me")
    assert p.store_url("a/b.zarr") == "/scratch/me/a/b.zarr"
    assert p.store_url("/abs/b.zarr") == "/abs/b.zarr"
    assert p.store_url("s3://bucket/b.zarr") == "s3://bucket/b.zarr"
    assert ClusterProfile("q", "local", store_root="s3://bk/x/").store_url("b.zarr") == \
        "s3://bk/x/b.zarr"


def _directives(script: str) -> list[str]:
    return [ln.removeprefix("#SBATCH ").strip() for ln in script.splitlines()
            if ln.startswith("#SBATCH")]


def test_slurm_job_script_carries_every_profile_setting():
    path = clusters.packaged_profiles()["slurm"]
    raw = tomllib.loads(path.read_text())
    w = raw["workers"]
    script = clusters.job_script(load_profile("slurm"))
    d = _directives(script)
    assert f"-p {w['queue']}" in d
    assert f"--cpus-per-task={w['cores']}" in d
    assert f"-t {w['walltime']}" in d
    assert f"--mem={parse_bytes(w['memory']) // 2**30}G" in d
    for extra in w["job_extra_directives"]:
        assert extra in d
    for line in w["prologue"]:
        assert line in script.splitlines()
    worker = script.splitlines()[-1]
    assert worker.startswith(f"{w['python']} -m distributed.cli.dask_worker tcp://")
    assert f"--interface {raw['network']['interface']}" in worker
    assert f"--death-timeout {w['death_timeout']}" in worker
    assert f"--nthreads {w['cores'] // w['processes']}" in worker
    assert f"--preload {clusters.WORKER_PRELOAD}" in worker  # joins with the physics loaded


def test_pbs_job_script_uses_the_resource_spec():
    raw = tomllib.loads(clusters.packaged_profiles()["pbs"].read_text())
    script = clusters.job_script(load_profile("pbs"))
    assert f"#PBS -l {raw['workers']['resource_spec']}" in script
    assert f"#PBS -q {raw['workers']['queue']}" in script


def test_tls_profile_job_script_passes_the_certificates(tls_files):
    profile = parse_profile(SLURM_MIN | {"tls": {"enabled": True, **tls_files}})
    worker = clusters.job_script(profile).splitlines()[-1]
    assert " tls://SCHEDULER:PORT " in worker
    assert f"--tls-ca-file {tls_files['ca_file']}" in worker
    assert f"--tls-cert {tls_files['cert_file']}" in worker
    assert f"--tls-key {tls_files['key_file']}" in worker


def test_job_script_of_a_local_profile_is_an_error():
    with pytest.raises(ConfigError, match="only slurm, pbs profiles"):
        clusters.job_script(load_profile("local"))


def test_missing_dask_jobqueue_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(ConfigError, match=r"install nubound\[cluster\]"):
        clusters.job_script(parse_profile(SLURM_MIN))


def _double(x):
    return 2 * x


def test_local_profile_binds_to_loopback_and_address_profile_connects():
    raw = {"profile_version": 1, "kind": "local", "network": {"dashboard_address": "127.0.0.1:0"},
           "workers": {"n_workers": 1, "memory_limit": "1GiB"}}
    with clusters.client_from_profile(parse_profile(raw)) as session:
        address = session.cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert session.dashboard_link.startswith("http://127.0.0.1:")
        assert session.client.submit(_double, 21).result(timeout=60) == 42
        other = parse_profile({"profile_version": 1, "kind": "address",
                               "network": {"address": address}})
        with clusters.client_from_profile(other) as remote:
            assert remote.cluster is None
            assert remote.client.submit(_double, 4).result(timeout=60) == 8


def _physics_loaded() -> tuple[bool, bool]:
    """In a worker: (the experiments' modules imported, the profile kernel compiled)."""
    from nubound.physics.statistics import profile_kernel

    kernels = [getattr(profile_kernel, name) for name in dir(profile_kernel)]
    compiled = any(getattr(k, "signatures", None) for k in kernels)
    return "nubound.physics.experiments.coherent_csi" in sys.modules, compiled


def test_local_cluster_workers_start_with_the_physics_loaded():
    # the worker preload imports the physics and loads the kernels before the worker joins:
    # a block's first run in a process then reads only the data (docs/design.md#submission)
    with clusters.local_cluster(1, memory_limit="1GiB") as cluster:
        from distributed import Client

        with Client(cluster) as client:
            (state,) = client.run(_physics_loaded).values()
    assert state == (True, True)


def test_tls_profile_encrypts_and_refuses_plain_tcp(tls_files):
    from distributed import Client

    tls = {"enabled": True, **tls_files}
    raw = {"profile_version": 1, "kind": "local", "network": {"dashboard_address": "127.0.0.1:0"},
           "workers": {"n_workers": 1, "memory_limit": "1GiB"}, "tls": tls}
    with clusters.client_from_profile(parse_profile(raw)) as session:
        address = session.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        assert session.client.submit(_double, 5).result(timeout=60) == 10
        other = parse_profile({"profile_version": 1, "kind": "address",
                               "network": {"address": address}, "tls": tls})
        with clusters.client_from_profile(other) as remote:
            assert remote.client.submit(_double, 6).result(timeout=60) == 12
        plain = "tcp://" + address.removeprefix("tls://")
        with pytest.raises((OSError, TimeoutError)):
            Client(plain, timeout=3)
        # the refused client leaves its half-open socket to the garbage collector: collect it
        # here, where the ResourceWarning is expected, not at some later test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
