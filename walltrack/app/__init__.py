"""The Starlette application: webhooks, the JSON API and the live loop wiring."""
