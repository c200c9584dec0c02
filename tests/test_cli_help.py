"""Every command and option of the CLI says what it does, in Spanish first and English second."""

from __future__ import annotations

import click

from ogp_federation.cli import cli


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
    return found


def test_every_command_has_a_bilingual_summary() -> None:
    missing = [
        " ".join(path) for path, command in _commands(cli) if " / " not in (command.help or "").split("\n", 1)[0]
    ]
    assert missing == [], "first help line as «español / English»"


def test_every_option_and_argument_is_documented() -> None:
    missing = []
    for path, command in _commands(cli):
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.help and parameter.name not in ("help", "version"):
                missing.append(f"{' '.join(path)} {parameter.opts[0]}")
    assert missing == []
