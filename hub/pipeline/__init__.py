"""The pipeline: one extract in, one batch in the warehouse.

    worker    PipelineWorker: the warehouse's only writer; ingest, crosswalk, publish
    ingest    one batch: read, map, validate, quarantine, de-identify, stage, commit
    chunks    one chunk made ready to load (map to staged files), handed back in order
    chunk_pool  the worker processes that prepare chunks (HUB_INGEST_WORKERS above one)
    staging   a batch's Parquet files before the commit, and leftovers of killed runs
    jobs      the upload queue in the state store, and the worker loop that drains it
    sealing   rows whose only fault is their ID number, kept sealed as linkage candidates
    linkage   those rows linked to the registry before each publish
    registry_duplicates  residents registered twice, found after each registry batch
    registry_index  the registry's keyed blocking values and models, kept in the warehouse
    registry_forms  each registry resident's comparison forms, kept sealed beside them
    registry_open   the registry's residents opened from the vault for comparison
    reviews   the linkage review queue the API and the console decide
"""
