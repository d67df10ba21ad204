"""The parts of ``bench/fanout.py``, the whole-pipeline benchmark, a module a job (``bench/fanout.py`` itself is
the command line and the order of the steps).
"""
