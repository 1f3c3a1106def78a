"""The stages hand on frozen objects: the plan is computed once and is what the search runs."""

import dataclasses
import io

import pytest

from skkeras_search.cli._args import build_parser
from skkeras_search.cli._execute import execute
from skkeras_search.cli._inputs import read_inputs
from skkeras_search.cli._plan import expected_fits, make_plan


def _stages(tmp_path, *flags):
    argv = [*flags, "--cv", "2", "-q", "--out", str(tmp_path)]
    args = build_parser().parse_args(argv)
    before = vars(args).copy()
    inputs = read_inputs(args, argv, io.StringIO())
    plan = make_plan(inputs)
    assert vars(args) == before  # args is read, never rewritten
    return inputs, plan


def test_inputs_and_plan_are_frozen(tmp_path):
    inputs, plan = _stages(tmp_path, "--n-iter", "3", "--batch-size", "32", "--sep", "tab")
    assert inputs.batch_size == 32 and inputs.sep == "\t" and inputs.args.batch_size == "32"
    for stage in (inputs, plan):
        with pytest.raises(dataclasses.FrozenInstanceError):
            stage.space = {}
    assert plan.n_candidates == 3 and plan.total_fits == 6 and plan.rounds == ()
    assert plan.banner.endswith("random search: 3 candidates (30 epochs each), 2 folds, 6 fits.")


@pytest.mark.parametrize("strategy, epochs", [("halving", 9), ("hyperband", 9), ("bohb", 3)])
def test_the_plan_counts_the_search_wings_brackets(tmp_path, strategy, epochs):
    _, plan = _stages(tmp_path, "--strategy", strategy, "--epochs", str(epochs))
    assert not hasattr(plan.search, "brackets_")  # unfitted: the execute stage fits it
    assert plan.rounds[0] == ((9, 3, 1) if epochs == 9 else (3, 1))  # Li et al.'s first bracket
    assert plan.total_fits == expected_fits(strategy, 20, 2, epochs, plan.space)
    assert plan.n_candidates == sum(r[0] for r in plan.rounds)


def test_the_plans_folds_are_the_ones_the_search_scores_on(tmp_path):
    inputs, plan = _stages(tmp_path, "--strategy", "halving", "--epochs", "1")
    outcome = execute(inputs, plan, io.StringIO())
    assert outcome.status == "finished"
    assert outcome.search.cv_splits_digest_ == plan.cv_digest
    assert len(outcome.fits) == plan.total_fits == 2
