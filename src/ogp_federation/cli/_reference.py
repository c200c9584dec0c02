"""``docs/cli.md``: every command's help, generated from the click definitions (checked by CI)."""

from __future__ import annotations

import click

__all__ = ["cli_reference", "settings_document"]


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


def settings_document() -> str:
    """``docs/settings.md``: every setting of the node and of the aggregator, from their structures."""
    from ogp_federation.aggregator.common.settings import ENV_PREFIX as AGGREGATOR_PREFIX  # noqa: PLC0415
    from ogp_federation.aggregator.common.settings import AggregatorSettings  # noqa: PLC0415
    from ogp_federation.core.settings_docs import settings_reference  # noqa: PLC0415
    from ogp_federation.node.settings import ENV_FIELDS, ENV_PREFIX, NodeSettings  # noqa: PLC0415

    return (
        "\n".join(
            [
                "# Configuración / settings",
                "",
                "Generado desde las estructuras de configuración (`ogp-federation feed docs`); no editar a mano.",
                "Generated from the settings structures; do not edit by hand.",
                "",
                "## Nodo comunal / commune node",
                "",
                "`node.toml` (written by `ogp-federation node init`), section `[node]`. The variables listed",
                "override the file; the other settings are set in the file only.",
                "",
                settings_reference(NodeSettings, section="node", env_prefix=ENV_PREFIX, env_fields=ENV_FIELDS),
                "## Agregador / aggregator",
                "",
                "A TOML file given with `--config` (or `OGP_AGG_CONFIG`), section `[aggregator]`; every setting can",
                "also be set by its variable, which wins over the file. Lists are comma-separated in a variable.",
                "",
                settings_reference(AggregatorSettings, section="aggregator", env_prefix=AGGREGATOR_PREFIX),
            ]
        ).rstrip()
        + "\n"
    )
