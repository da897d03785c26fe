"""`${ENV_VAR}` references in source YAMLs: passwords and tokens stay out of the YAML."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from connectors.errors import SourceInvalid

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, source: str, field: str,
               environ: Mapping[str, str] | None = None) -> str:
    """`text` with every ${NAME} replaced; an unset NAME is named in the error, no value is."""
    env = os.environ if environ is None else environ
    missing = [name for name in _REF.findall(text) if name not in env]
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise SourceInvalid(source, f"`{field}` uses environment variable(s) {names}, which "
                                    "are not set; set them where the hub runs")
    return _REF.sub(lambda m: env[m.group(1)], text)
