"""The county's pages in the portal (issue 14): cases with evidence, a person across
institutions, exams recorded by the county, institution risk. Hooked into the portal with one
``include_router`` line (portal/app.py); templates in templates/county/.

Who sees what: county reviewers (their counties' institutions) and administrators see and
decide; auditors read with ID numbers masked; institution staff never reach the county's view
(every page is a 404 for them, as anything outside a scope is).
"""

from proctor.portal.county.routes import router

__all__ = ["router"]
