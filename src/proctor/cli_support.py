"""What every `proctor …` command module shares: a unit of work on the configured database, and
a domain error turned into one line on stderr with exit status 2."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from proctor.storage.db import UnitOfWork


def open_uow() -> AbstractContextManager[UnitOfWork]:
    """A unit of work whose jobs go where the configured settings send them."""
    from proctor.config import get_settings
    from proctor.storage.db import unit_of_work
    from proctor.workers.dispatch import factory_for

    return unit_of_work(factory_for(get_settings()))


@contextlib.contextmanager
def domain_errors_exit() -> Iterator[None]:
    """Print a ProctorError's message as ``error: …`` and exit 2 (a refused request, not a crash)."""
    from proctor.domain.errors import ProctorError

    try:
        yield
    except ProctorError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
