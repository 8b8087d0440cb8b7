"""The operator's runtime list, and a running job stopped by its cancel request (issue 12)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from datalux.spe.runtimes import RuntimeListError, allowed, local_runtimes, read_list
from datalux.spe.sandbox import Limits, Runtime, SandboxSpec, Status, run


def test_the_operator_lists_runtimes(tmp_path: Path, settings: object) -> None:
    listed = tmp_path / "runtimes.json"
    listed.write_text(json.dumps([
        {"name": "python", "command": ["/opt/rt/bin/python"], "paths": ["/opt/rt"],
         "description": "pinned"},
        {"name": "r", "command": ["/usr/bin/Rscript"]},
    ]))  # fmt: skip
    runtimes = read_list(listed)
    assert sorted(runtimes) == ["python", "r"]
    assert runtimes["python"].paths == (Path("/opt/rt"),)
    settings.DATALUX_SPE_RUNTIMES_FILE = listed  # type: ignore[attr-defined]
    assert sorted(allowed()) == ["python", "r"]
    settings.DATALUX_SPE_RUNTIMES_FILE = None  # type: ignore[attr-defined]
    assert allowed() == local_runtimes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable JSON list"),
        ("[]", "non-empty JSON list"),
        ('[{"command": ["/x"]}]', "needs a 'name'"),
        ('[{"name": "p", "command": ["python"]}]', "absolute path"),
        ('[{"name": "p", "command": ["/x"], "paths": ["rel"]}]', "absolute folders"),
        ('[{"name": "p", "command": ["/x"]}, {"name": "p", "command": ["/y"]}]', "twice"),
    ],
)
def test_a_wrong_list_says_what_to_fix(tmp_path: Path, content: str, message: str) -> None:
    listed = tmp_path / "runtimes.json"
    listed.write_text(content)
    with pytest.raises(RuntimeListError, match=message):
        read_list(listed)


def test_a_running_job_stops_when_cancelled(tmp_path: Path) -> None:
    runtime = Runtime.current_python()
    (tmp_path / "out").mkdir()
    asked = time.monotonic() + 1.0
    result = run(
        SandboxSpec(
            argv=(*runtime.command, "-c", "import time; time.sleep(30)"),
            runtime=runtime,
            binds=((tmp_path / "out", "/output", False),),
            output_dir=tmp_path / "out",
            log_path=tmp_path / "log.txt",
            limits=Limits(wall_seconds=30),
            cancelled=lambda: time.monotonic() > asked,
        )
    )
    assert result.status is Status.CANCELLED and result.wall_seconds < 5


def test_the_default_runtime_has_the_analysis_libraries(tmp_path: Path) -> None:
    """Issue 12, item 4: pandas, DuckDB, statsmodels, scikit-learn and matplotlib, pinned by
    the project's lock file, importable inside the sandbox (matplotlib writes a figure)."""
    runtime = local_runtimes()["python"]
    (tmp_path / "out").mkdir()
    code = (
        "import duckdb, pandas, statsmodels.api, sklearn.linear_model, matplotlib\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2], [3, 4]); plt.savefig('/output/figure.png')\n"
        "print('versions', duckdb.__version__, pandas.__version__, matplotlib.__version__)\n"
    )
    result = run(
        SandboxSpec(
            argv=(*runtime.command, "-c", code),
            runtime=runtime,
            binds=((tmp_path / "out", "/output", False),),
            output_dir=tmp_path / "out",
            log_path=tmp_path / "log.txt",
            env={"MPLBACKEND": "Agg"},
            limits=Limits(wall_seconds=120, cpu_seconds=120),
        )
    )
    log = (tmp_path / "log.txt").read_text()
    assert result.status is Status.SUCCEEDED, log
    assert "versions" in log and (tmp_path / "out" / "figure.png").stat().st_size > 1000
    assert "Fontconfig error" not in log  # the fonts' configuration is visible, read-only


def test_the_start_up_check_says_when_bubblewrap_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datalux.spe import checks, sandbox

    assert checks.sandbox_runs_here() == []  # it runs here (make test installs it)
    monkeypatch.setattr(sandbox, "BWRAP", "bwrap-not-installed")
    sandbox.probe.cache_clear()
    try:
        [warning] = checks.sandbox_runs_here()
    finally:
        monkeypatch.undo()
        sandbox.probe.cache_clear()
    assert warning.id == "spe.W001" and "install the Debian package bubblewrap" in warning.msg
