"""The OpenAPI document is the contract: schemathesis (its CLI, as CI runs it) against the real
`hub serve` with a token per role, conformance checks on, bounded in examples and time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import District, Server

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")
# Fuzzing cases per operation. No --max-time: with one, fuzzing repeats until it is spent,
# and on a loaded machine the budget would end the run before the coverage phase.
EXAMPLES = 3
ROLES = ("street_office", "department", "auditor", "admin")
# The coverage phase (boundary and invalid values of every parameter) is nine tenths of the
# cases; one role runs it, the one that reaches every operation: the others would send the
# same cases through the same validation. Every role runs the examples and the fuzzing.
COVERAGE_ROLE = "admin"


def test_every_error_answer_is_documented_as_a_problem(server: Server) -> None:
    document = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            if operation.get("security"):
                assert {"401", "403", "404", "422"} <= set(answers), (method, path)
            for status, answer in answers.items():
                if int(status) >= 400 and operation.get("security"):  # /healthz: own JSON
                    assert set(answer["content"]) == {"application/problem+json"}, \
                        (method, path, status)


def test_query_parameters_are_bounded(server: Server) -> None:
    """Every integer has a maximum and every string a length, pattern or enum."""
    document = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                options = schema.get("anyOf", [schema])
                for option in options:
                    kind = option.get("type")
                    name = (path, parameter["name"])
                    if kind == "integer":
                        assert "maximum" in option, name
                    elif kind == "string" and option.get("format") != "date-time":
                        assert {"maxLength", "pattern", "enum"} & set(option), name


def test_schemathesis_conformance(server: Server, district: District, tmp_path: Path) -> None:
    """One schemathesis run per role, the four at once; each must pass every conformance
    check."""
    runs = {role: subprocess.Popen(
        [str(SCHEMATHESIS), "run", f"{server.base_url}/openapi.json",
         "-H", f"Authorization: Bearer {district.tokens[role]}",
         "--checks", CHECKS, "--max-examples", str(EXAMPLES),
         "--phases", "examples,coverage,fuzzing" if role == COVERAGE_ROLE else
         "examples,fuzzing", "--seed", "16", "--no-shrink",
         "--generation-database", "none", "--workers", "1", "--request-timeout", "20",
         "--no-color", "--report-dir", str(tmp_path / role)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=tmp_path)  # schemathesis keeps a cache folder in its working directory
        for role in ROLES}
    outputs = {role: run.communicate(timeout=240)[0] for role, run in runs.items()}
    for role, output in outputs.items():
        print(f"--- {role} ---\n" + "\n".join(
            line for line in output.splitlines()
            if re.search(r"passed|failed|generated|Seed", line)))
    failed = {role: out[-3000:] for role, out in outputs.items() if runs[role].returncode}
    assert failed == {}
