"""The parts of ``bench/fanout.py``, the whole-pipeline benchmark, a module a job; ``bench/fanout.py`` itself is
the command line and the order of the steps, and its docstring maps the modules.

Split so that each part can be read, changed and run on its own: the stand-in, bare-client and patched-worker
modules are also the entry points of the child processes the benchmark starts (``python -m bench._fanout.NAME``),
which then import only what they need.

Besides the services' public surface (the HTTP API, ``alertsvc`` commands, environment variables), the benchmark
calls a few of alertsvc's internals directly, and a move of one of them must be followed here:
``store.db`` / ``store.migrate`` / ``store.models`` (database set-up), ``store.audience.residents_in_boxes`` and
``geo.targeting`` (the targeting figure), ``dispatch.render`` and ``security.links`` (the bare clients' payloads),
and, for ``--worker-patch`` only, ``dispatch.deliver``, ``runtime``, ``store.writer`` and ``store.db``'s writer.
"""
