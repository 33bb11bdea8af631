"""The Makefile's installs: `make run` gets the runtime dependencies, `make test` the dev extra.

`make -n` against a scratch venv folder (its stamps made by hand) shows what each target would
install, without installing anything.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def _dry_run(target: str, venv: Path) -> list[str]:
    # --no-print-directory: run from inside `make test`, a nested make would add
    # "Entering/Leaving directory" lines around the commands.
    done = subprocess.run(["make", "-n", "--no-print-directory", target, f"VENV={venv}"],
                          cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "pip install" in line or " -m venv " in line]


def test_run_installs_the_runtime_dependencies_only(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # nothing installed yet: a fresh clone
    run = _dry_run("run", venv)
    installs = _installs(run)
    assert any(line.endswith(" -e .") for line in installs), run
    assert not any("[dev]" in line for line in run), run
    assert run[-1].endswith("paperflow process samples/webb2017-vespa-peerjcs.pdf --out-dir out")

    test = _installs(_dry_run("test", venv))
    assert test[-1].endswith(" -e '.[dev]'"), test


def test_stamps_make_second_installs_free_or_dev_only(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed-runtime").touch()  # after `make run`
    assert _installs(_dry_run("run", venv)) == []
    dev = _installs(_dry_run("test", venv))
    # llama.cpp compiled for a portable CPU baseline, never a cached (maybe native) wheel, at
    # the version the dev extra pins; then the dev extra itself.
    assert len(dev) == 2, dev
    assert "-DGGML_NATIVE=OFF" in dev[0] and "--no-cache-dir" in dev[0], dev
    pin = re.search(r'"(llama-cpp-python\[server\]==[^"]+)"', (ROOT / "pyproject.toml")
                    .read_text())
    assert pin and dev[0].endswith(f"'{pin.group(1)}'"), dev
    assert dev[1].startswith(f"{venv}/bin/python -m pip install "), dev
    assert dev[1].endswith(" -e '.[dev]'"), dev
    (venv / ".installed-dev").touch()  # after `make test`
    assert _installs(_dry_run("run", venv)) == []
    assert _installs(_dry_run("test", venv)) == []
    assert _installs(_dry_run("lint", venv)) == []


def test_ci_runs_exactly_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert [line for line in script if line.startswith("make")] == ["make test"]


def test_every_install_is_byte_compiled(tmp_path: Path) -> None:
    """Each install is followed by compileall over the venv, so no process compiles Prefect
    from source when PYTHONDONTWRITEBYTECODE is set (8.3 s instead of 3.8 s per process)."""
    lines = _dry_run("test", tmp_path / "venv")
    installs = [i for i, line in enumerate(lines) if "pip install" in line and " -e " in line]
    assert len(installs) == 2, lines  # the runtime install, then the dev extra
    for index in installs:
        assert "-m compileall" in lines[index + 1] and f"{tmp_path / 'venv'}/lib" in lines[
            index + 1], lines[index:index + 2]


def test_the_running_venv_has_byte_code() -> None:
    import importlib.util

    import prefect.engine

    assert Path(importlib.util.cache_from_source(prefect.engine.__file__)).is_file()
