"""The live signal server: inbox, sources, scoring, token data (docs/live.md)."""
