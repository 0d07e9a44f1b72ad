"""Shipped components, one sub-package per role: ``from haybale.components.<role> import <Name>``."""

__all__: list[str] = []
