"""The parts of ``bench/load.py``, the return-path benchmark, a module a job; ``bench/load.py`` itself is the
command line and the order of the steps.

* ``services``: the Redis server, the scratch database, API keys, ``alertsvc serve`` and (for the seed) ``worker``;
* ``seed``: residents and one sent alert through the API, read back as (delivery, provider id, number);
* ``traffic``: the requests, byte for byte (signed Twilio callbacks, ack answers, CAP alerts, ``/healthz``);
* ``generator``: the load generator, a child process (``python -m bench._load.generator``);
* ``drive``: one scenario over generator processes, merged, with the server's and Redis' CPU in its window;
* ``verify``: the database afterwards (the LOST column); ``profile``: ``--profile``'s py-spy record and summary;
* ``table``: the result table (its docstring explains the columns).

Besides the services' public surface (the HTTP API, ``alertsvc`` commands, environment variables) it relies on the
names of a few tables and columns (``deliveries``, ``contacts``, ``acknowledgements``, ``alerts``), on
``security.links.LinkSigner`` and ``settings.Settings.signing_key`` (the ack tokens, as the service signs them),
on ``embedded_redis`` (a free port, the embedded ``redis-server``), and on ``bench/_fanout``'s plumbing
(``config.ROOT``, ``sampling.cpu_seconds``, the ``services`` helpers and the counting Twilio ``standin``).
"""
