"""Safe releases: de-identified extracts of one dataset for auditors and researchers.

    export       one release from the warehouse to its files (`hub export`, export jobs)
    source_rows  the current curated rows a release starts from, with their geography
    report       the release's report, as JSON and as an offline HTML page
    files        the file names of a release (light: the API finds files without pandas)
    jobs         export jobs queued by the API and run by the pipeline worker
    errors       errors of writing a release (the release rules: desensitize.release)
"""
