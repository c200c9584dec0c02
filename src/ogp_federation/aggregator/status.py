"""Federation health: each node's state for the public status page and its JSON twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from ogp_federation.core.db import Database

from .error_codes import describe_es
from .models import Commune, Node

__all__ = ["render_status", "status_rows"]

_environment = Environment(
    loader=PackageLoader("ogp_federation.aggregator", "templates"), autoescape=select_autoescape(default=True)
)
STATE_ES = {
    "never_harvested": "Nunca cosechado",
    "ok": "Al día",
    "stale": "Desactualizado",
    "failing": "Con fallas",
    "invalid": "Feed inválido",
    "quarantined": "En cuarentena",
    "removed": "Dado de baja",
    "not_publishing": "No publica",
}


async def status_rows(db: Database, stale_factor: float) -> list[dict[str, Any]]:
    """One row per commune (346), with its node's health when it has one."""
    now = datetime.now(UTC)
    async with db.sessions() as session:
        rows = (
            await session.execute(select(Commune, Node).outerjoin(Node, Node.cut == Commune.cut).order_by(Commune.cut))
        ).all()
    out = []
    for commune, node in rows:
        state = "not_publishing" if node is None else node.state
        late = (
            node is not None
            and node.last_success_at is not None
            and (now - node.last_success_at > timedelta(seconds=node.poll_interval * stale_factor))
        )
        if state == "ok" and late:
            state = "stale"
        out.append(
            {
                "cut": commune.cut,
                "name": commune.name,
                "region": commune.region,
                "state": state,
                "state_es": STATE_ES.get(state, state),
                "sequence": node.sequence if node else None,
                "last_success_at": node.last_success_at.isoformat() if node and node.last_success_at else None,
                "last_error": (
                    {
                        "code": node.last_error_code,
                        "explanation_es": describe_es(node.last_error_code),
                        "message": node.last_error_message,
                        "at": node.last_error_at.isoformat() if node.last_error_at else None,
                    }
                    if node and node.last_error_code
                    else None
                ),
                "failing_since": node.failing_since.isoformat() if node and node.failing_since else None,
                "last_time_to_fix_seconds": node.last_fix_seconds if node else None,
            }
        )
    return out


def render_status(rows: list[dict[str, Any]]) -> str:
    """The Spanish status page."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    published = [row for row in rows if row["state"] != "not_publishing"]
    return _environment.get_template("status.html").render(
        rows=published, counts=counts, total=len(rows), states=STATE_ES, now=datetime.now(UTC)
    )
