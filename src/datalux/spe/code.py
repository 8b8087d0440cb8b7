"""A project's code as submitted: a zip or tar archive unpacked safely, and its fingerprint.

No Django import (``datalux spe run-local`` fingerprints a folder the same way).

Unpacking refuses what could escape or exhaust the workspace: absolute paths, ``..``, links,
devices, more than ``MAX_FILES`` files, a file over ``MAX_FILE_BYTES`` or a total over
``MAX_TOTAL_BYTES`` (counted while writing, so a zip that lies about its sizes is cut off).
When every file sits in one top folder (``git archive --prefix``, a zipped folder) that folder
is the project root. The fingerprint is the SHA-256 over each file's path and SHA-256, in path
order: the same files give the same fingerprint whatever the archive format.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

MAX_FILES = 2_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024
_IGNORED = {".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store"}


class CodeError(ValueError):
    """The archive cannot be used as a project (names what to fix)."""


@dataclass(frozen=True)
class CodeFile:
    path: str
    size: int
    sha256: str

    def as_data(self) -> dict[str, object]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def fingerprint(files: list[CodeFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.sha256}\n".encode())
    return digest.hexdigest()


def unpack(archive: BinaryIO, dest: Path) -> list[CodeFile]:
    """Unpack ``archive`` (zip, tar, tar.gz, tar.bz2, tar.xz) into ``dest`` (created; must not
    exist). On any refusal ``dest`` is removed and :class:`CodeError` says why."""
    if dest.exists():
        raise CodeError(f"{dest} exists already")
    head = archive.read(4)
    archive.seek(0)
    try:
        dest.mkdir(parents=True, mode=0o700)
        if head.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(archive) as zipped:
                files = _write_all(_zip_members(zipped), dest)
        else:
            try:
                tarred = tarfile.open(fileobj=archive, mode="r:*")
            except tarfile.TarError:
                raise CodeError(
                    "not a zip or tar archive: upload a .zip, .tar or .tar.gz"
                ) from None
            with tarred:
                files = _write_all(_tar_members(tarred), dest)
        return _strip_single_top_folder(dest, files)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def scan(folder: Path) -> list[CodeFile]:
    """The files of a project folder on disk (for run-local), ignoring VCS and cache folders."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _IGNORED)
        for name in sorted(names):
            if name in _IGNORED:
                continue
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            files.append(CodeFile(path.relative_to(folder).as_posix(), path.stat().st_size,
                                  sha256_file(path)))  # fmt: skip
    return files


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _zip_members(zipped: zipfile.ZipFile) -> Iterator[tuple[str, bool, IO[bytes] | None]]:
    for info in zipped.infolist():
        mode = (info.external_attr >> 16) & 0o170000
        if mode and mode not in (0o100000, 0o040000):  # a link or a device
            raise CodeError(f"{info.filename!r} is a link or a special file: only plain files")
        if info.is_dir():
            yield info.filename, True, None
        else:
            with zipped.open(info) as handle:
                yield info.filename, False, handle


def _tar_members(tarred: tarfile.TarFile) -> Iterator[tuple[str, bool, IO[bytes] | None]]:
    for member in tarred:
        if member.isdir():
            yield member.name, True, None
        elif member.isfile():
            handle = tarred.extractfile(member)
            yield member.name, False, handle if handle is not None else io.BytesIO()
        elif member.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
            continue
        else:
            raise CodeError(f"{member.name!r} is a link or a special file: only plain files")


def _write_all(members: Iterator[tuple[str, bool, IO[bytes] | None]], dest: Path) -> list[CodeFile]:
    files: list[CodeFile] = []
    total = 0
    for raw_name, is_dir, handle in members:
        relative = _safe_name(raw_name)
        if relative is None:
            continue  # an ignored folder (.git, __pycache__)
        target = dest / relative
        if is_dir:
            target.mkdir(parents=True, exist_ok=True, mode=0o700)
            continue
        if len(files) >= MAX_FILES:
            raise CodeError(f"more than {MAX_FILES} files: leave data and outputs out")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        digest = hashlib.sha256()
        size = 0
        assert handle is not None
        try:
            out = target.open("xb")
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            raise CodeError(f"{relative} appears twice in the archive") from None
        with out:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                total += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise CodeError(
                        f"{relative} is over {MAX_FILE_BYTES // 2**20} MiB: the code area is "
                        "for code; data comes from the extract"
                    )
                if total > MAX_TOTAL_BYTES:
                    raise CodeError(f"the project is over {MAX_TOTAL_BYTES // 2**20} MiB unpacked")
                digest.update(chunk)
                out.write(chunk)
        files.append(CodeFile(relative, size, digest.hexdigest()))
    if not files:
        raise CodeError("the archive holds no file")
    return files


def _safe_name(raw: str) -> str | None:
    name = raw.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise CodeError(f"{raw!r} points outside the project: use relative paths only")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        return None
    if any(p in _IGNORED for p in parts):
        return None
    return "/".join(parts)


def _strip_single_top_folder(dest: Path, files: list[CodeFile]) -> list[CodeFile]:
    tops = {f.path.split("/", 1)[0] for f in files}
    if len(tops) != 1 or all("/" not in f.path for f in files):
        return files
    (top,) = tops
    if not (dest / top / "project.yaml").is_file():
        return files
    staging = dest / f".{top}.unpacking"  # the top folder may hold a folder of its own name
    (dest / top).rename(staging)
    for child in staging.iterdir():
        child.rename(dest / child.name)
    staging.rmdir()
    prefix = f"{top}/"
    return [CodeFile(f.path[len(prefix) :], f.size, f.sha256) for f in files]
