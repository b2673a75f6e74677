"""The example course page (/demo/player): a lesson studied end to end with @proctor/player.

The page plays a lesson video the project makes from the real Hamilton clip (media.py), and
its small "platform backend" (routes.py) does what a course platform's backend must do:
register the course and the learner, take the enrolment photo, open the session and hand the
session token to the page. Here it calls the services in-process; a platform calls the signed
API (docs/sdk.md).
"""
