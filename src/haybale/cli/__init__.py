"""The ``haybale`` command line (Typer). Entry point: :func:`haybale.cli.main.main`."""

__all__: list[str] = []
