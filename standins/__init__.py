"""Local stand-ins for the providers alertsvc talks to, speaking their real wire protocols on loopback.

Each one starts in-process on an ephemeral port with an async context manager (tests), or as its own process
with ``python -m standins.NAME --port P`` (benchmarks, so the server does not share the client's loop).
The real client libraries (twilio, aiosmtplib, apprise) talk to them unchanged: nothing is patched out.
"""
