"""The `paperflow` command as a user runs it: a real subprocess against the session's server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from paperflow.models import json_schema_text
from tests.conftest import ROOT, SAMPLE_PDF
from tests.pdfs import HTML_PAGE, make_paper


def _run(args: list[str], api_url: str | None, data_dir: Path,
         prefect_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI on the session's server, or (no `api_url`) on its own embedded one."""
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(data_dir)}
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if prefect_home:
        env["PREFECT_HOME"] = str(prefect_home)
    return subprocess.run([sys.executable, "-m", "paperflow.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_process_several_sources_with_one_bad(prefect_server: str, tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(make_paper(title="A Command Line Paper", nonce="cli"))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(HTML_PAGE)
    out = tmp_path / "out"
    done = _run(["process", str(good), str(bad), "--out-dir", str(out)], prefect_server,
                tmp_path / "data")
    assert done.returncode == EXIT_FAILED, done.stderr
    assert "Title:      A Command Line Paper" in done.stdout
    assert "[2/2]" in done.stderr and "HTML page" in done.stderr
    assert "1 of 2 sources failed" in done.stderr
    written = json.loads((out / "good.json").read_text())
    assert written["title"] == "A Command Line Paper"
    assert not (out / "bad.json").exists()
    assert not list(out.glob("*.part"))


def test_process_json_to_stdout_on_a_fresh_embedded_server(tmp_path: Path) -> None:
    """As `make run` on a fresh clone: no server, a Prefect home whose parents do not exist."""
    home = tmp_path / "not" / "yet" / "prefect"
    done = _run(["process", str(SAMPLE_PDF), "--json", "--no-figures"], None,
                tmp_path / "data", prefect_home=home)
    assert done.returncode == EXIT_OK, done.stderr
    assert (home / "prefect.db").is_file()
    result = json.loads(done.stdout)
    assert result["page_count"] == 16 and result["figures"] == []


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        main(["process"])
    assert missing.value.code == EXIT_USAGE
    assert main(["process", "a.pdf", "b.pdf", "--out", "x.json"]) == EXIT_USAGE
    assert "--out-dir" in capsys.readouterr().err


def test_committed_schema_matches_the_model() -> None:
    committed = (ROOT / "paperflow" / "schema" / "paper-metadata.schema.json").read_text()
    assert committed == json_schema_text() + "\n", "run `make schema` after changing models.py"


def test_eval_command_scores_a_paper(eval_dir: Path, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    scores = tmp_path / "scores.json"
    assert main(["eval", str(eval_dir), "--only", "V23", "--json", str(scores)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "| title |" in out and "V23_peerjcs2017_vespa" in out
    data = json.loads(scores.read_text())
    assert [p["id"] for p in data["papers"]] == ["V23_peerjcs2017_vespa"]
