"""haybale.testing."""
