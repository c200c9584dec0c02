"""``docs/cli.md``: every command's help, generated from the click definitions (checked by CI)."""

from __future__ import annotations

import click

__all__ = ["cli_reference"]


def cli_reference(root: click.Group, name: str = "ogp-federation") -> str:
    """Markdown with the ``--help`` of every command, in a fixed width so the file is reproducible."""
    lines = [
        f"# `{name}` — referencia de comandos / command reference",
        "",
        "Generado desde el código (`ogp-federation feed docs`); no editar a mano.",
        "",
    ]

    def visit(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        settings = {**command.context_settings, "terminal_width": 100, "max_content_width": 100}
        context = click.Context(command, info_name=path[-1], parent=parent, **settings)
        lines.extend([f"## `{' '.join(path)}`", "", "```text", command.get_help(context).rstrip(), "```", ""])
        if isinstance(command, click.Group):
            for sub in sorted(command.list_commands(context)):
                child = command.get_command(context, sub)
                if child is not None and not child.hidden:
                    visit(child, [*path, sub], context)

    visit(root, [name], None)
    return "\n".join(lines).rstrip() + "\n"
