"""Resident and household views: computed in the warehouse, published into the state store.

    compute   DuckDB TEMP tables of the worker session (hub.views.compute, .documents)
    rules     overlap and missed-benefit rules from hub/rules/*.yaml, compiled to SQL
    publish   new generation into the state store, then an atomic flip (hub.views.store)
    read      ViewReader for the API; resident_key_for_id_number
"""
