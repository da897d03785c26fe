"""Sending one plain-text UTF-8 message through the configured SMTP server (standard library
smtplib; the hub runs on a government network whose relay needs no login)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from hub.casework.errors import DigestNotSent
from hub.settings import CaseworkSettings

TIMEOUT_SECONDS = 30


def send_mail(settings: CaseworkSettings, to: str, subject: str, body: str) -> None:
    host = settings.smtp_host or ""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body, charset="utf-8")
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DigestNotSent(f"{host}:{settings.smtp_port}", exc.__class__.__name__) from None
