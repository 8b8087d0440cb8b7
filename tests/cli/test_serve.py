"""``datalux serve``: gunicorn + worker + scheduler on the configured database engine.

The live test runs on whichever engine the suite runs on: on PostgreSQL (CI's second run,
``.ci/with-postgres.sh``) in production mode against a database of its own on the same
server; on SQLite in development mode (production refuses SQLite). Either way a real gunicorn
answers a page, a static file and an API operation, and SIGTERM stops every process.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from datalux.core import serving

DATALUX = [sys.executable, "-m", "datalux"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALUX_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "DATALUX_VAR": str(tmp_path / "var"),
        "DATALUX_STORAGE": str(tmp_path / "storage"),
        "DATALUX_LOG_LEVEL": "WARNING",
    }
    return env | extra


def _run(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [*DATALUX, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "bind", ["127.0.0.1:8000", "[::1]:8443", "data-web.internal:80", "unix:/run/datalux/web.sock"]
)
def test_good_bind_addresses(bind: str) -> None:
    assert serving.check_bind(bind) == bind


@pytest.mark.parametrize("bind", ["8000", "127.0.0.1", "127.0.0.1:99999", "http://x:80", "a b:1"])
def test_bad_bind_address_says_what_to_use(bind: str) -> None:
    with pytest.raises(serving.ServeError, match=r"fix: use HOST:PORT"):
        serving.check_bind(bind)


def test_gunicorn_command_line() -> None:
    argv = serving.gunicorn_args(
        bind="127.0.0.1:9", workers=3, threads=2, forwarded_allow_ips="10.0.0.1"
    )
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "datalux.wsgi:application"]
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--workers"] == "3" and pairs["--threads"] == "2"
    assert pairs["--worker-class"] == "gthread" and pairs["--forwarded-allow-ips"] == "10.0.0.1"
    assert "--no-control-socket" in argv  # nothing written under the home folder
    names = [
        c.name
        for c in serving.children(
            bind="127.0.0.1:9",
            workers=1,
            threads=1,
            forwarded_allow_ips="",
            worker=False,
            scheduler=True,
        )
    ]
    assert names == ["web server", "scheduler"]


def test_refuses_to_start_before_migrations(tmp_path: Path) -> None:
    done = _run(_env(tmp_path), "serve", "--bind", f"127.0.0.1:{_free_port()}", timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: the database needs ")
    assert "fix: run `datalux migrate`" in done.stderr
    assert "Listening" not in done.stdout + done.stderr


def test_unreachable_postgresql_is_one_line_with_the_fix(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    env = _env(tmp_path, DATABASE_URL=f"postgresql://datalux@127.0.0.1:{port}/datalux")
    done = _run(env, "serve", timeout=60)
    assert done.returncode == 1
    assert f"cannot connect to the PostgreSQL database 'datalux' at 127.0.0.1:{port}" in done.stderr
    assert "fix: start the database server, or correct DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_bind_is_refused_by_the_command() -> None:
    from datalux.cli.serve import serve

    result = CliRunner().invoke(serve, ["--bind", "nowhere"])
    assert result.exit_code == 1
    assert "is not an address; fix: use HOST:PORT" in result.output


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated installation of its own on the suite's engine, and its environment."""
    url = os.environ.get("DATABASE_URL", "")
    port = _free_port()
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"datalux_serve_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env = _env(
            tmp_path,
            DATABASE_URL=url.rsplit("/", 1)[0] + "/" + name,
            DATALUX_MODE="production",
            DATALUX_SECRET_KEY="serve-test-" + "k" * 40,
            DATALUX_ALLOWED_HOSTS="127.0.0.1",
            DATALUX_BASE_URI=f"http://127.0.0.1:{port}",
            DATALUX_BEHIND_PROXY="1",
        )
        made = _run(env, "audit", "keygen")  # production refuses to start without the key
        assert made.returncode == 0, made.stderr
    else:
        name = ""
        env = _env(tmp_path)
    env["SERVE_TEST_PORT"] = str(port)
    migrated = _run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    try:
        yield env
    finally:
        if name:
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, dict(response.headers), response.read()


def _wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"datalux serve exited with {proc.returncode}:\n{out}\n{err}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing answered at {url} within {seconds} s")


@pytest.mark.slow
def test_serves_pages_static_files_and_the_api(installation: dict[str, str]) -> None:
    port = installation["SERVE_TEST_PORT"]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(  # noqa: S603
        [*DATALUX, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=installation,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(f"{base}/catalogue/", proc)
        status, headers, body = _get(f"{base}/catalogue/")
        assert status == 200 and b"<html" in body
        assert "gunicorn" in headers.get("Server", "")
        production = installation.get("DATALUX_MODE") == "production"
        if production:
            # Behind the TLS proxy (X-Forwarded-Proto trusted): HSTS on every page.
            _, proxied, _ = _get(f"{base}/catalogue/", **{"X-Forwarded-Proto": "https"})
            assert proxied["Strict-Transport-Security"].startswith("max-age=31536000")
            assert "Strict-Transport-Security" not in headers  # plain http: never
        # The page's stylesheet is served by WhiteNoise (hashed name in production).
        marker = b'rel="stylesheet" href="'
        css = body.split(marker, 1)[1].split(b'"', 1)[0].decode()
        status, headers, _ = _get(base + css)
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        if production:
            assert "immutable" in headers.get("Cache-Control", "")
        status, headers, body = _get(f"{base}/api/v1/catalogue/datasets")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert b'"items"' in body
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping web server" in out and out.rstrip().endswith("stopped")
    with pytest.raises(OSError):
        _get(f"{base}/catalogue/")
