"""Data registry: every input file the physics uses, with its sha256 and official source.

Files are taken from the folder named by ``NUBOUND_DATA_DIR`` when it is set (laid out as
``<experiment>/<file>``, like the project's shared data folder); otherwise they are downloaded
with pooch into its cache (``pooch.os_cache("nubound")``) and checked against the hash.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nubound.physics.errors import DataFileError

DATA_DIR_ENV = "NUBOUND_DATA_DIR"

_AR_ZENODO = "https://zenodo.org/records/3903810/files/{name}"
_AR_LICENCE = "COHERENT collaboration data release, Zenodo 10.5281/zenodo.3903810 (CC-BY-4.0)"
_CSI_ARXIV = "https://arxiv.org/src/2110.07730v2/anc/{name}"
_CSI_LICENCE = "COHERENT collaboration, arXiv:2110.07730 ancillary files (arXiv licence)"
_CSI2018_ZENODO = "https://zenodo.org/records/1228631/files/{name}"
_CSI2018_LICENCE = "COHERENT collaboration data release, Zenodo 10.5281/zenodo.1228631"
_D2_RAW = (
    "https://raw.githubusercontent.com/LeireLarizgoitia/Reactor_CEnuNS/"
    "2242059ec1784d3f70d89add2f3bd7d63ef20239/SM/{name}"
)
_D2_LICENCE = (
    "Dresden-II data of arXiv:2202.09672 (Colaresi et al.), as used by arXiv:2202.10829; "
    "copies from github.com/LeireLarizgoitia/Reactor_CEnuNS"
)
_HUBER_RAW = (
    "https://raw.githubusercontent.com/joejohnston203/ricochet_cevns_spectra/"
    "0c16a2ccd803e38972c67caae1646fb51515cd9c/data/huber/{name}"
)
_KOPEIKIN_TOTAL_RAW = (
    "https://raw.githubusercontent.com/joejohnston203/ricochet_cevns_spectra/"
    "d1a994602252f7bdfaf176e3378fe60ccef27f65/data/{name}"
)
_RICOCHET_LICENCE = "MIT, (c) 2019 joejohnston203; tables of Huber arXiv:1106.0687 / Kopeikin"
_RITTER_RAW = "https://raw.githubusercontent.com/RitterCat/reactor-nu-cevns/{commit}/fluxData/{name}"
_RITTER_MK = "f2b6ff8781544821670c2b8f3e67497006f01e02"
_RITTER_B = "30cbb615c8abbd702bc1041f0ff555aa7fbbd7dd"
_RITTER_LICENCE = "numbers of the cited publication (file header); repository has no licence"
_B8_RAW = (
    "https://raw.githubusercontent.com/mhostert/SolarDecayingSteriles/"
    "04f3784e1eb425f2430a79ab13835f48d6ff7760/fluxes/{name}"
)
_B8_LICENCE = ("Bahcall et al., Phys. Rev. C 54, 411 (1996) table; copy from "
               "github.com/mhostert/SolarDecayingSteriles (MIT)")


@dataclass(frozen=True)
class DataFile:
    """One registered input file."""

    key: str  # "<folder>/<file name>", also the path under NUBOUND_DATA_DIR
    sha256: str
    url: str
    licence: str

    @property
    def name(self) -> str:
        """File name without its folder."""
        return self.key.rsplit("/", 1)[-1]


def _entries() -> dict[str, DataFile]:
    rows: list[tuple[str, str, str, str]] = []

    def add(folder: str, table: str, url: str, licence: str) -> None:
        for line in table.strip().splitlines():
            sha, name = line.split()
            rows.append((f"{folder}/{name}", sha, url.format(name=name), licence))

    add("coherent-ar-2020", """
