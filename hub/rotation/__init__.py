"""Key rotation: `hub keys rotate vault|pseudonym` (hub.rotation.run).

    state        meta.key_rotations: the rotation's state, the worker's refusal mid-rotation
    keyfiles     the new key beside the old (`<name>.next`), fingerprints, the final rename
    passes       chunked, resumable copies through the `rotation` work schema
    transforms   what one chunk computes (the only place raw values exist)
    switch       checks before the switch, and the one switching transaction
    followups    republish, quality findings, vault store after the switch

Kept import-light: the pipeline worker imports hub.rotation.state on every open.
"""
