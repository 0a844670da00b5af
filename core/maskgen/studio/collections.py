"""The user's own masks in the studio: named collections of uploaded images, kept for training.

A collection is a folder ``ROOT/NAME/images/`` (``ROOT`` is ``runs/studio`` by default), filled from
uploads: single pictures, or ``.zip`` archives of them (what a person with a few hundred masks has).
Every file goes through the studio's upload checks (:func:`maskgen.studio.uploads.check_image`: size,
format from the header, pixel count before decoding) before it is kept, and an archive is read member
by member, never extracted as it stands:

* only picture files are taken, by their base name (folders inside the archive, ``../`` and absolute
  paths are ignored; the kept file gets a fresh name), and macOS debris (``__MACOSX/``, ``._x.jpg``)
  is skipped;
* each member is read through a bounded buffer, so a member whose header lies about its size (a zip
  bomb) stops at the per-image limit, and the collection as a whole has a count and byte limit;
* a member that does not decode as a picture is refused with its name, and the rest still go in;
* an archive declaring more than ``MAX_MEMBERS`` files is refused before its directory is read
  (``zipfile`` would build an object for each: millions of empty members are a memory bomb).

Files are written under a temporary name and renamed into place, so a collection never holds half a
file, and a picture is kept only after its header check passed.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from maskgen.data.check import CollectionReport, check_collection
from maskgen.data.folder import IMAGE_EXTENSIONS, find_images
from maskgen.errors import MaskgenError
from maskgen.studio.uploads import MAX_BYTES, MAX_PIXELS, check_image, in_area

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
DEFAULT_NAME = "my-masks"
IMAGES = "images"
MAX_IMAGES = 5000  # a few hundred is the case the recipe is measured on; thousands still train
MAX_COLLECTION_BYTES = 2 * 1024**3
ZIP_MAX_BYTES = 512 * 1024 * 1024  # one uploaded archive
MAX_MEMBERS = 50_000  # files in one archive (pictures or not)
EOCD_SIZE, ZIP64_LOCATOR_SIZE = 22, 20  # the zip format's end-of-central-directory records


@dataclass
class Added:
    """What one upload added to a collection."""

    name: str
    added: int = 0
    refused: list[str] = field(default_factory=list)  # one line per file left out, with why

    def summary(self) -> str:
        line = f"added {self.added} picture(s) to {self.name}"
        if self.refused:
            line += f"; left out {len(self.refused)}: " + "; ".join(self.refused[:5])
            line += f"; and {len(self.refused) - 5} more" if len(self.refused) > 5 else ""
        return line


def check_name(name: str | None) -> str:
    """A collection name as typed, or one line saying what a name may be."""
    text = (name or "").strip() or DEFAULT_NAME
    if not NAME_PATTERN.match(text):
        raise MaskgenError(
            f"collection name {text!r}: use 1-40 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return text


class Collections:
    """The collections under one root folder."""

    def __init__(
        self,
        root: Path,
        max_images: int = MAX_IMAGES,
        max_bytes: int = MAX_COLLECTION_BYTES,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        self.root = Path(root)
        self.max_images = max_images
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def folder(self, name: str | None) -> Path:
        """The collection's own folder (its images are in ``images/``, its runs beside them)."""
        return self.root / check_name(name)

    def images(self, name: str | None) -> Path:
        return self.folder(name) / IMAGES

    def names(self) -> list[str]:
        """The collections that hold pictures, newest first."""
        if not self.root.is_dir():
            return []
        found = [f for f in self.root.iterdir() if NAME_PATTERN.match(f.name) and (f / IMAGES).is_dir()]
        return [f.name for f in sorted(found, key=lambda f: f.stat().st_mtime, reverse=True)]

    def count(self, name: str | None) -> int:
        folder = self.images(name)
        return len(find_images(folder)) if folder.is_dir() else 0

    def add(self, name: str | None, uploads: Sequence[str | Path], upload_roots: Sequence[Path]) -> Added:
        """Keep the uploaded pictures and the pictures inside uploaded ``.zip`` archives."""
        if not uploads:
            raise MaskgenError("nothing uploaded: choose mask pictures or a .zip of them first")
        result = Added(check_name(name))
        folder = self.images(result.name)
        folder.mkdir(parents=True, exist_ok=True)
        state = _Budget(folder)
        for upload in uploads:
            path = in_area(upload, upload_roots)
            if path.suffix.lower() == ".zip":
                self._add_archive(path, state, result)
            elif path.suffix.lower() in IMAGE_EXTENSIONS:
                self._keep(path.read_bytes, path.stat().st_size, path.name, state, result)
            else:
                result.refused.append(f"{path.name}: not a picture or a .zip")
        os.utime(self.folder(result.name))  # the collection used last is listed first
        return result

    def check(self, name: str | None, resolution: int) -> CollectionReport:
        """``maskgen dataset check`` of the collection, at the run's resolution."""
        folder = self.images(name)
        if not folder.is_dir() or not find_images(folder):
            raise MaskgenError(f"the collection {check_name(name)} has no pictures yet: upload some first")
        return check_collection(folder, resolution)

    # -- one file at a time --------------------------------------------------------------------------

    def _add_archive(self, path: Path, state: _Budget, result: Added) -> None:
        if path.stat().st_size > ZIP_MAX_BYTES:
            result.refused.append(f"{path.name}: larger than {ZIP_MAX_BYTES // 1024**2} MB")
            return
        members = _member_count(path)
        if members is not None and members > MAX_MEMBERS:
            # Checked before zipfile reads the central directory: it builds an object per member.
            result.refused.append(f"{path.name}: {members} files; an archive may hold at most {MAX_MEMBERS}")
            return
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    member = PurePosixPath(info.filename.replace("\\", "/"))
                    if info.is_dir() or _debris(member):
                        continue
                    if member.suffix.lower() not in IMAGE_EXTENSIONS:
                        continue

                    def read(info: zipfile.ZipInfo = info, archive: zipfile.ZipFile = archive) -> bytes:
                        with archive.open(info) as stream:
                            return stream.read(MAX_BYTES + 1)  # bounded whatever the header says

                    label = f"{path.name}:{member.as_posix()}"
                    if not self._keep(read, info.file_size, label, state, result):
                        break
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            result.refused.append(f"{path.name}: not a readable .zip ({' '.join(str(exc).split())})")

    def _keep(self, read: Callable[[], bytes], size: int, label: str, state: _Budget, result: Added) -> bool:
        """Keep one picture; False once the collection is full (the rest are left out)."""
        if state.images >= self.max_images:
            result.refused.append(f"{label} and the rest: the collection holds at most {self.max_images}")
            return False
        if size > MAX_BYTES:
            result.refused.append(f"{label}: larger than {MAX_BYTES // 1024**2} MB")
            return True
        try:
            data = read()
        except (OSError, RuntimeError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
            # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile lacks
            result.refused.append(f"{label}: cannot be read ({' '.join(str(exc).split())})")
            return True
        if len(data) > MAX_BYTES:
            result.refused.append(f"{label}: larger than {MAX_BYTES // 1024**2} MB")
            return True
        if state.bytes + len(data) > self.max_bytes:
            limit = f"{self.max_bytes // 1024**2} MB"
            result.refused.append(f"{label} and the rest: the collection holds at most {limit}")
            return False
        target = state.next_path(PurePosixPath(label).name)
        staging = target.with_name(f".upload-{target.name}")  # hidden: a run never reads it half-written
        try:
            staging.write_bytes(data)
            check_image(staging, [target.parent], self.max_pixels, MAX_BYTES, what="picture")
            os.replace(staging, target)
        except MaskgenError as exc:
            result.refused.append(f"{label}: {_reason(str(exc))}")
            return True
        except OSError as exc:  # a full or read-only disk: the rest would fail alike
            result.refused.append(f"{label} and the rest: cannot be written ({exc.strerror or exc})")
            return False
        finally:
            staging.unlink(missing_ok=True)
        state.images += 1
        state.serial += 1
        state.bytes += len(data)
        result.added += 1
        return True


class _Budget:
    """What a collection already holds, and the next free file name."""

    def __init__(self, folder: Path) -> None:
        existing = find_images(folder)
        self.folder = folder
        self.images = len(existing)
        self.bytes = sum(p.stat().st_size for p in existing)
        self.serial = max((_serial(p.name) for p in existing), default=-1) + 1

    def next_path(self, original: str) -> Path:
        """Where the next kept picture goes: a serial number (upload order) and a safe form of its name."""
        stem, suffix = os.path.splitext(original)
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:40] or "mask"
        return self.folder / f"{self.serial:05d}-{safe}{suffix.lower()}"


def _member_count(path: Path) -> int | None:
    """How many members the archive's end record declares (zip64 too); None if there is none to read
    (zipfile then says the file is not a zip)."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        tail_start = max(0, size - (EOCD_SIZE + 65535))  # the record, then a comment of up to 64 KB
        f.seek(tail_start)
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + EOCD_SIZE > len(tail):
            return None
        count = int.from_bytes(tail[at + 10 : at + 12], "little")
        locator = at - ZIP64_LOCATOR_SIZE
        if count != 0xFFFF or locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
            return count
        record = int.from_bytes(tail[locator + 8 : locator + 16], "little")  # where the zip64 record is
        if record >= size:
            return None
        f.seek(record)
        zip64 = f.read(40)
        if len(zip64) < 40 or zip64[:4] != b"PK\x06\x06":
            return None
        return int.from_bytes(zip64[32:40], "little")


def _serial(name: str) -> int:
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def _debris(member: PurePosixPath) -> bool:
    """Files an archiver or OS adds that are not pictures (macOS resource forks, hidden files)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in member.parts)


def _reason(message: str) -> str:
    """The check's own line without the file name it starts with (the label already names it)."""
    return re.sub(r"^the picture '[^']*' ", "", " ".join(message.split()))
