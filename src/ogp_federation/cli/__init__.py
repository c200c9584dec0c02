"""The ``ogp-federation`` command line: one group per bounded context."""

from __future__ import annotations

import click

from ogp_federation import __version__

from .aggregator import aggregator
from .demo import demo
from .feed import feed
from .keys import keys
from .messages import messages
from .node import node
from .node_check import check_command
from .node_drafts import adopt_command, draft_group

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ogp-federation")
def cli() -> None:
    """Federación de planes locales de Gobierno Abierto / Open Government plan federation."""


cli.add_command(feed)
cli.add_command(keys)
cli.add_command(demo)
node.add_command(adopt_command)
node.add_command(check_command)
node.add_command(draft_group)
cli.add_command(node)
cli.add_command(aggregator)
cli.add_command(messages)


def main() -> None:
    """Console entry point."""
    cli(prog_name="ogp-federation")
