"""Record linkage: department rows whose ID number cannot be trusted, linked to the registry.

    names           Chinese names as characters, pinyin, similar shapes, simplified forms
    addresses       addresses reduced to what identifies a dwelling
    features        the comparison columns of one record, computed once per record
    comparisons     the Fellegi-Sunter comparisons, as SQL levels for Splink's DuckDB backend
    spec            a linkage declared in YAML (specs/): fields, kinds, blocking, training
    model           training without labels and scoring (link, link_with_priors, duplicates)
    decisions       linked / review / unlinked from the thresholds and the runner-up
    blocking        blocking values as keyed hashes, kept for the registry in the warehouse
    tables          the warehouse tables the linkage fills

Identifiers are read here only inside the pipeline worker; nothing this room computes is
written in plaintext outside it.
"""