21ce25451c1ed552752ff4a22496deab3ff5dba178bf360813eaff1d25be89e2 CENNS10AnlAEfficiency.txt
a206a77220436d0173c4783ae8fddeab97adf5e144f3d65005eff0870257693e LArParametersAnlA.yaml
36c89291dde3032a19ca7a8e64510d036d7b40c34b0805ce475a13ccfa739dd1 bkgpdf.txt
7f06099e1bba0d2e328555c61cb255bb290607a44202327d29eb3ae3e05c1cd5 brnpdf+1sigBRNTimingMean.txt
fb6fdaf99c9941653d33e1a909d8000b81c1ee9bb8e8ad3bf31839561faf6661 brnpdf+1sigEnergy.txt
b5c1c8d0cb8b2319d093d38418da5ac2ccda59108755fb23e7f4a559cfe154f8 brnpdf-1sigBRNTimingMean.txt
20bcad29e716f3fb0f1e9eeb8ffb049b4b3d8b3b3a150800b9c8711e2b177be6 brnpdf-1sigEnergy.txt
02664ce6a84eca8c6146b6502497bc5d8165df945da132193622334ff4ff826f brnpdf.txt
304dba1553989d7c0cd3f745df9731a5306ec07ecc1044c20efbe2952707b270 brnpdfBRNTimingWidthSyst.txt
308f78e19b7fb3e54399dc29c207bd2a89b91825df5309d48068a3495e1c92e2 cevnspdf+1sigF90.txt
b4e8071f87aa22a562e0c00654a0989915251acf2c7e569068b9b78c3ae5ac35 cevnspdf-1sigF90.txt
3b1d5b25749e8d8e1cfdf5c32e48f026ce4aafec0a80632b3a63273e6e0e1f37 cevnspdf.txt
3170dafd4cf44df35bde0795e1245606d8144c05f3e50f015648c57bcdba97f5 cevnspdfCEvNSTimingMeanSyst.txt
dabf3d80f13959f4b94b77c9b56f7347a645105801e8cc177424e7ffcf7c7f66 datanobkgsub.txt
ebccca6c1650b0ace71fdbaade7a80ea289a99ff3c120266ae6ecf0083df5c63 delbrnpdf.txt
d691284e875fb24e72787016f118c171974ca68fa6005da7ea653ca66059aa04 energydata1d.txt
e82988ec2fdb871f21850ceea866213310ee81dca656ee4448282748037f1579 f90data1d.txt
09fd74b1bc242f1638dae465eefc97e374a2e6efa0aaa1b4452f1ee20dd42aed systerrors1denergy.txt
a553c63ce5861d63c139aa18d3ece0f5e9d32be2029eb2a7474b8e4e39000c0f systerrors1dpsd.txt
a7719f21aa5c8820f6ed65d385d7ba14f55631976a6ca289d8685081599529be systerrors1dtime.txt
fb1054fac8baf2f527b51e6bd45e4341da45fe80dadce815a3d1cad08d729554 timingdata1d.txt
""", _AR_ZENODO, _AR_LICENCE)
    add("coherent-csi-2021", """
0000b042b8d0d28b90370eb70d1409db1d8c510fcf2b3e636370b0d4443ac0b0 brnPE.txt
6f279d835242a868dfc048abaa42b8c400bf961036de7bc7e64636efdd46466f brnTrec.txt
f530d4a50e889333ada0e739db2e36d7f9f3b783822c8c6e932dae88ce071639 dataBeamOnAC.txt
0a188a0291af06dd023d966d1c9fea7a82ec32d8c1a10750fd09c2b17f10a749 dataBeamOnC.txt
f1e58e6b8ec4db53da3be21fe44ebc4621e9b248b920be09759b1000dada8c51 effCoefficients.txt
41cae0376003cc2dcd028a3913e7c16395471f612b56d311f80e2a6071c9950c ninPE.txt
2bb034d648b312f4ee329ae95078dc748ff3f83b999c411b08f86d82ddf8e151 ninTrec.txt
ea6b8f34b296bf6e99f2a4ac504030d99155daba3e3c252f51c87d2470319d13 scintRespCoefficients.txt
""", _CSI_ARXIV, _CSI_LICENCE)
    rows.append((
        "coherent-csi-2021/csi2018_release/coherent_parameters.yaml",
        "daa4f3feaeb5499cb1d876f8ea39f3cfd571f998a6ab92e9cdf552afc78b67e8",
        _CSI2018_ZENODO.format(name="coherent_parameters.yaml"), _CSI2018_LICENCE,
    ))
    add("dresden-ii", """
5b8b37749f0d32a3e5daebc24ab9c636a920e61eac8f093c78f0af0d3cf535dc data_release.txt
a53ff7708b474b036e43b9173365bc2cb21e68d47c4a75176b2476000a704f93 QF_Fef_YBe.txt
a7dc2a83641d2b032a258fbdea270bd74d814ed4e2097447d8f415d93b6e599b spectraMeVU235.txt
bbb298372a8595d462630b5c8e5660425ddd0cf76e0ab133be07f39d4a4321bb spectraMeVU238.txt
be7446a5093b290bb6109cff6385c060935393fb7f354cce423ea404a721df24 spectraMeVPu239.txt
5cfee7ab247f0461984dff2c9425a923d9c9b2d0d9017f3363158fa50daef9c8 spectraMeVPu241.txt
0b4462154c7b20e675f5b6cbf5ef02c8ab52604504b4cabd117cfc658614c2ce spectraMeVU238Ncapture.txt
""", _D2_RAW, _D2_LICENCE)
    add("fluxes", """
