"""The command-line contract: init, ingest --json, --quarantine, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phiwarden.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PHIWARDEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("PHIWARDEN_KEY_FILE", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_commands_before_init_say_to_run_init(env: Path) -> None:
    code, out, err = run("ingest", "--quarantine")
    assert code == 1 and out == ""
    assert "phiwarden init" in err and len(err.strip().splitlines()) == 1


def test_init_then_ingest_json_then_quarantine(env: Path) -> None:
    code, out, _ = run("init")
    assert code == 0 and "key file" in out
    assert (env / "data" / "keys" / "phiwarden.key").exists()
    folder = env / "canonical"
    folder.mkdir()
    (folder / "facilities.csv").write_text(
        "facility_id,name,city,state\nF1,General,St. Louis,MO\nF2,,Dallas,TX\n"
    )
    code, out, _ = run("ingest", str(folder), "--json")
    assert code == 0
    assert json.loads(out) == {
        "loaded": {"facilities": 1},
        "quarantined": 1,
        "duplicates_skipped": 0,
        "directory_gaps": [],
        "unmapped_codes": [],
        "inferred": {},
    }
    code, out, _ = run("ingest", str(folder), "--json")
    assert json.loads(out) == {
        "loaded": {"facilities": 0},
        "quarantined": 1,
        "duplicates_skipped": 1,
        "directory_gaps": [],
        "unmapped_codes": [],
        "inferred": {},
    }
    code, out, _ = run("ingest", "--quarantine", "--json")
    rows = json.loads(out)
    assert [(Path(r["source"]).name, r["location"], r["reason"]) for r in rows] == [
        ("facilities.csv", "line 3", "missing required field name")
    ]
    code, out, _ = run("status", "--json")
    assert json.loads(out)["records"]["facilities"] == 1


def test_bad_input_is_one_line_and_non_zero(env: Path) -> None:
    run("init")
    code, out, err = run("ingest", str(env / "missing.csv"), "--json")
    assert code == 1 and out == "" and "no such file" in err
    code, _, err = run("ingest", str(env), "--format", "xml")
    assert code == 1 and "unknown format" in err
    code, _, err = run("synth", "--out", str(env / "o"), "--size", "huge")
    assert code == 1 and "huge" in err


def test_help_names_the_environment_variables() -> None:
    # Rich reads "[env X]" as markup and prints nothing of it
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "PHIWARDEN_DATA_DIR" in result.stdout and "PHIWARDEN_DATABASE_URL" in result.stdout
    serve = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "--workers" in serve.stdout and "--threads" in serve.stdout


def test_monitor_on_an_empty_store_says_so_and_fails(env: Path) -> None:
    assert run("init")[0] == 0
    for args in (("monitor",), ("monitor", "--json"), ("monitor", "--since", "2026-01-01")):
        code, out, err = run(*args)
        assert code == 1 and out == "", args
        assert "no accesses to review" in err and "phiwarden ingest" in err
        assert "100" not in err and len(err.strip().splitlines()) == 1
