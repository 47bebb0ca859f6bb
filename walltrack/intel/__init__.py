"""Research logic: token discovery and surveillance, wallet discovery, profiling, decay,
watchlist, clusters."""
