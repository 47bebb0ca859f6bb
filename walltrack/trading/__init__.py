"""The trading engine: gates, sizing, risk, exits, orders, execution."""
