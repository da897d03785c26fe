"""The hub's keys: where they come from, and what records their changes.

    config           loading and checking the four keys (`hub keys init`, `hub keys check`)
    history          sealed history of pseudonyms across pseudonym-key rotations
    rotation_state   meta.key_rotations: each rotation's state; the worker's refusal mid-rotation
    rotation_errors  errors of a key rotation

Rotating a key is hub.rotation; it sits above the pipeline worker, these modules below it.
"""
