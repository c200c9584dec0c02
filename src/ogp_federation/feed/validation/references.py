"""Cross-reference layer: every identifier a record mentions resolves within the feed."""

from __future__ import annotations

from collections.abc import Iterator

from ogp_federation.feed.entities import keys_by_collection
from ogp_federation.feed.enums import Entity

from .report import Finding
from .rules import RULES
from .semantics import Context

__all__ = ["REFERENCES", "check_references"]

# (collection, attribute, rule, collection referred to). List attributes are checked item by item.
REFERENCES: tuple[tuple[Entity, str, str, Entity], ...] = (
    (Entity.ORGANIZATIONS, "parent_id", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.ACTION_PLANS, "lead_unit_id", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.ACTION_PLANS, "forum_id", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.ACTION_PLANS, "monitoring_body_id", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.COMMITMENTS, "plan_id", "ref.plan", Entity.ACTION_PLANS),
    (Entity.COMMITMENTS, "parent_id", "ref.commitment", Entity.COMMITMENTS),
    (Entity.COMMITMENTS, "lead_organization_id", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.COMMITMENTS, "supporting_organization_ids", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.MILESTONES, "commitment_id", "ref.commitment", Entity.COMMITMENTS),
    (Entity.PARTICIPATION_EVENTS, "organization_ids", "ref.organization", Entity.ORGANIZATIONS),
    (Entity.PARTICIPATION_EVENTS, "commitment_ids", "ref.commitment", Entity.COMMITMENTS),
    (Entity.INPUTS, "event_id", "ref.event", Entity.PARTICIPATION_EVENTS),
    (Entity.INPUTS, "commitment_ids", "ref.commitment", Entity.COMMITMENTS),
    (Entity.INDICATORS, "commitment_ids", "ref.commitment", Entity.COMMITMENTS),
    (Entity.OBSERVATIONS, "indicator_code", "ref.indicator", Entity.INDICATORS),
    (Entity.METHODOLOGIES, "commitment_ids", "ref.commitment", Entity.COMMITMENTS),
)


def check_references(ctx: Context) -> Iterator[Finding]:
    """ref.*: plans, commitments, organizations, events, indicators and assessment targets resolve."""
    known = keys_by_collection(ctx.feed)
    for entity, dropped in ctx.dropped_keys.items():
        known[entity] |= dropped  # Already reported by the schema layer; do not report twice.
    for collection, attribute, rule, target in REFERENCES:
        pool = known[target]
        for index, record in enumerate(getattr(ctx.feed, collection)):
            value = getattr(record, attribute)
            path = f"$.{collection}[{index}].{attribute}"
            if isinstance(value, list):
                for position, item in enumerate(value):
                    if item not in pool:
                        yield RULES[rule].at(f"{path}[{position}]", id=item)
            elif value is not None and value not in pool:
                yield RULES[rule].at(path, id=value)
    for index, assessment in enumerate(ctx.feed.assessments):
        if assessment.target_id not in known[assessment.target_entity]:
            yield RULES["ref.assessment_target"].at(
                f"$.assessments[{index}].target_id", id=assessment.target_id, entity=assessment.target_entity.value
            )
