"""The publisher classes' own sample papers, with ground truth read off their pages by hand.

    .venv/bin/python scripts/corpus/class_samples.py --out out/class-samples
    .venv/bin/paperflow eval out/class-samples

Debian's `texlive-publishers-doc` ships the sample papers of the LaTeX classes journals and
conferences hand to their authors (revtex's APS/AIP/AAPM samples, acmart's, elsarticle's,
Elsevier CAS, AASTeX, SPIE, JMLR/PMLR, ASME, AIAA, JACoW, JPSJ, APA, ...). They were typeset by
the classes' maintainers, not by our generator, so they are held-out material for the front
matter rules. The PDFs stay in the package (installed here when missing: about 210 MB); only
the ground truth (`class_samples.json`: title, authors, affiliations, abstract, keywords, as
printed) is kept with the project. Papers whose installed PDF differs from the one the ground
truth was read from (another Debian release) are skipped with a warning.

`--truth scripts/corpus/r_vignettes.json` lays out a second set the same way: the vignettes of
R packages (Debian's r-cran-*), papers set with the JSS class or LaTeX's plain article class,
with no abstract, a table of contents, or the addresses after the references. Their packages
are not installed: each `.deb` is downloaded (`apt-get download`) and unpacked in the output
folder's `.debs/`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUND_TRUTH = HERE / "class_samples.json"
PACKAGE = "texlive-publishers-doc"


def ensure_package(paths: list[Path]) -> None:
    """Install the Debian package of the sample PDFs when none of them is on this machine."""
    if any(path.exists() for path in paths):
        return
    if not shutil.which("apt-get"):
        sys.exit(f"the sample PDFs come from Debian's {PACKAGE}; no apt-get on this machine")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"Installing {PACKAGE} (the classes' sample papers, about 210 MB)...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def unpack_packages(packages: set[str], into: Path) -> Path:
    """Download the named Debian packages (no install, no root) and unpack them under `into`;
    the root their files' paths start from."""
    root = into / "root"
    into.mkdir(parents=True, exist_ok=True)
    missing = sorted(p for p in packages if not any(into.glob(f"{p}_*.deb")))
    if missing:
        if not shutil.which("apt-get"):
            sys.exit(f"the PDFs come from Debian's {', '.join(missing)}; no apt-get here")
        print(f"Downloading {len(missing)} Debian packages...", file=sys.stderr)
        download = ["apt-get", "download", "-qq", *missing]
        if subprocess.run(download, cwd=into, check=False).returncode != 0:
            # A fresh machine's package lists may be empty: update them once, then retry.
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True)
            if subprocess.run(download, cwd=into, check=False).returncode != 0:
                sys.exit(f"`apt-get download {' '.join(missing)}` failed even after "
                         "`apt-get update`: are Debian's package mirrors reachable?")
    for deb in sorted(into.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def build(out: Path, truth: Path | None = None) -> int:
    """Copy each paper's PDF and write its `<id>.gt.json` next to it; the number written."""
    records = json.loads((truth or GROUND_TRUTH).read_text(encoding="utf-8"))
    packages = {record["package"] for record in records if "package" in record}
    if packages:
        root = unpack_packages(packages, out / ".debs")
    else:
        ensure_package([Path(record["path"]) for record in records])
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for record in records:
        source = Path(record["path"])
        if "package" in record:
            source = root / record["path"].lstrip("/")
        if not source.exists():
            print(f"skipped {record['id']}: {source} is not installed", file=sys.stderr)
            continue
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            print(f"skipped {record['id']}: {source} differs from the PDF the ground truth "
                  "was read from", file=sys.stderr)
            continue
        (out / f"{record['id']}.pdf").write_bytes(data)
        gt = {"id": record["id"], "file": f"{record['id']}.pdf",
              "origin": record.get("package", str(source)), "gt": record["gt"]}
        if "template" in record:
            gt["template"] = record["template"]
        (out / f"{record['id']}.gt.json").write_text(
            json.dumps(gt, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/class-samples"))
    parser.add_argument("--truth", type=Path, default=GROUND_TRUTH,
                        help="the ground truth file (class_samples.json, r_vignettes.json)")
    args = parser.parse_args(argv)
    written = build(args.out, args.truth)
    print(f"{written} papers with ground truth in {args.out}")
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
