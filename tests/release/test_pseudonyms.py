"""Release pseudonyms: one key per (recipient, release), so two releases cannot be joined."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from desensitize.release.errors import ReleaseParameterInvalid
from desensitize.release.pseudonyms import new_release_id, release_key, release_pseudonyms

MASTER = bytes(range(32))
KEYS = pd.Series([hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(2000)]
                 + [None], dtype="string")


def test_the_release_key_is_the_documented_hmac() -> None:
    expected = hmac.digest(MASTER, b"community-data-hub/release/lab-1/rel-20261101-bcdf",
                           "sha256")
    assert release_key(MASTER, "lab-1", "rel-20261101-bcdf") == expected


def test_two_releases_share_no_pseudonym_and_none_is_a_hub_key() -> None:
    first = release_pseudonyms(KEYS, MASTER, "lab-1", "rel-a")
    again = release_pseudonyms(KEYS, MASTER, "lab-1", "rel-a")
    other_release = release_pseudonyms(KEYS, MASTER, "lab-1", "rel-b")
    other_recipient = release_pseudonyms(KEYS, MASTER, "lab-2", "rel-a")
    assert first.equals(again)  # the hub can recompute a release's pseudonyms
    values = set(first.dropna())
    assert len(values) == len(KEYS) - 1  # one per resident
    assert not values & set(other_release.dropna())
    assert not values & set(other_recipient.dropna())
    assert not values & set(KEYS.dropna())
    assert first.isna().iloc[-1]


def test_release_pseudonyms_hold_no_digit() -> None:
    # A digit run could look like an ID number or a phone number to a privacy scanner.
    values = release_pseudonyms(KEYS, MASTER, "lab-1", "rel-a").dropna()
    assert values.str.fullmatch(r"[b-v]{32}").all()
    assert not values.str.contains(r"[0-9]").any()


def test_labels_are_checked() -> None:
    for bad in ["", "a/b", "x" * 65, "lab 1", "-lab"]:
        with pytest.raises(ReleaseParameterInvalid):
            release_key(MASTER, bad, "rel-a")
    assert new_release_id().startswith("rel-")
    assert new_release_id() != new_release_id()
