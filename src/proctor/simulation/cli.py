"""``proctor simulate``: virtual learners against the engine, and the confusion matrix."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from proctor.domain.policy import load_policy
from proctor.simulation.engine_driver import run_simulation
from proctor.simulation.report import SHORT, matrix, to_markdown

app = typer.Typer(help="Simulate honest and cheating learners and score the rules.")


@app.command()
def simulate(
    honest: int = typer.Option(1000, help="honest sittings"),
    cheats: int = typer.Option(20, help="sittings of each cheat scenario"),
    seed: int = typer.Option(1, help="random seed (runs are reproducible)"),
    driver: str = typer.Option("engine", help="engine (rules in-process) or http (the signed "
                               "API in-process, on its own database, in simulated time)"),
    policy: str = typer.Option("henan-2021", help="policy name or path"),
    markdown: Path | None = typer.Option(None, help="also write the matrix here"),
    database_url: str | None = typer.Option(
        None, help="http driver: a migrated, disposable database (default: a temporary SQLite)"),
) -> None:
    """Run the scenarios, print the confusion matrix; exit 1 on a miss or a false flag."""
    if driver not in ("engine", "http"):
        raise typer.BadParameter("engine or http", param_hint="--driver")
    pol = load_policy(policy)
    t0 = time.perf_counter()
    if driver == "http":
        from proctor.simulation.http_driver import run_http_simulation

        results = run_http_simulation(honest, cheats, seed, pol, database_url=database_url,
                                      policy_name=policy)
    else:
        results = run_simulation(honest, cheats, seed, pol)
    rows = matrix(results)
    table = to_markdown(rows)
    typer.echo(table)
    legend = ", ".join(f"{v}={k}" for k, v in SHORT.items())
    typer.echo(f"\n{legend}\npolicy {pol.id} v{pol.version}, seed {seed}, "
               f"{time.perf_counter() - t0:.1f} s")
    if markdown is not None:
        markdown.write_text(table + "\n")
    bad = [r.scenario for r in rows if not r.ok]
    if bad:
        typer.echo(f"NOT OK: {', '.join(bad)}", err=True)
        raise typer.Exit(1)
    typer.echo("OK: every cheat caught by its rule, no honest sitting flagged")