ad111f8b565f4d70b75b1cca57fb1e6c283530906dd8dc348d0c92117a84cfdb U235-anti-neutrino-flux-250keV.dat
27b8130c4cc60af578f40f1fcd7f61207355260b8cb34b0b87f40488d9266bd7 Pu239-anti-neutrino-flux-250keV.dat
daaffb46bc2387fc7b4f2cd73eb72387acb28045f1dc2fbc9044b7c7dd281258 Pu241-anti-neutrino-flux-250keV.dat
""", _HUBER_RAW, _RICOCHET_LICENCE)
    add("fluxes", """
f0ffdb9b9fa9fe19527b5b7b84bd0f0b05a0faea21cdb6049be9c5be35e414ab kopeikin_spectrum.txt
""", _KOPEIKIN_TOTAL_RAW, _RICOCHET_LICENCE)
    ritter_mk = _RITTER_RAW.replace("{commit}", _RITTER_MK)
    add("fluxes", """
b756bea89a10293c006fed7cc7cbb6b7fc6823b4eb59e69c9f3be04bc8bc8c43 mueller_u235.txt
6c6a70e3e2a001d78a878fc5906f2960d1bba25c08bc4a292e7cc86bd4ce9343 mueller_u238.txt
14dc33a93f9e6c8904e3ab71943e6b4908ece030f687e6191457f81ccf3f28b8 mueller_pu239.txt
6d7802921153486ff91083851c499e0dfccc29ae8fb12ff8f6855625799ec078 mueller_pu241.txt
2ff51d851e49731bfd651c6a33513f52497b09f70245e7a65f0b68f9e95db3c7 kopeikin_u235.txt
44982fdfdd3e1999aef7d5055442390c8bb66ffbdd929553d30fa7d44a8b54a5 kopeikin_u238.txt
""", ritter_mk, _RITTER_LICENCE)
    add("fluxes", """
611d2ea144550b7c0bfa2f52405bbc58db3e18ebe34112b4f283c1ed218c2e2d bestiole_u235.txt
18242ec28bd6fc561253bf7f1fa43de3ee1e4ac25008e7caca331a5df4a9dccf bestiole_u238.txt
48fd04a5132650b5ac2ede973e9a1c5cddb8667b764fb6d1b6baced524fd5eb8 bestiole_pu239.txt
9a8f00a5e70cac639c12d3ee5c8fef1308c73ee0225b03e872e2efe0116b5f16 bestiole_pu241.txt
""", _RITTER_RAW.replace("{commit}", _RITTER_B), _RITTER_LICENCE)
    add("fluxes", """
75ce26216a638b811d131b692e2d22b8624fcbb711839fd167c25cefaafb9789 b8spectrum.txt
""", _B8_RAW, _B8_LICENCE)
    return {key: DataFile(key, sha, url, lic) for key, sha, url, lic in rows}


REGISTRY: dict[str, DataFile] = _entries()


@dataclass(frozen=True)
class Manifest:
    """A release registered through its sha256sum manifest instead of one entry per file.

    The manifest is itself a data file (``<folder>/<manifest>``, pinned by ``sha256`` and found
    like every other file: ``NUBOUND_DATA_DIR``); every path it lists becomes a registered key
    ``<folder>/<path>`` with the official URL ``url.format(path=...)``.
    """

    folder: str
    manifest: str  # file name inside the release folder
    sha256: str
    url: str
    licence: str
    renamed: tuple[tuple[str, str], ...] = ()  # (path here, path at the source)

    @property
    def key(self) -> str:
        """The manifest's own registry key."""
        return f"{self.folder}/{self.manifest}"

    def entry(self) -> DataFile:
        """The manifest's own registry entry. The release publishes no checksum file: it is
        ``sha256sum`` over the files of the release at the pinned commit."""
        return DataFile(self.key, self.sha256,
                        self.url.format(path="") + f" (run `sha256sum` over its files to "
                        f"make {self.manifest})", self.licence)

    def entries(self) -> dict[str, DataFile]:
        """Key → DataFile for every file of the manifest (read and verified once)."""
        return _manifest_entries(self)


