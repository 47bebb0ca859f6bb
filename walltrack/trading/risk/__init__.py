"""Risk protections and the manager that combines them (docs/risk.md)."""
