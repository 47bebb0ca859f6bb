"""Test harness shared by every test: real processes, real PostgreSQL, real Chromium."""
