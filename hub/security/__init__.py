"""Access control of the hub: roles, bearer tokens, purposes and the deny-by-default rules."""
