"""The county's view across institutions (issue 14): pure rules, values in, values out.

- person.py: one person across institutions, keyed by an HMAC of the resident ID number.
- policy.py: the `[county]` table of the policy file (thresholds of every signal).
- exams.py: recorded exams (结业考核), exam windows and the one-month rule across institutions.
- signals.py: the cross-institution signal rules, each returning findings with evidence.
"""
