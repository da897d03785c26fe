"""Stream a multipart upload straight into the inbox, in chunks, under a size cap.

Starlette's form parser spools files to the system temp folder; an extract full of raw ID
numbers must not land there. This parser writes the `file` part directly to a private file
(0600) in `HUB_HOME/inbox/`, counts bytes as they arrive and stops at the cap, deleting the
partial file. Text fields are small and kept in memory.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from hub.api.problems import ApiProblem

FILE_FIELD = "file"
MAX_TEXT_FIELD = 4096
MAX_PARTS = 8
_SUFFIX = re.compile(r"\.(csv|tsv|txt|xlsx|json|jsonl|ndjson|parquet)$", re.IGNORECASE)


@dataclass
class ReceivedUpload:
    path: Path | None = None
    size: int = 0
    suffix: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def too_large(cap: int) -> ApiProblem:
    # Connection: close, so that the server stops receiving the rest of the body at once
    # instead of reading and discarding it.
    return ApiProblem(413, "payload-too-large", "Payload too large",
                      f"the extract is larger than the {cap}-byte limit of one upload; split "
                      "it or ask the administrator to raise HUB_MAX_EXTRACT_BYTES",
                      headers={"Connection": "close"})


def bad_upload(detail: str) -> ApiProblem:
    return ApiProblem(400, "bad-upload", "Bad upload", detail)


class _Receiver:
    def __init__(self, target: Path, cap: int) -> None:
        self.target = target
        self.cap = cap
        self.result = ReceivedUpload()
        self.parts = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._text = bytearray()
        self._fd: int | None = None
        self.problem: ApiProblem | None = None

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.problem = bad_upload(f"at most {MAX_PARTS} form parts are accepted")
        self._headers, self._name, self._text = {}, "", bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("latin-1")
        if self._name != FILE_FIELD or self.problem is not None:
            return
        if self._fd is not None:
            self.problem = bad_upload("send exactly one `file` part")
            return
        filename = options.get(b"filename", b"").decode("utf-8", "replace")
        match = _SUFFIX.search(filename)
        self.result.suffix = match.group(0).lower() if match else ""
        self._fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.problem is not None:
            return
        if self._name == FILE_FIELD and self._fd is not None:
            self.result.size += end - start
            if self.result.size > self.cap:
                self.problem = too_large(self.cap)
                return
            os.write(self._fd, data[start:end])
        else:
            self._text += data[start:end]
            if len(self._text) > MAX_TEXT_FIELD:
                self.problem = bad_upload(f"a form field is over {MAX_TEXT_FIELD} bytes")

    def part_end(self) -> None:
        if self._name != FILE_FIELD and self._name and self.problem is None:
            self.result.fields[self._name] = self._text.decode("utf-8", "replace").strip()

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


async def receive_upload(request: Request, target: Path, cap: int) -> ReceivedUpload:
    """Parse the request body into `target` (the file part) and text fields."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise bad_upload("send multipart/form-data with a `file` part and a `source` field")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap + 64 * 1024:
        raise too_large(cap)
    receiver = _Receiver(target, cap)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.problem is not None:
                raise receiver.problem
        parser.finalize()
        if receiver.problem is not None:
            raise receiver.problem
    except (ApiProblem, ClientDisconnect, Exception) as exc:
        receiver.close()
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        if isinstance(exc, ApiProblem):
            raise
        raise bad_upload("the multipart body could not be read to its end") from None
    receiver.close()
    if receiver.result.size == 0 or not target.exists():
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise bad_upload("the upload has no `file` part, or the file is empty")
    receiver.result.path = target
    return receiver.result
