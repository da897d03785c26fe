"""A linkage, declared: which fields are compared and how, which pairs are scored, how the
model is trained. One YAML file per linkage (`hub/linkage/specs/`), compiled to Splink
settings by `hub.linkage.comparisons`.

    fields:         [{name, kind, column, term_frequencies, m}]   kind: one of KINDS;
                    m: prior m-probabilities, one per level (else level last), used when
                    there are too few records to place for EM to learn them
    blocking:       [[expr, ...], ...]       pairs agreeing on all exprs of any rule are scored
    training:       [[expr, ...], ...]       one EM session per rule
    deterministic:  [[expr, ...], ...]       rules that nearly only true matches pass
    recall:         share of true matches the deterministic rules are believed to catch
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from hub.errors import HubError

SPECS = Path(__file__).with_name("specs")
# The comparison kinds a field may name; hub.linkage.comparisons builds one of each.
KINDS = frozenset({"chinese_name", "birth_date", "chinese_address", "phone", "place", "exact",
                   "string", "digits_date"})


class LinkageSpecInvalid(HubError):
    """A linkage spec names an unknown comparison kind or misses a section."""

    def __init__(self, spec: str, problem: str) -> None:
        self.spec, self.problem = spec, problem
        super().__init__(f"linkage spec {spec}: {problem}; correct the spec file")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    column: str
    term_frequencies: bool = False
    """Weigh an exact agreement by how rare the value is (a common surname says less)."""
    m: tuple[float, ...] | None = None
    """Prior m-probabilities of the levels, the else level last (None: Splink's defaults)."""


@dataclass(frozen=True)
class LinkageSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    blocking: tuple[tuple[str, ...], ...]
    training: tuple[tuple[str, ...], ...]
    deterministic: tuple[tuple[str, ...], ...]
    recall: float

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column a field of this spec reads (kinds may read derived ones too)."""
        return tuple(dict.fromkeys(f.column for f in self.fields))


def load_spec(name_or_path: str | Path) -> LinkageSpec:
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS / f"{name_or_path}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = path.stem
    try:
        fields = tuple(FieldSpec(f["name"], f["kind"], f.get("column", f["name"]),
                                 bool(f.get("term_frequencies", False)),
                                 tuple(float(v) for v in f["m"]) if f.get("m") else None)
                       for f in raw["fields"])
        rules = {key: tuple(tuple(rule) for rule in raw[key])
                 for key in ("blocking", "training", "deterministic")}
        recall = float(raw["recall"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkageSpecInvalid(name, f"missing or malformed section ({exc})") from None
    unknown = sorted({f.kind for f in fields} - KINDS)
    if unknown:
        raise LinkageSpecInvalid(name, f"unknown comparison kind(s) {', '.join(unknown)}")
    return LinkageSpec(name, fields, rules["blocking"], rules["training"],
                       rules["deterministic"], recall)
