"""``polyret report``: the statistics and the report of an experiment folder.

:func:`polyret.report.write.write_report` reads an experiment folder (``polyret.experiment.layout``)
and writes ``report.md``, one self-contained ``report.html`` and ``plots/*.png`` into it. Modules:
:mod:`.collect` (reading; every look-up into a result), :mod:`.stats` (paired tests, pure),
:mod:`.analysis` (the numbers), :mod:`.tables`, :mod:`.plots`, :mod:`.formatting` (tables that fit),
:mod:`.render` (the report's blocks), :mod:`.page` (Markdown and HTML), :mod:`.write`.

The package imports nothing itself, so its submodules (which import each other through it, as
``from polyret.report import collect``) form no cycle with it.
"""
