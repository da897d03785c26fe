"""The re-identification vault as the API and the CLI read it.

    store          the read copy of the vault and the key history, filled by the worker
    reveal         opening one resident's raw identifiers (audited, rate-limited by the API)
    access_report  a resident's right to know: who looked at their data, when, and why
"""
