"""haybale.service."""
