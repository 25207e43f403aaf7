"""What CI relies on: the browser tests fail without chromium unless SKIP_BROWSER=1 asks to
skip them, and the skipped tests are listed at the end of the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makeini(
        "[pytest]\nmarkers =\n  e2e: browser\n  postgres: db\n  spark: spark\n  slow: slow\n"
    )
    pytester.makepyfile(
        test_page="import pytest\npytestmark = [pytest.mark.e2e]\ndef test_page(): pass\n"
    )


def test_browser_tests_fail_without_chromium(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    monkeypatch.setenv("PHIWARDEN_CHROMIUM", str(pytester.path / "no-chromium"))
    monkeypatch.delenv("SKIP_BROWSER", raising=False)
    failed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    failed.assert_outcomes(errors=1)  # a setup failure: the run exits non-zero
    assert failed.ret != 0
    failed.stdout.fnmatch_lines(["*needs Debian's chromium*SKIP_BROWSER=1*"])
    monkeypatch.setenv("SKIP_BROWSER", "1")
    skipped = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml=j.xml")
    skipped.assert_outcomes(skipped=1)
    listed = subprocess.run(
        [sys.executable, str(HERE.parent / ".ci" / "skipped.py"), str(pytester.path / "j.xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "skipped tests: 1" in listed.stdout and "SKIP_BROWSER=1" in listed.stdout
