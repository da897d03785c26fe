"""The loops: what the hub finds goes back to someone who acts, on a clock.

Correction requests to the department that owns a doubtful value, conditional-sharing
requests answered by the owner (an approval is an expiring grant the API enforces), cases of a
street office with referrals to departments, and the inbox, escalation and daily digest that
keep each item moving. The state lives in the state store (hub.state.casework_tables).
"""
