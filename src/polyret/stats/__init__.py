"""polyret's statistics, in one place: used by ``polyret compare`` and by the report.

- :mod:`.resampling`: query-level sign-flip p-values (exact, or adaptive Monte Carlo with a stated
  error), the paired bootstrap CI, Holm's correction, the paired effect size d_z.
- :mod:`.crossed`: the seed-aware analysis of an arm difference: queries and training seeds both
  random (balanced crossed ANOVA, Satterthwaite degrees of freedom), pooled over tasks with task fixed;
  its CI, two-sided p and TOST equivalence p.
- :mod:`.power`: the minimal detectable difference of a planned cell from earlier variance components.
- :mod:`.difference`: :class:`Difference`, the one result type (treatment - reference), and
  :func:`compare_arms`, which fills it.
"""
