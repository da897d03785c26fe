"""Load the contracts shipped in `schemas/contracts/` (or another folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from schemas.errors import ContractInvalid, ContractNotFound
from schemas.spec import ContractSpec

CONTRACTS_DIR = Path(__file__).parent / "contracts"


def load_contract_file(path: Path) -> ContractSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractInvalid(str(path), f"not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict):
        raise ContractInvalid(str(path), "top level must be a mapping")
    try:
        return ContractSpec.model_validate(raw)
    except ValidationError as exc:
        raise ContractInvalid(str(path), str(exc).replace("\n", "; ")) from exc


@cache
def _load_all(folder: Path) -> dict[str, ContractSpec]:
    contracts = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = load_contract_file(path)
        if spec.name != path.stem:
            raise ContractInvalid(str(path), f"name '{spec.name}' differs from file name")
        contracts[spec.name] = spec
    return contracts


def all_contracts(folder: Path = CONTRACTS_DIR) -> dict[str, ContractSpec]:
    return dict(_load_all(folder))


def source_contracts(folder: Path = CONTRACTS_DIR) -> dict[str, ContractSpec]:
    """Contracts of datasets that departments send (not derived by the hub)."""
    return {n: c for n, c in _load_all(folder).items() if c.kind == "source"}


def get_contract(name: str, folder: Path = CONTRACTS_DIR) -> ContractSpec:
    contracts = _load_all(folder)
    if name not in contracts:
        raise ContractNotFound(name, list(contracts))
    return contracts[name]
