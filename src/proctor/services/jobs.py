"""The names of the background tasks services enqueue (``uow.enqueue(NAME, *ids)``).

Services enqueue by name through the unit of work, after the commit, and never import the tasks
(proctor.workers registers a Celery task under each of these names; a test checks that they do).
"""

from __future__ import annotations

EVALUATE_SESSION = "proctor.evaluate_session"          # (session_id, now_iso)
EVALUATE_IDLE_SESSIONS = "proctor.evaluate_idle_sessions"  # (now_iso)
DELIVER_CALLBACK = "proctor.callbacks.deliver"         # (callback_id)
SWEEP_CALLBACKS = "proctor.callbacks.sweep"            # (now_iso)
PURGE_RECEIPTS = "proctor.maintenance.purge_receipts"  # (now_iso)
PURGE_PHOTOS = "proctor.evidence.purge"                # (now_iso)
ENROL_FACE = "proctor.vision.enrol_face"               # (enrolment_id, now_iso)
VERIFY_CHALLENGE = "proctor.vision.verify_challenge"   # (challenge_id, now_iso)
COUNTY_CHECK_SESSION = "proctor.county.check_session"  # (session_id, now_iso)
COUNTY_CHECK_DAYS = "proctor.county.check_days"        # (now_iso)
EVENT_PARTITIONS = "proctor.events.partitions"         # ()
GENERATE_DUE_REPORTS = "proctor.reports.generate_due"  # (now_iso)
RECONCILE = "proctor.reconcile"                        # (now_iso)

ALL = (EVALUATE_SESSION, EVALUATE_IDLE_SESSIONS, DELIVER_CALLBACK, SWEEP_CALLBACKS,
       PURGE_RECEIPTS, PURGE_PHOTOS, ENROL_FACE, VERIFY_CHALLENGE, COUNTY_CHECK_SESSION,
       COUNTY_CHECK_DAYS, EVENT_PARTITIONS, GENERATE_DUE_REPORTS, RECONCILE)
