"""Cheap checks on an extract file before any parsing: size, binary garbage, text encoding.

Departments send the wrong file more often than a broken one: a workbook renamed .csv, a
UTF-16 "Unicode text" export from Excel, a GBK file declared as UTF-8. Each gets a message
that names the file and says what to do, before a parser produces something confusing.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from connectors.errors import EncodingMismatch, ExtractUnreadable

SAMPLE_BYTES = 1 << 20
_MAGIC: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook?); export it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook; save it as .xlsx or CSV"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive; unpack it first"),
    (b"PAR1", "a Parquet file; export it as CSV"),
]
# Bytes that never occur in a text extract (tab, LF, CR, FF and ESC are allowed).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"


def check_file(path: Path, max_bytes: int) -> int:
    """Size checks that must happen before anything is read; returns the size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ExtractUnreadable(str(path), "file not found") from exc
    if not path.is_file():
        raise ExtractUnreadable(str(path), "not a regular file")
    if size == 0:
        raise ExtractUnreadable(str(path), "the file is empty (0 bytes)",
                                "export the data again; the upload may have failed")
    if size > max_bytes:
        raise ExtractUnreadable(
            str(path), f"the file is {size:,} bytes, over the limit of {max_bytes:,} bytes",
            "split the extract into smaller files or raise the limit")
    return size


def read_sample(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SAMPLE_BYTES)


def refuse_binary(location: str, sample: bytes) -> None:
    """ExtractUnreadable for anything that is not a plain text file."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ExtractUnreadable(location, "the file is UTF-16 text",
                                "save it as CSV UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')")
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise ExtractUnreadable(location, f"not a text file: it looks like {what}")
    head = sample[:65536]
    controls = len(head) - len(head.translate(None, _CONTROL))
    nuls = head.count(b"\x00")
    if nuls > max(8, len(head) // 1000):
        raise ExtractUnreadable(location, "not a text file: it holds many NUL bytes (\\0), "
                                "which text "
                                "never holds: it is binary, or UTF-16 without a BOM",
                                "send the extract as CSV text in UTF-8")
    if controls - nuls > max(1, len(head) // 100):
        raise ExtractUnreadable(location, "not a text file (binary content)",
                                "send the extract as CSV text")
    if b"\r" in head and b"\n" not in head:
        raise ExtractUnreadable(location, "lines end with CR only (old Mac format)",
                                "save the file with Windows or Unix line endings")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 text, allowing a few damaged lines (quarantined later, line by line): a stray
    byte must not make a UTF-8 file read as GB18030, which would garble every line."""
    if _decodes(sample, "utf-8"):
        return True
    lines = sample.split(b"\n")[:-1] or [sample]
    failed = sum(not _decodes(line, "utf-8") for line in lines)
    chinese = sum(not line.isascii() and _decodes(line, "utf-8") for line in lines)
    return failed <= max(1.0, 0.05 * len(lines)) and chinese > failed


def suggest_encoding(data: bytes, declared: str) -> str | None:
    """Which other supported encoding would read `data`, for the error message."""
    for candidate in ("utf-8", "gb18030"):
        if candidate != declared and _decodes(data, candidate):
            return candidate
    return None


def detect_encoding(location: str, sample: bytes, declared: str) -> str:
    """The codec to read the file with; `auto` and a few declared mistakes resolved here."""
    has_bom = sample.startswith(codecs.BOM_UTF8)
    if declared in ("auto", "utf-8", "utf-8-sig"):
        if has_bom:
            return "utf-8-sig"
        if declared != "auto":
            return declared
        return "utf-8" if _mostly_utf8(sample) else "gb18030"
    # gbk/gb18030 declared: UTF-8 Chinese usually also decodes as GBK, into nonsense, so a
    # sample that is valid UTF-8 with non-ASCII text is refused instead of silently garbled.
    if has_bom or (not sample.isascii() and _decodes(sample, "utf-8")):
        line = next(i + 1 for i, ln in enumerate(sample.split(b"\n")) if not ln.isascii())
        raise EncodingMismatch(
            location, declared, line,
            "the file is UTF-8: save it as GBK, or ask the hub's administrator to set "
            "the source's encoding to utf-8")
    return declared
