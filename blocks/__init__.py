"""Pure functions from domain objects to Block Kit JSON: no I/O, no Slack client."""
