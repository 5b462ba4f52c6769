"""CLI command group ``wandel users``: the users of the web app (add, list, set-role, set-zones,
disable, passwd), kept in the application state beside the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from wandel.cli._common import DbOption, out, resolve_db, run_cli, say, split_values
from wandel.errors import UserError
from wandel.i18n import tr
from wandel.store.state import User

if TYPE_CHECKING:
    from wandel.workflow.users import UserAdmin

__all__ = ["register", "users_app"]

users_app = typer.Typer(help="@cli.users.help", no_args_is_help=True)

StateOption = Annotated[
    str | None, typer.Option("--state", help="@setting.state", show_default=False)
]
NameArg = Annotated[str, typer.Argument(help="@cli.users.name", show_default=False)]
ZonesOption = Annotated[list[str] | None, typer.Option("--zones", help="@cli.users.zones")]
StdinOption = Annotated[bool, typer.Option("--password-stdin", help="@cli.users.password_stdin")]


def _admin(db: Path | None, state: str | None) -> UserAdmin:
    from wandel.store import Store
    from wandel.workflow.users import UserAdmin, open_state, state_path

    path = resolve_db(db)
    # the users belong to a store, and the zones a user gets must be zones of it: a store that
    # does not exist is refused before any state file is made beside it
    with Store.open(path, read_only=True) as store:
        known = set(store.zones()["zone"].astype(str))
    return UserAdmin(open_state(state_path(path, state)), actor="cli", known_zones=known)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt(tr("cli.users.prompt"), hide_input=True, prompt_suffix=": ")
    again = typer.prompt(tr("cli.users.prompt_again"), hide_input=True, prompt_suffix=": ")
    if first != again:
        raise UserError("@error.user.mismatch")
    return str(first)


def _said(user: User, key: str) -> None:
    say(key, name=user.name, role=user.role, zones=", ".join(user.zones) or "-")


def add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="@cli.users.role")] = "viewer",
    zones: ZonesOption = None,
    password_stdin: StdinOption = False,
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Add a user (the password is asked twice, or read from stdin)."""

    def run() -> None:
        admin = _admin(db, state)
        user = admin.add(name, role, split_values(zones), _password(password_stdin))
        _said(user, "cli.users.added")

    run_cli(run)


def list_users(db: DbOption = None, state: StateOption = None) -> None:
    """The users: name, role, zones, whether disabled (never a hash)."""

    def run() -> None:
        users: list[User] = _admin(db, state).list()
        table = Table(
            tr("cli.users.col_name"),
            tr("cli.users.col_role"),
            tr("cli.users.col_zones"),
            tr("cli.users.col_disabled"),
            title=tr("cli.users.title", n=len(users)),
        )
        for u in users:
            table.add_row(
                u.name,
                u.role,
                ", ".join(u.zones) or "-",
                tr("cli.users.yes" if u.disabled else "cli.users.no"),
            )
        out.print(table)

    run_cli(run)


def set_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help="@cli.users.role", show_default=False)],
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Give a user another role."""
    run_cli(lambda: _said(_admin(db, state).set_role(name, role), "cli.users.changed"))


def set_zones(
    name: NameArg,
    zones: Annotated[list[str], typer.Argument(help="@cli.users.zones", show_default=False)],
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Give a user other zones (AGS keys; a key covers the zones below it)."""
    run_cli(
        lambda: _said(_admin(db, state).set_zones(name, split_values(zones)), "cli.users.changed")
    )


def disable(
    name: NameArg,
    enable: Annotated[bool, typer.Option("--enable", help="@cli.users.enable")] = False,
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Disable a user (her logins end at once), or enable her again."""
    run_cli(
        lambda: _said(
            _admin(db, state).disable(name, disabled=not enable),
            "cli.users.enabled" if enable else "cli.users.disabled",
        )
    )


def passwd(
    name: NameArg,
    password_stdin: StdinOption = False,
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Set a user's password (her logins end)."""

    def run() -> None:
        admin = _admin(db, state)
        _said(admin.passwd(name, _password(password_stdin)), "cli.users.password_set")

    run_cli(run)


def register(app: typer.Typer) -> None:
    """Add the ``users`` command group to the Wandel CLI."""
    users_app.command("add", help="@cli.users.add")(add)
    users_app.command("list", help="@cli.users.list")(list_users)
    users_app.command("set-role", help="@cli.users.set_role")(set_role)
    users_app.command("set-zones", help="@cli.users.set_zones")(set_zones)
    users_app.command("disable", help="@cli.users.disable")(disable)
    users_app.command("passwd", help="@cli.users.passwd")(passwd)
    app.add_typer(users_app, name="users")
