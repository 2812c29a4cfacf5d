"""Logging: plain lines for the app, bare JSON lines for the audit log."""

from __future__ import annotations

import logging
import sys

from bot.audit_log import audit_logger


def configure_logging(level: str = "INFO", *, audit: bool = True) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    # httpx logs every request URL at INFO; ours are fine, but nobody needs them line by line.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not any(getattr(h, "coupons_audit", False) for h in audit_logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.coupons_audit = True  # type: ignore[attr-defined]
        audit_logger.addHandler(handler)
    # The terminal preview keeps stdout for the message itself.
    audit_logger.setLevel(logging.INFO if audit else logging.WARNING)
    audit_logger.propagate = False
