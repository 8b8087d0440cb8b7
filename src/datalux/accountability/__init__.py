"""Accountability (issue 17): the GDPR Art. 30 records of processing and the register of
data-sharing cases, derived from the operations themselves (never typed twice), and the
governance dashboard's figures."""
