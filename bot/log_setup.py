"""Logging: plain lines for the app, bare JSON lines for the audit log."""

from __future__ import annotations

import logging
import sys

from bot.audit_log import audit_logger


def configure_logging(level: str = "INFO", *, audit: bool = True) -> None:
    # Libraries log at WARNING whatever our level: at DEBUG, Bolt and slack_sdk would log whole payloads,
    # coupon codes included.
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.getLogger("bot").setLevel(level)
    if not any(getattr(h, "coupons_audit", False) for h in audit_logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.coupons_audit = True  # type: ignore[attr-defined]
        audit_logger.addHandler(handler)
    # The terminal preview keeps stdout for the message itself.
    audit_logger.setLevel(logging.INFO if audit else logging.WARNING)
    audit_logger.propagate = False
