"""The console: people log in with a user name and password and do their work in a browser.

Accounts and sessions (accounts, sessions, state), one router per kind of work: the street
office (routes_residents, routes_grids), department clerks (routes_uploads), quality and the
audit log (routes_quality, routes_audit), administrators (routes_admin); the navigation of
each role (nav), the message catalogs (i18n) and the locally served API documentation (docs).
"""
