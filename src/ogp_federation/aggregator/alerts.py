"""Alerts to a node's contact: once when it enters an error state, once when it recovers.

Sent by e-mail (SMTP settings) and/or to the node's webhook, in the background: a failing mail server
or webhook is logged and never slows harvesting. Webhooks go through the fetcher, so the SSRF guard and
its timeouts apply to them as to every node URL.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from ogp_federation.core.errors import OGPError

from .error_codes import describe_es
from .harvest.fetch import Fetcher
from .settings import AggregatorSettings

__all__ = ["Alert", "AlertSender"]

logger = logging.getLogger(__name__)
_TEXT_ES = {
    "failing": "no se pudo leer su feed",
    "invalid": "su feed no cumple el estándar",
    "quarantined": "una versión de su feed quedó en cuarentena para revisión",
    "ok": "su feed se volvió a leer correctamente",
}


@dataclass(frozen=True)
class Alert:
    """A state change of a node, for its contact."""

    cut: str
    name: str
    old_state: str | None
    new_state: str
    code: str | None
    message: str | None
    contact_email: str | None
    webhook_url: str | None

    def subject(self) -> str:
        """Spanish subject line."""
        return f"[ogp-federation] {self.name} ({self.cut}): {_TEXT_ES.get(self.new_state, self.new_state)}"

    def text(self) -> str:
        """Spanish body, with the error code when there is one."""
        detail = (
            f"\nProblema: {describe_es(self.code)}\nCódigo: {self.code}\nDetalle (en inglés): {self.message}"
            if self.code and self.new_state != "ok"
            else ""
        )
        return f"{self.subject()}\nEstado anterior: {self.old_state or '—'}; estado actual: {self.new_state}.{detail}\n"


class AlertSender:
    """Delivers alerts by e-mail and webhook (webhooks are the node operator's own URLs)."""

    def __init__(self, settings: AggregatorSettings, fetcher: Fetcher) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent: list[Alert] = []

    def dispatch(self, alert: Alert) -> None:
        """Send in the background."""
        task = asyncio.create_task(self.send(alert))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def send(self, alert: Alert) -> None:
        """Send now (used by dispatch and tests); ``sent`` lists every alert handled, delivered or not."""
        if alert.webhook_url:
            await self._post(alert, alert.webhook_url)
        if alert.contact_email and self.settings.smtp_host:
            try:
                await asyncio.to_thread(self._mail, alert)
            except (OSError, smtplib.SMTPException) as exc:
                logger.warning("e-mail alert for %s failed: %s", alert.cut, exc)
        self.sent.append(alert)

    async def _post(self, alert: Alert, url: str) -> None:
        payload = {
            "cut": alert.cut,
            "name": alert.name,
            "old_state": alert.old_state,
            "state": alert.new_state,
            "code": alert.code,
            "explanation_es": describe_es(alert.code),
            "message": alert.message,
            "text": alert.text(),
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

    def _mail(self, alert: Alert) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_sender
        message["To"] = alert.contact_email
        message["Subject"] = alert.subject()
        message.set_content(alert.text())
        with smtplib.SMTP(self.settings.smtp_host or "", self.settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    async def close(self) -> None:
        """Wait for pending alerts (the fetcher is closed by its owner)."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
