"""haybale.evaluation."""
