"""haybale.tracing."""
