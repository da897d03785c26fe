"""The whole state store schema: catalog's tables and the hub's, on the one MetaData.

Importing this module registers every table; the migrations' environment (autogenerate) and
the schema test compare the database with it.
"""

from __future__ import annotations

import catalog.quality_store
import catalog.store
import hub.state.audit_table
import hub.state.casework_tables
import hub.state.tables
from catalog.db import metadata

__all__ = ["metadata"]

# The modules above are imported for their tables; keep the names referenced.
_TABLE_MODULES = (catalog.store, catalog.quality_store, hub.state.tables, hub.state.audit_table,
                  hub.state.casework_tables)
