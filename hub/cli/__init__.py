"""The `hub` command line: the typer app (`main`), one module per command group (catalog and
quality, keys, token and audit, export, access report), the demo runner (`demo`) and what every
command shares (`terminal`: settings or a clean exit, the progress bar)."""
