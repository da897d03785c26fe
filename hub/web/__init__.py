"""The console: people log in with a user name and password and do their work in a browser.

Accounts and sessions (accounts, sessions, tables), the pages of the street office (routes_*),
the message catalogs (i18n) and the locally served API documentation (docs).
"""
