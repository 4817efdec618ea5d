"""The local Slack: one stand-in for Slack's Web API, response_urls and Socket Mode, and a client that
sends the app signed requests as Slack does. Tests, benchmarks and the (coming) browser playground
all use this one package; nothing in the app is patched to talk to it (``SLACK_API_URL`` points here).
"""
