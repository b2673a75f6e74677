"""The simulator over the signed HTTP API (in-process, simulated time): a handful of learners.

On each backend (the `database_url` fixture: SQLite and PostgreSQL). Short lessons keep it
quick; the full run (`proctor simulate --driver http`) is in docs/simulation.md.
"""

from __future__ import annotations

from proctor.domain.policy import load_policy
from proctor.simulation.http_driver import run_http_simulation
from proctor.simulation.report import matrix, to_markdown
from proctor.simulation.scenarios import SCENARIOS

POLICY = load_policy("henan-2021")
# cheats whose evidence lives in different places: the play head, a second session, the
# course's lesson order, the face pipeline, the arrival clock
CHEATS = ["hidden_seek_playing", "two_tabs", "out_of_order_lesson", "replayed_liveness",
          "fabricated_upload"]


def test_http_driver_judges_honest_and_cheating_learners(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    names = CHEATS if sqlite else CHEATS[:2]  # PostgreSQL: fewer, the path is the same
    results = run_http_simulation(3 if sqlite else 2, 1, seed=4, policy=POLICY,
                                  database_url=database_url,
                                  scenarios=[SCENARIOS[n] for n in names], lesson_s=(600, 720))
    rows = matrix(results)
    table = to_markdown(rows)
    by_name = {r.scenario: r for r in rows}
    assert by_name["honest"].valid == by_name["honest"].n >= 2, table
    for name in names:
        assert by_name[name].ok, table
    # verdicts come back through GET /v1/sessions/{id}/verdict with the policy that made them
    assert {r.verdict.policy_id for r in results} == {"henan-2021"}
    assert all(r.events > 50 for r in results if r.scenario == "honest")


def test_a_skipped_photo_in_a_short_lesson_is_named_random_photo() -> None:
    """Issue 10: lessons shorter than a class hour used to say POPUP_GAP only."""
    results = run_http_simulation(0, 2, seed=4, policy=POLICY,
                                  scenarios=[SCENARIOS["skipped_photo"]], lesson_s=(600, 720))
    assert results
    for r in results:
        assert r.verdict.status == "invalid"
        assert "RANDOM_PHOTO" in {v.rule for v in r.verdict.violations}, r.verdict.violations


def test_honest_learners_whose_clock_is_ten_minutes_off_are_valid() -> None:
    """Issue 10, item 7: the client's clock ±10 min on every field it sends (event times and
    confirm answers' answered_at); judged by the server's receive time, they stay valid."""
    names = ["honest_clock_fast", "honest_clock_slow"]
    results = run_http_simulation(0, 2, seed=4, policy=POLICY,
                                  scenarios=[SCENARIOS[n] for n in names], lesson_s=(600, 720))
    assert len(results) == 4
    assert all(r.verdict.status == "valid" for r in results), to_markdown(matrix(results))
