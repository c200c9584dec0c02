"""Cross-reference layer: every identifier a record mentions resolves within the feed."""

from __future__ import annotations

from collections.abc import Iterator

from ..entities import keys_by_collection
from ..enums import Entity
from .report import Finding
from .rules import RULES
from .semantics import Context

__all__ = ["check_references"]


def check_references(ctx: Context) -> Iterator[Finding]:
    """ref.*: plans, commitments, organizations, events, indicators and assessment targets resolve."""
    feed = ctx.feed
    known = keys_by_collection(feed)
    for entity, dropped in ctx.dropped_keys.items():
        known[entity] |= dropped  # Already reported by the schema layer; do not report twice.
    plans, commitments = known[Entity.ACTION_PLANS], known[Entity.COMMITMENTS]
    organizations, events = known[Entity.ORGANIZATIONS], known[Entity.PARTICIPATION_EVENTS]
    indicators = known[Entity.INDICATORS]

    def refs(rule: str, pool: set[str], path: str, *values: str | None) -> Iterator[Finding]:
        for value in values:
            if value is not None and value not in pool:
                yield RULES[rule].at(path, id=value)

    def ref_list(rule: str, pool: set[str], path: str, values: list[str]) -> Iterator[Finding]:
        for position, value in enumerate(values):
            yield from refs(rule, pool, f"{path}[{position}]", value)

    for i, org in enumerate(feed.organizations):
        yield from refs("ref.organization", organizations, f"$.organizations[{i}].parent_id", org.parent_id)
    for i, plan in enumerate(feed.action_plans):
        for attribute in ("lead_unit_id", "forum_id", "monitoring_body_id"):
            path = f"$.action_plans[{i}].{attribute}"
            yield from refs("ref.organization", organizations, path, getattr(plan, attribute))
    for i, commitment in enumerate(feed.commitments):
        base = f"$.commitments[{i}]"
        yield from refs("ref.plan", plans, f"{base}.plan_id", commitment.plan_id)
        yield from refs("ref.commitment", commitments, f"{base}.parent_id", commitment.parent_id)
        path = f"{base}.lead_organization_id"
        yield from refs("ref.organization", organizations, path, commitment.lead_organization_id)
        path = f"{base}.supporting_organization_ids"
        yield from ref_list("ref.organization", organizations, path, commitment.supporting_organization_ids)
    for i, milestone in enumerate(feed.milestones):
        path = f"$.milestones[{i}].commitment_id"
        yield from refs("ref.commitment", commitments, path, milestone.commitment_id)
    for i, assessment in enumerate(feed.assessments):
        pool = known[assessment.target_entity.value]
        if assessment.target_id not in pool:
            yield RULES["ref.assessment_target"].at(
                f"$.assessments[{i}].target_id", id=assessment.target_id, entity=assessment.target_entity.value
            )
    for i, event in enumerate(feed.participation_events):
        base = f"$.participation_events[{i}]"
        yield from ref_list("ref.organization", organizations, f"{base}.organization_ids", event.organization_ids)
        yield from ref_list("ref.commitment", commitments, f"{base}.commitment_ids", event.commitment_ids)
    for i, item in enumerate(feed.inputs):
        yield from refs("ref.event", events, f"$.inputs[{i}].event_id", item.event_id)
        yield from ref_list("ref.commitment", commitments, f"$.inputs[{i}].commitment_ids", item.commitment_ids)
    for i, indicator in enumerate(feed.indicators):
        path = f"$.indicators[{i}].commitment_ids"
        yield from ref_list("ref.commitment", commitments, path, indicator.commitment_ids)
    for i, observation in enumerate(feed.observations):
        path = f"$.observations[{i}].indicator_code"
        yield from refs("ref.indicator", indicators, path, observation.indicator_code)
    for i, methodology in enumerate(feed.methodologies):
        path = f"$.methodologies[{i}].commitment_ids"
        yield from ref_list("ref.commitment", commitments, path, methodology.commitment_ids)
