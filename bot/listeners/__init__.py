"""Bolt listeners, one `register(app, services)` per kind, as in Slack's starter template."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
    shortcuts.register(app, services)
