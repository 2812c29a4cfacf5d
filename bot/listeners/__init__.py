"""Bolt listeners, one `register(app)` per kind, as in Slack's starter template."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events


def register_listeners(app: App) -> None:
    commands.register(app)
    actions.register(app)
    events.register(app)
