"""The county's view across institutions (issue 14): persons, exams, facts, signals, cases, risk.

See docs/county.md. Pure rules live in proctor.domain.county; this package gathers their inputs
and stores what they return.
"""
