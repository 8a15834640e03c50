"""Evaluation: LAReQA (XQuAD-R, MLQA-R), BEIR, MIRACL and BRIGHT, with paired significance tests.

Entry point: :func:`polyret.evaluation.evaluator.evaluate` (``model``, :class:`EvalConfig`) ->
:class:`polyret.evaluation.results.EvalResult`. Modules, low to high (imports point down only):

- ``schema``: metric names (``ir_measures`` style), directions, duplicates, schema versions;
- ``ranking``: vectorised AP / RR / R@k over dense score matrices (ties as sklearn);
- ``lareqa``, ``language_bias``: the LAReQA Mono / Cross / Multi protocol and bias measures;
- ``metrics``: the ``ir_measures`` adapter, pinned to pytrec_eval (one tie convention);
  ``run_rules``: each run-based task's rules and measures (BEIR, MIRACL, BRIGHT);
- ``config`` (``EvalConfig``), ``encoding`` (lengths, precision, cached encoding, finiteness);
- ``lareqa_task``, ``ir_tasks``: one task kind each; ``subsets``: pre-registered complex-query subsets;
- ``results``: the versioned result document; ``compare``: comparability checks,
  paired tests, Holm per family; ``report``: text tables; ``evaluator``: the dispatch.

Nothing is imported here (no import-time cost or side effects).
"""
