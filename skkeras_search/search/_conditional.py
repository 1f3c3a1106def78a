"""Search spaces for the model-based samplers: one dict, or a conditional list of dicts.

scikit-learn writes a conditional space as a list of dicts (``RandomizedSearchCV``
since 0.22): each dict is a *branch*, a candidate takes its parameters from one
branch, and ``cv_results_`` masks the parameters of the other branches. For
Optuna's TPE such a space is a categorical parameter over the branch indices
(:data:`BRANCH`) followed, define-by-run, by the chosen branch's own
parameters; ``TPESampler(group=True)`` then models the parameters that occur
together (a branch's) jointly, each group on the trials that hold it (Optuna's
group decomposition). A single dict is asked exactly as before, all of its
parameters at once, so its candidates do not change.

Names. A parameter that several branches hold with the same distribution (same
bounds; for lists, the same choices) is one Optuna parameter under its own
name, so TPE learns it from every branch. Where branches give it different
distributions, each such branch has its own Optuna parameter ``name@i`` (``i``:
the branch's index) and candidates decode it back to ``name``. The estimator
sees only its own names.

Rows back to branches. Past rows hold only their branch's parameters, so a row
is credited to the first branch whose parameter names are exactly the row's
(names outside the space, such as a multi-fidelity search's budget, are
dropped first unless ``strict``) and whose distributions contain its values.
Branches that overlap (same names, overlapping ranges) are ambiguous: such a
row is credited to the first of them.
"""

from collections.abc import Mapping

from skkeras_search.search._candidates import candidate_key, check_not_empty, unseen
from skkeras_search.search._optuna_space import dimension, n_points

__all__ = ["BRANCH", "SearchSpace", "search_space", "grid"]

#: The Optuna name of a conditional space's branch choice ('@' is in no parameter name).
BRANCH = "@branch"


def search_space(param_distributions, owner):
    """The :class:`SearchSpace` of a dict or a list of dicts; refuse what TPE cannot model.

    Parameters
    ----------
    param_distributions : dict or list of dicts
        As for ``RandomizedSearchCV``; ``{}`` (or a ``{}`` branch) is the
        estimator as given. A list of one dict is that dict.
    owner : str
        Who asks, for messages (``"TPESearchCV"``).

    Returns
    -------
    space : SearchSpace

    Raises
    ------
    ValueError
        For an empty list, a branch that is not a dict, or a distribution TPE
        cannot model (the message names the branch and the parameter).
    """
    if isinstance(param_distributions, Mapping):
        return SearchSpace([_branch(param_distributions, owner, None)], conditional=False)
    if not param_distributions:
        check_not_empty(param_distributions, owner)  # the error naming param_distributions
    for i, space in enumerate(param_distributions):
        if not isinstance(space, Mapping):
            raise ValueError(f"param_distributions[{i}]={space!r} is not a dict. Give each "
                             "branch of a conditional space as a dict of distributions.")
    if len(param_distributions) == 1:
        return SearchSpace([_branch(param_distributions[0], owner, 0)], conditional=False)
    branches = [_branch(space, owner, i) for i, space in enumerate(param_distributions)]
    return SearchSpace(_rename_differing(branches), conditional=True)


def _branch(space, owner, index):
    where = (lambda name: f"param_distributions[{name!r}]") if index is None else \
        (lambda name: f"param_distributions[{index}][{name!r}]")
    return {name: dimension(name, value, owner, where(name)) for name, value in space.items()}


def _same(a, b):
    if (a.kind, a.distribution) != (b.kind, b.distribution):
        return False
    return a.kind != "categorical" or \
        [candidate_key({"": c}) for c in a.choices] == [candidate_key({"": c}) for c in b.choices]


def _rename_differing(branches):
    """Give a parameter whose distribution differs between branches one Optuna name per branch."""
    names = {name for branch in branches for name in branch}
    for name in sorted(names):
        holders = [i for i, branch in enumerate(branches) if name in branch]
        first = branches[holders[0]][name]
        if all(_same(first, branches[i][name]) for i in holders[1:]):
            continue
        for i in holders:
            branches[i][name].name = f"{name}@{i}"
    return branches


def grid(dims, max_points=10**7):
    """The values of each dimension of a finite branch (lists, ``int_range``, ``randint``), else None."""
    size = n_points(dims)
    if size is None or size > max_points:
        return None
    values = {}
    for name, d in dims.items():
        if d.kind == "categorical":
            values[name] = list(d.choices)
        else:
            dist = d.distribution
            values[name] = list(range(dist.low, dist.high + 1, dist.step or 1))
    return values


