"""The examples in the docstrings run and print what they say."""

import doctest

import pytest

import skkeras_search.mlp._classifier
import skkeras_search.mlp._regressor
import skkeras_search.persistence
import skkeras_search.space


@pytest.mark.slow
@pytest.mark.parametrize(
    "module", [skkeras_search.mlp._classifier, skkeras_search.mlp._regressor, skkeras_search.space,
               skkeras_search.persistence]
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if module is not skkeras_search.persistence:  # its examples need a saved model: skipped
        assert result.attempted > 0
