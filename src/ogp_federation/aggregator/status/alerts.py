"""Alerts to a node's contact: once when it enters an error state, once when it recovers.

Sent by e-mail (SMTP settings) and/or to the node's webhook, in the background: a failing mail server
or webhook is logged and never slows harvesting. Webhooks go through the fetcher, so the SSRF guard and
its timeouts apply to them as to every node URL.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from ogp_federation.aggregator.common import AggregatorSettings, describe_es
from ogp_federation.aggregator.harvest import StateChange
from ogp_federation.aggregator.net import Fetcher
from ogp_federation.core.errors import OGPError

__all__ = ["AlertSender", "subject", "text"]

logger = logging.getLogger(__name__)
_TEXT_ES = {
    "failing": "no se pudo leer su feed",
    "invalid": "su feed no cumple el estándar",
    "quarantined": "una versión de su feed quedó en cuarentena para revisión",
    "ok": "su feed se volvió a leer correctamente",
}


def subject(change: StateChange) -> str:
    """The Spanish subject line of an alert."""
    return f"[ogp-federation] {change.name} ({change.cut}): {_TEXT_ES.get(change.new_state, change.new_state)}"


def text(change: StateChange) -> str:
    """The Spanish body of an alert, with the error code when there is one."""
    detail = (
        f"\nProblema: {describe_es(change.code)}\nCódigo: {change.code}\nDetalle (en inglés): {change.message}"
        if change.code and change.new_state != "ok"
        else ""
    )
    return (
        f"{subject(change)}\nEstado anterior: {change.old_state or '—'}; estado actual: {change.new_state}.{detail}\n"
    )


class AlertSender:
    """Delivers alerts by e-mail and webhook (webhooks are the node operator's own URLs)."""

    def __init__(self, settings: AggregatorSettings, fetcher: Fetcher) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent: list[StateChange] = []

    def dispatch(self, alert: StateChange) -> None:
        """Send in the background."""
        task = asyncio.create_task(self.send(alert))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def send(self, alert: StateChange) -> None:
        """Send now (used by dispatch and tests); ``sent`` lists every alert handled, delivered or not."""
        if alert.webhook_url:
            await self._post(alert, alert.webhook_url)
        if alert.contact_email and self.settings.smtp_host:
            try:
                await asyncio.to_thread(self._mail, alert)
            except (OSError, smtplib.SMTPException) as exc:
                logger.warning("e-mail alert for %s failed: %s", alert.cut, exc)
        self.sent.append(alert)

    async def _post(self, alert: StateChange, url: str) -> None:
        payload = {
            "cut": alert.cut,
            "name": alert.name,
            "old_state": alert.old_state,
            "state": alert.new_state,
            "code": alert.code,
            "explanation_es": describe_es(alert.code),
            "message": alert.message,
            "text": text(alert),
        }
        try:
            status = await self.fetcher.post_json(url, payload)
        except OGPError as exc:
            logger.warning("webhook alert for %s failed: [%s] %s", alert.cut, exc.code, exc.describe("en"))
            return
        except Exception:  # a bug: logged, and it never stops the other alerts
            logger.exception("webhook alert for %s failed", alert.cut)
            return
        if not 200 <= status < 300:
            logger.warning("webhook alert for %s answered HTTP %s", alert.cut, status)

    def _mail(self, alert: StateChange) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_sender
        message["To"] = alert.contact_email
        message["Subject"] = subject(alert)
        message.set_content(text(alert))
        with smtplib.SMTP(self.settings.smtp_host or "", self.settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    async def close(self) -> None:
        """Wait for pending alerts (the fetcher is closed by its owner)."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