class SearchSpace:
    """A space as Optuna asks it: one branch (a dict) or several (a conditional space).

    Parameters
    ----------
    branches : list of dict of str to Dimension
        The estimator's parameter names to their dimensions, per branch.
    conditional : bool
        Whether a branch choice (:data:`BRANCH`) precedes the parameters.

    Attributes
    ----------
    n_dims : int
        The number of parameters of the largest candidate's trial (BOHB's
        ``d``): the branch's parameters, plus one for the branch choice.
    names : set of str
        Every parameter name of the space (the estimator's).
    """

    def __init__(self, branches, conditional):
        from optuna.distributions import CategoricalDistribution

        self.branches, self.conditional = branches, conditional
        self.names = {name for branch in branches for name in branch}
        self.n_dims = max(len(b) for b in branches) + int(conditional)
        self._branch = CategoricalDistribution(tuple(range(len(branches))))
        self._grids = [grid(b) for b in branches]

    def n_points(self):
        """Distinct candidates: the sum over branches of their points, or None if infinite."""
        sizes = [n_points(b) for b in self.branches]
        return None if None in sizes else sum(sizes)

    def _distributions(self, b):
        out = {BRANCH: self._branch} if self.conditional else {}
        out.update({d.name: d.distribution for d in self.branches[b].values()})
        return out

    def ask(self, study):
        """A new trial of ``study`` and its candidate (the estimator's names and values)."""
        if not self.conditional:
            trial = study.ask(self._distributions(0))
        else:  # define-by-run: the branch, then its own parameters
            trial = study.ask()
            b = trial.suggest_categorical(BRANCH, self._branch.choices)
            for d in self.branches[b].values():
                _suggest(trial, d)
        return trial, self.decode(trial.params)

    def decode(self, params):
        """Optuna's parameters of a trial -> the candidate."""
        b = int(params[BRANCH]) if self.conditional else 0
        return {name: d.decode(params[d.name]) for name, d in self.branches[b].items()}

    def _fits(self, b, params):
        branch = self.branches[b]
        return set(params) == set(branch) and all(branch[k].contains(v) for k, v in params.items())

    def observation(self, params, strict=False):
        """``(optuna_params, distributions)`` of a candidate, or None if it fits no branch.

        Without ``strict``, names outside the space are dropped first (a
        budget), and a single dict's values are clipped into their bounds as
        before; with ``strict`` the names must be exactly a branch's and each
        value inside its distribution.
        """
        if not strict:
            params = {k: v for k, v in params.items() if k in self.names}
            if not self.conditional:
                dims = self.branches[0]
                if set(params) != set(dims):
                    return None
                return {k: d.encode(params[k]) for k, d in dims.items()}, self._distributions(0)
        for b, branch in enumerate(self.branches):
            if self._fits(b, params):
                encoded = {BRANCH: b} if self.conditional else {}
                encoded.update({d.name: d.encode(params[k]) for k, d in branch.items()})
                return encoded, self._distributions(b)
        return None

    def mismatch(self, params):
        """Why ``params`` fits no branch: ``(name, value, problem)`` for the closest branch."""
        best = None
        for branch in self.branches:
            problems = [(k, None, "is missing") for k in branch if k not in params]
            problems += [(k, v, "is not searched") for k, v in params.items() if k not in branch]
            problems += [(k, v, ("is not one of " if branch[k].kind == "categorical" else
                                 "is outside ") + branch[k].text)
                         for k, v in params.items() if k in branch and not branch[k].contains(v)]
            if problems and (best is None or len(problems) < len(best)):
                best = sorted(problems, key=lambda p: p[0])
        return best[0] if best else None

    def unseen(self, seen, rng):
        """A candidate of a finite branch whose key is not in ``seen``, or None.

        A single dict draws from its grid as before; a conditional space tries
        its finite branches in an order drawn from ``rng``.
        """
        if not self.conditional:
            return None if self._grids[0] is None else unseen(self._grids[0], seen, rng)
        for b in rng.permutation(len(self.branches)):
            if self._grids[b] is not None:
                point = unseen(self._grids[b], seen, rng)
                if point is not None:
                    return point
        return None

    def enqueue(self, study, candidate):
        """Make ``candidate`` the next trial ``study`` asks (it must fit a branch)."""
        study.enqueue_trial(self.observation(candidate, strict=True)[0])


def _suggest(trial, d):
    """Suggest one dimension on a define-by-run trial (the distribution it was built with)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    dist = d.distribution
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(d.name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(d.name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_categorical(d.name, dist.choices)
