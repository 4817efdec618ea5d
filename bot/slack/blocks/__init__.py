"""Block Kit builders: pure ``build_*`` functions from service outcomes to message dicts.

All the bot's wording lives here, within Slack's limits (``kit`` holds the shared pieces).
"""
