"""Virtual learners, honest and cheating, and drivers that run them against proctor.

What a learner does over time (:mod:`.learner`, steered by a :class:`.scenarios.Behaviour`) is
kept apart from how it reaches the service (:mod:`.delivery`: clock skew, batching, loss,
duplicates) and from who answers (:class:`.learner.Gateway`: the engine driver runs the
scheduler in-process; an HTTP driver can implement the same protocol against the real API).
"""
