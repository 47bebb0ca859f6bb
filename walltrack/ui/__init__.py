"""Helpers the notebooks share: store access, status views, tables and charts."""
