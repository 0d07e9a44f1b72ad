"""The exception hierarchy: one base class, user mistakes distinct from runtime failures."""

import pytest

from haybale import errors


def test_every_error_derives_from_haybale_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.HaybaleError)


def test_specific_relationships():
    assert issubclass(errors.PipelineComponentsBlockedError, errors.PipelineRuntimeError)
    assert issubclass(errors.DuplicateDocumentError, errors.DocumentStoreError)
    assert issubclass(errors.DeserializationError, errors.SerializationError)
    assert issubclass(errors.FilterError, ValueError)
    assert not issubclass(errors.PipelineConnectError, errors.PipelineRuntimeError)


def test_runtime_error_names_component_and_visit():
    err = errors.PipelineRuntimeError("boom", component_name="llm", visit=2)
    assert (err.component_name, err.visit) == ("llm", 2)


def test_missing_dependency_names_the_extra():
    err = errors.MissingDependencyError.for_extra("psycopg", "pg", "PgvectorDocumentStore")
    assert isinstance(err, ImportError)
    with pytest.raises(ImportError, match=r"pip install 'haybale\[pg\]'"):
        raise err
