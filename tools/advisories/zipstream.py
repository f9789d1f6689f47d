"""Read the members of a zip archive one at a time, in memory that does not grow with the archive.

`zipfile.ZipFile` reads the whole central directory into a `ZipInfo` per member when it opens an
archive: for OSV's npm dump (~200k members) that alone is tens of megabytes, and it grows with
every dump. Here the central directory is read entry by entry through one file handle while the
member data is read through another, so the memory in use is one directory entry plus one member
(capped by the caller) at any time, whatever the number of members.

Stored (0) and deflated (8) members are read, which is what OSV's dumps and every common zip tool
write; encrypted members and other compression methods are reported per member, never guessed at.
Each member's CRC-32 and size are checked against the central directory, so a member whose header
lies about its size is caught, and inflating stops one byte past the caller's cap (a zip bomb costs
at most that much per member).

    ZipStreamError       the archive as a whole cannot be read (no end record, multi-disk, ...)
    ZipMemberError       one member cannot be read (too large, encrypted, corrupt); the rest go on
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["ZipMember", "ZipMemberError", "ZipStreamError", "iter_members", "read_member"]

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF
_CENTRAL_SIZE = 46
_LOCAL_SIZE = 30
_BLOCK = 64 * 1024
_STORED, _DEFLATED = 0, 8
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800


class ZipStreamError(Exception):
    """The archive as a whole cannot be read."""


class ZipMemberError(Exception):
    """One member cannot be read; `too_large` tells a size refusal from damage."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class ZipMember:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def _end_record(fh: BinaryIO, size: int) -> tuple[int, int, int]:
    """(entries, central directory size, central directory offset) from the end records."""
    tail_len = min(size, _EOCD_SIZE + _MAX_COMMENT)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise ZipStreamError("no zip end-of-central-directory record (not a zip archive, or truncated)")
    (_, disk, cd_disk, _, entries, cd_size, cd_offset, _) = struct.unpack(
        "<4sHHHHIIH", tail[at : at + _EOCD_SIZE]
    )
    if disk != 0 or cd_disk != 0:
        raise ZipStreamError("multi-disk (split) zip archives are not supported")
    if 0xFFFF in (entries,) or 0xFFFFFFFF in (cd_size, cd_offset):
        eocd_pos = size - tail_len + at
        if eocd_pos < 20:
            raise ZipStreamError("a zip64 archive without its zip64 locator")
        fh.seek(eocd_pos - 20)
        locator = fh.read(20)
        if locator[:4] != _EOCD64_LOCATOR:
            raise ZipStreamError("a zip64 archive without its zip64 locator")
        (eocd64_pos,) = struct.unpack("<Q", locator[8:16])
        fh.seek(eocd64_pos)
        record = fh.read(56)
        if len(record) < 56 or record[:4] != _EOCD64:
            raise ZipStreamError("the zip64 end-of-central-directory record is missing or damaged")
        entries, _, cd_size, cd_offset = struct.unpack("<QQQQ", record[24:56])
    if cd_offset + cd_size > size:
        raise ZipStreamError("the central directory lies beyond the end of the file (truncated archive)")
    return entries, cd_size, cd_offset


def _zip64_fields(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF placeholders with the values of the zip64 extra field, in its order."""
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[i : i + 4])
        body = extra[i + 4 : i + 4 + length]
        if tag == 0x0001:
            values = [struct.unpack("<Q", body[j : j + 8])[0] for j in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        i += 4 + length
    return usize, csize, offset


def iter_members(path: Path) -> Generator[ZipMember, None, None]:
    """Every central-directory entry of the archive at `path`, in order, one at a time.

    Raises ZipStreamError when the archive cannot be read at all, or when its central directory
    turns out damaged part way (the members before that were yielded already).
    """
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        entries, cd_size, cd_offset = _end_record(fh, size)
        fh.seek(cd_offset)
        end = cd_offset + cd_size
        pos = cd_offset
        for number in range(entries):
            head = fh.read(_CENTRAL_SIZE)
            if len(head) < _CENTRAL_SIZE or head[:4] != _CENTRAL:
                raise ZipStreamError(f"the central directory is damaged at entry {number + 1} of {entries}")
            (flags, method, crc, csize, usize, n_name, n_extra, n_comment, offset) = struct.unpack(
                "<8xHH4xIIIHHH8xI", head
            )
            name_raw = fh.read(n_name)
            extra = fh.read(n_extra)
            fh.seek(n_comment, 1)
            pos += _CENTRAL_SIZE + n_name + n_extra + n_comment
            if pos > end or len(name_raw) < n_name:
                raise ZipStreamError(f"the central directory is damaged at entry {number + 1} of {entries}")
            usize, csize, offset = _zip64_fields(extra, usize, csize, offset)
            name = name_raw.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", "replace")
            yield ZipMember(name, method, flags, crc, csize, usize, offset)


def read_member(fh: BinaryIO, member: ZipMember, limit: int) -> bytes:
    """The member's bytes through `fh` (the archive, opened for reading), at most `limit` of them.

    ZipMemberError when it is larger than `limit` (by its header or by what inflating yields),
    encrypted, compressed by another method, or does not match its CRC-32 or size.
    """
    if member.file_size > limit:
        raise ZipMemberError(f"larger than {limit} bytes", too_large=True)
    if member.flags & _FLAG_ENCRYPTED:
        raise ZipMemberError("encrypted; not read")
    if member.method not in (_STORED, _DEFLATED):
        raise ZipMemberError(f"compression method {member.method} is not supported (stored or deflated)")
    fh.seek(member.header_offset)
    head = fh.read(_LOCAL_SIZE)
    if len(head) < _LOCAL_SIZE or head[:4] != _LOCAL:
        raise ZipMemberError("its local header is missing or damaged")
    n_name, n_extra = struct.unpack("<HH", head[26:30])
    fh.seek(n_name + n_extra, 1)
    remaining = member.compressed_size
    out = bytearray()
    inflate = zlib.decompressobj(-15) if member.method == _DEFLATED else None
    try:
        while remaining > 0:
            block = fh.read(min(_BLOCK, remaining))
            if not block:
                raise ZipMemberError("its data is truncated")
            remaining -= len(block)
            if inflate is None:
                out += block
            else:
                # max_length stops inflating one byte past the cap, whatever the stream claims.
                out += inflate.decompress(block, limit + 1 - len(out))
                if inflate.unconsumed_tail:
                    raise ZipMemberError(f"larger than {limit} bytes", too_large=True)
            if len(out) > limit:
                raise ZipMemberError(f"larger than {limit} bytes", too_large=True)
        if inflate is not None:
            out += inflate.flush(limit + 1 - len(out))
    except zlib.error:
        raise ZipMemberError("its compressed data is damaged") from None
    if len(out) > limit:
        raise ZipMemberError(f"larger than {limit} bytes", too_large=True)
    if len(out) != member.file_size or zlib.crc32(out) != member.crc:
        raise ZipMemberError("its content does not match its size or CRC-32 (damaged, or the header lies)")
    return bytes(out)
