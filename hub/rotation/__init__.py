"""Key rotation: `hub keys rotate vault|pseudonym` (hub.rotation.run).

    keyfiles     the new key beside the old (`<name>.next`), fingerprints, the final rename
    passes       chunked, resumable copies through the `rotation` work schema
    transforms   what one chunk computes (the only place raw values exist)
    switch       checks before the switch, and the one switching transaction
    followups    republish, quality findings, vault store after the switch

The record of each rotation (meta.key_rotations) and the rotation errors live in hub.keys, below
the pipeline worker, which refuses to open while a rotation is half done.
"""
