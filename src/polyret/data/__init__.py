"""The dataset layer: typed readers for BEIR, LAReQA (XQuAD-R / MLQA-R), SQuAD-format QA,
MIRACL and BRIGHT, the parallel training join, and the dataset catalog.

Import the submodules you need (``polyret.data.catalog``, ``.beir``, ``.lareqa``, ``.squad``,
``.parallel``, ``.miracl``, ``.bright``, ``.languages``, ``.stats``, ``.download``); importing
this package does nothing else.
"""
