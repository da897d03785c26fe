"""Release pseudonyms: a key per (recipient, release), derived from the pseudonym master key.

    release key = HMAC-SHA256(master, "community-data-hub/release/" + recipient + "/" + release)

The release pseudonym of a resident is the keyed pseudonym (desensitize.pseudonym) of the
hub's resident key under the release key. Without the master key nobody can map a release
pseudonym to a hub key or to another release's pseudonym, so two releases (to two recipients,
or two releases to the same one) cannot be joined on their keys; the hub, holding the master
key, can recompute any of them to answer a question about a release.

The 128-bit pseudonym is written with sixteen letters instead of hex digits: it can never
contain a digit run that looks like an ID number or a phone number to a privacy scanner, and
it never looks like one of the hub's own (hex) keys.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime

import pandas as pd

from desensitize.pseudonym import Pseudonymiser
from desensitize.release.errors import ReleaseParameterInvalid

RELEASE_PREFIX = "community-data-hub/release/"
RELEASE_DOMAIN = "person"
_LETTERS = str.maketrans("0123456789abcdef", "bcdfghjkmnpqrstv")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_label(parameter: str, value: str) -> str:
    """A recipient or release id: 1-64 letters, digits, '_', '.', '-', starting alphanumeric.
    They name key derivations and files, so nothing else (no '/', no spaces) is accepted."""
    if not isinstance(value, str) or not _LABEL.fullmatch(value):
        raise ReleaseParameterInvalid(
            parameter, "use 1-64 letters, digits, '_', '.' or '-', starting with a letter or "
                       "digit")
    return value


def new_release_id(now: datetime | None = None) -> str:
    """`rel-YYYYMMDD-` plus 10 random letters: unique, sortable by day, no long digit run."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    tail = secrets.token_hex(5).translate(_LETTERS)
    return f"rel-{moment:%Y%m%d}-{tail}"


def release_key(master: bytes, recipient: str, release_id: str) -> bytes:
    """The 32-byte key of one release to one recipient."""
    check_label("recipient", recipient)
    check_label("release_id", release_id)
    message = f"{RELEASE_PREFIX}{recipient}/{release_id}".encode()
    return hmac.digest(master, message, "sha256")


def release_pseudonyms(keys: pd.Series, master: bytes, recipient: str,
                       release_id: str) -> pd.Series:
    """The release pseudonym (32 letters) of each hub key; missing stays missing."""
    with Pseudonymiser(release_key(master, recipient, release_id)) as pseudonymiser:
        hexed = pseudonymiser.pseudonymise(keys, RELEASE_DOMAIN)
    return hexed.str.translate(_LETTERS).astype("string")
