"""Submitted code: safe unpacking and a format-independent fingerprint (issue 12, item 2)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from datalux.spe import code
from datalux.spe.code import CodeError, fingerprint, scan, unpack

FILES = {"project.yaml": b"version: 1\n", "analysis/model.py": b"print(1)\n"}


def _zip(files: dict[str, bytes], prefix: str = "") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(prefix + name, data)
    buffer.seek(0)
    return buffer


def _tar(files: dict[str, bytes], mode: str = "w:gz") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_zip_and_tar_give_the_same_files_and_fingerprint(tmp_path: Path) -> None:
    from_zip = unpack(_zip(FILES, prefix="study/"), tmp_path / "a")
    from_tar = unpack(_tar(FILES), tmp_path / "b")
    assert sorted(f.path for f in from_zip) == ["analysis/model.py", "project.yaml"]
    assert (tmp_path / "a" / "analysis" / "model.py").read_bytes() == b"print(1)\n"
    assert fingerprint(from_zip) == fingerprint(from_tar) == fingerprint(scan(tmp_path / "b"))
    changed = unpack(_zip({**FILES, "analysis/model.py": b"print(2)\n"}), tmp_path / "c")
    assert fingerprint(changed) != fingerprint(from_zip)


def test_a_top_folder_named_like_a_subfolder_is_kept(tmp_path: Path) -> None:
    files = unpack(_zip({**FILES, "study/x.py": b""}, prefix="study/"), tmp_path / "p")
    assert sorted(f.path for f in files) == ["analysis/model.py", "project.yaml", "study/x.py"]
    assert (tmp_path / "p" / "study" / "x.py").is_file()


@pytest.mark.parametrize(
    ("name", "message"),
    [("../evil.py", "outside the project"), ("/etc/cron.d/x", "outside the project")],
)
def test_paths_outside_are_refused_and_nothing_stays(
    tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(CodeError, match=message):
        unpack(_zip({**FILES, name: b"x"}), tmp_path / "p")
    assert not (tmp_path / "p").exists()
    assert not (tmp_path / "evil.py").exists()


def test_links_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        link = tarfile.TarInfo("data")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        t.addfile(link)
    buffer.seek(0)
    with pytest.raises(CodeError, match="a link or a special file"):
        unpack(buffer, tmp_path / "p")


def test_a_zip_bomb_is_cut_off_while_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(code, "MAX_TOTAL_BYTES", 3 * 1024 * 1024)
    bomb = {f"part{i}.bin": bytes(2 * 1024 * 1024) for i in range(3)}  # compresses to ~kB
    with pytest.raises(CodeError, match="over 3 MiB unpacked"):
        unpack(_zip(bomb), tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_too_many_files_and_not_an_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code, "MAX_FILES", 3)
    with pytest.raises(CodeError, match="more than 3 files"):
        unpack(_zip({f"f{i}.py": b"" for i in range(5)}), tmp_path / "p")
    with pytest.raises(CodeError, match="not a zip or tar archive"):
        unpack(io.BytesIO(b"just text, not an archive"), tmp_path / "q")


def test_version_control_and_caches_are_left_out(tmp_path: Path) -> None:
    files = unpack(
        _zip({**FILES, ".git/config": b"x", "analysis/__pycache__/m.pyc": b"x"}), tmp_path / "p"
    )
    assert sorted(f.path for f in files) == ["analysis/model.py", "project.yaml"]


def test_a_file_twice_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        for data in (b"one", b"two"):
            info = tarfile.TarInfo("project.yaml")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    with pytest.raises(CodeError, match="appears twice"):
        unpack(buffer, tmp_path / "p")