_XENONNT_B8_RAW = (
    "https://raw.githubusercontent.com/XENONnT/cevns_data_release/"
    "60d230dd7a5646fd4aa2368c5fdfba575ee0cb88/{path}"
)
MANIFESTS: dict[str, Manifest] = {
    "xenonnt-b8": Manifest(
        "xenonnt-b8", "SHA256SUMS",
        "d531df5eabe8988d71891ac6011f1a6589ca53b143c1e0c0d9d0666b4ee6c58a", _XENONNT_B8_RAW,
        "XENON collaboration, XENONnT solar 8B CEvNS data release, "
        "doi:10.5281/zenodo.20576156 (CC-BY-4.0)",
        renamed=(("RELEASE-README.md", "README.md"),),
    ),
}
REGISTRY.update({m.key: m.entry() for m in MANIFESTS.values()})


@cache
def _manifest_entries(manifest: Manifest) -> dict[str, DataFile]:
    path = data_path(manifest.key)  # missing or corrupted: a DataFileError naming it
    renamed = dict(manifest.renamed)
    out = {}
    for line in path.read_text().splitlines():
        sha, name = line.split(maxsplit=1)
        key = f"{manifest.folder}/{name}"
        out[key] = DataFile(key, sha, manifest.url.format(path=renamed.get(name, name)),
                            manifest.licence)
    return out


def lookup(key: str) -> DataFile:
    """The registry entry of ``key`` (a single entry or a file of a registered manifest)."""
    if key in REGISTRY:
        return REGISTRY[key]
    folder = key.split("/", 1)[0]
    if folder in MANIFESTS and key in MANIFESTS[folder].entries():
        return MANIFESTS[folder].entries()[key]
    raise DataFileError(
        f"'{key}' is not in nubound's data registry; registered files: "
        + ", ".join(sorted(REGISTRY))
        + "".join(f", and the files listed in {m.key}" for m in MANIFESTS.values())
    )


def sha256_of(path: str | os.PathLike) -> str:
    """Return the hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _how_to_get(entry: DataFile) -> str:
    return (
        f"Download it from {entry.url} (licence: {entry.licence}), or point {DATA_DIR_ENV} at a "
        f"folder holding '{entry.key}', e.g. the project's shared data folder."
    )


def data_path(key: str) -> Path:
    """Return the local path of a registered, hash-verified data file.

    Parameters
    ----------
    key : str
        ``"<folder>/<file>"``, e.g. ``"dresden-ii/data_release.txt"``.

    Raises
    ------
    DataFileError
        The key is not registered, the file is missing, or its sha256 is wrong.
    """
    entry = lookup(key)
    folder = os.environ.get(DATA_DIR_ENV)
    if folder:
        path = Path(folder) / entry.key
        if not path.is_file():
            raise DataFileError(
                f"data file '{entry.key}' is missing: {path} does not exist "
                f"({DATA_DIR_ENV}={folder}). {_how_to_get(entry)}"
            )
    else:
        path = _fetch_with_pooch(entry)
    found = sha256_of(path)
    if found != entry.sha256:
        raise DataFileError(
            f"data file '{entry.key}' at {path} is corrupted: sha256 {found}, expected "
            f"{entry.sha256}. Replace it with a fresh copy. {_how_to_get(entry)}"
        )
    return path


def _fetch_with_pooch(entry: DataFile) -> Path:
    import pooch

    cache = pooch.os_cache("nubound")
    try:
        local = pooch.retrieve(
            entry.url,
            known_hash=f"sha256:{entry.sha256}",
            fname=entry.key.replace("/", "__"),
            path=cache,
            progressbar=False,
        )
    except Exception as exc:  # network errors, hash mismatch of a download
        raise DataFileError(
            f"could not fetch data file '{entry.key}' (expected sha256 {entry.sha256}): {exc}. "
            f"{_how_to_get(entry)}"
        ) from exc
    return Path(local)


@dataclass(frozen=True)
class FileStatus:
    """Result of checking one registered file."""

    key: str
    ok: bool
    message: str


def all_keys() -> list[str]:
    """Every registered key: single entries and the files of every manifest, sorted."""
    keys = set(REGISTRY)
    for manifest in MANIFESTS.values():
        try:
            keys.update(manifest.entries())
        except DataFileError:  # the manifest itself is missing: verify_all reports it
            pass
    return sorted(keys)


def verify_all() -> list[FileStatus]:
    """Check every registered file; never raises for a bad file, reports it instead."""
    out = []
    for key in all_keys():
        try:
            path = data_path(key)
        except DataFileError as exc:
            out.append(FileStatus(key, False, str(exc)))
        else:
            out.append(FileStatus(key, True, str(path)))
    return out
