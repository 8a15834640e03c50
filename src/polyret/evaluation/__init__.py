"""Evaluation: LAReQA (XQuAD-R, MLQA-R), BEIR, MIRACL and BRIGHT, with paired significance tests.

Entry point: :func:`polyret.evaluation.evaluator.evaluate` (``model``, :class:`EvalConfig`) ->
:class:`polyret.evaluation.results.EvalResult`. Modules:

- ``ranking``: vectorised AP / RR / R@k over dense score matrices (ties as sklearn);
- ``lareqa``, ``language_bias``: the LAReQA Mono / Cross / Multi protocol and bias measures;
- ``metrics``: the ``ir_measures`` adapter and explicit run rules; ``miracl``, ``bright``;
- ``ir_tasks``: BEIR / MIRACL / BRIGHT evaluation; ``subsets``: pre-registered complex-query subsets;
- ``significance``, ``compare``: paired tests, Holm correction; ``results``, ``report``: JSON and tables.

Nothing is imported here (no import-time cost or side effects).
"""
