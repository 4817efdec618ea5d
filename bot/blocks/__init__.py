"""Block Kit builders: pure functions from view objects to message dicts, within Slack's limits."""
