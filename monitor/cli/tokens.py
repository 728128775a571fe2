"""`fenghuo token …`: API tokens with roles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.base import app, console, errors, migrated_sessions, settings_or_exit
from monitor.clock import SystemClock

token_app = typer.Typer(help="API tokens: viewer reads, operator does duty actions, admin configures.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what uses it (recorded on its duty actions)")],
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
) -> None:
    """Create a token and print it once: only its hash is stored."""
    from monitor.db.tokens import TokenError, create_token

    sessions = migrated_sessions(settings_or_exit())
    try:
        with sessions.begin() as session:
            token = create_token(session, name=name, role=role, now=SystemClock().now())
    except TokenError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"token for {name} ({role}); store it now, it is not shown again:")
    console.print(token, highlight=False, markup=False)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name")]) -> None:
    """Revoke a token at once; requests with it get 401."""
    from monitor.db.tokens import TokenError, revoke_token

    sessions = migrated_sessions(settings_or_exit())
    try:
        with sessions.begin() as session:
            revoke_token(session, name=name, now=SystemClock().now())
    except TokenError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"token {name} revoked")


@token_app.command("list")
def token_list() -> None:
    """Tokens by name and role (never the secrets)."""
    from monitor.db.tokens import list_tokens

    with migrated_sessions(settings_or_exit())() as session:
        tokens = list_tokens(session)
    table = Table("name", "role", "created (UTC)", "revoked (UTC)")
    for token in tokens:
        table.add_row(token.name, token.role, f"{token.created_at:%Y-%m-%d %H:%M}",
                      f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "")
    console.print(table)
