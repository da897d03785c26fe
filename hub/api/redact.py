"""What the API shows of text written on the server: file names, never server paths.

Error messages of connectors and the pipeline name the file they read, which on the server
is an absolute path into the inbox or a department's folder; a caller needs the file's name
at most (their upload is "the uploaded file").
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

# An absolute POSIX path of at least two parts, up to a quote, blank, comma, semicolon or
# parenthesis; a Windows drive path likewise.
_PATH = re.compile(r"(?<![\w.~/-])(?:/[^\s'\"`,;()<>/]+){2,}/?|[A-Za-z]:\\[^\s'\"`,;()<>]+")
_INBOX_FILE = re.compile(r"^\.?(up-[0-9a-f]+)(\.part)?(\.[a-z]+)?$")


def _name(match: re.Match[str]) -> str:
    name = PurePosixPath(match.group(0).replace("\\", "/").rstrip("/")).name
    return "the uploaded file" if _INBOX_FILE.match(name) else name


def without_paths(text: Any) -> Any:
    """`text` with every absolute path replaced by its last part (None stays None)."""
    return _PATH.sub(_name, text) if isinstance(text, str) else text
