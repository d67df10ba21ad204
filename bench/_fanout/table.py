"""The benchmark's result table: one Markdown row a channel and configuration, as ``bench/README.md`` records it.

Kept apart from the measuring so that the columns (and the README that explains them) change in one place. A
figure that was not measured (no bare run with ``--skip-ceilings``) prints as ``nan`` rather than hiding the row.

Columns:

* **targeting s**: ``residents_in_boxes`` + ``TargetArea.contains`` for the alert's area over the database,
  in the benchmark's process, best of 3 (the rest of the pipeline is not in it);
* **accept→first s**: from the moment the POST is sent to the first message at the stand-in (API included);
* **msg/s**: deliveries per second at the stand-in, first to last message of the alert;
* **bare msg/s**: the same stand-in driven bare by the same client library (stock twilio async client,
  aiosmtplib with as many connections as the adapter pools, apprise ``async_notify``) from as many processes
  as there are workers, in the same run, timed the same way (first to last message at the stand-in);
* **ratio**: msg/s ÷ bare msg/s;
* **CPU µs/msg**: CPU time (user + system) of the worker processes during the channel's alert, fan-out included,
  per message; **bare µs**: the same for the bare client processes; **CPU ratio**: bare µs ÷ CPU µs/msg. Unlike
  msg/s this hardly moves when something else runs on the machine, so it shows what the pipeline costs on top of
  the client library even on a noisy run;
* **peak MiB**: peak RSS (``VmHWM``) of the API process plus every worker process, summed;
* **PSS MiB**: the highest sum of the same processes' proportional set size, sampled every 0.25 s.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from bench._fanout.alerts import AlertRun
from bench._fanout.bare import Ceiling
from bench._fanout.config import CLIENT_CONCURRENCY, SMTP_POOL
from bench._fanout.receipts import Receipts


@dataclass
class Row:
    """One line of the table: a channel's alert in one configuration (residents, database, workers), with the
    bare client's figures for the same channel and number of processes."""

    size: int
    database: str
    workers: int
    channel: str
    run: AlertRun | None
    targeting: float
    bare: Ceiling
    cpu_us: float = float("nan")
    peak_mib: float = float("nan")
    peak_pss_mib: float = float("nan")
    load_s: float = float("nan")
    receipts: Receipts | None = None
    """With status callbacks on (``--callbacks``): where the alert's SMS deliveries ended; the row's channel then
    reads ``sms+cb`` and a line under the table gives the counts."""
    api_cpu_us: float = float("nan")
    """CPU of the API process per message, from the POST until the alert is sent (with callbacks: until every
    delivery is ``delivered`` or the wait's bound)."""
    standin_cpu_us: float = float("nan")
    """The same for the channel's stand-in (which with callbacks on also posts them)."""


def print_table(rows: list[Row], ceiling_messages: int, push_ceiling_messages: int) -> None:
    """The Markdown table ``bench/README.md`` records, then how the bare runs were made and what the memory
    columns sum (``ceiling_messages``: the bare runs' size, ``push_ceiling_messages`` push's)."""
    print()
    print(
        f"| {'residents':>9} | {'db':<10} | {'workers':>7} | {'channel':<7} | {'msgs':>7} | {'targeting s':>11} "
        f"| {'accept→first s':>14} | {'msg/s':>7} | {'bare msg/s':>10} | {'ratio':>5} "
        f"| {'CPU µs/msg':>10} | {'bare µs':>7} | {'CPU ratio':>9} | {'peak MiB':>8} | {'PSS MiB':>7} |"
    )
    print(f"|{'-' * 10}:|{'-' * 12}|{'-' * 8}:|{'-' * 9}|{'-' * 8}:|{'-' * 12}:|{'-' * 15}:|{'-' * 8}:|"
          f"{'-' * 11}:|{'-' * 6}:|{'-' * 11}:|{'-' * 8}:|{'-' * 10}:|{'-' * 9}:|{'-' * 8}:|")  # fmt: skip
    for r in rows:
        run_ = r.run
        msgs = f"{run_.arrived:,}" if run_ else "-"
        if run_ and run_.arrived < run_.expected:
            msgs += "!"
        first = f"{run_.accept_to_first:.3f}" if run_ else "-"
        rate = run_.rate if run_ else float("nan")
        channel = r.channel + ("+cb" if r.receipts else "")
        print(
            f"| {r.size:>9,} | {r.database:<10} | {r.workers:>7} | {channel:<7} | {msgs:>7} | {r.targeting:>11.3f} "
            f"| {first:>14} | {rate:>7,.0f} | {r.bare.rate:>10,.0f} | {rate / r.bare.rate:>5.2f} "
            f"| {r.cpu_us:>10.0f} | {r.bare.cpu_us:>7.0f} | {r.bare.cpu_us / r.cpu_us:>9.2f} | {r.peak_mib:>8.0f} "
            f"| {r.peak_pss_mib:>7.0f} |"
        )
    print(
        f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; messages ('!': fewer than expected) counted at"
        f" the stand-in; bare: {ceiling_messages:,} messages (push {push_ceiling_messages:,}),"
        f" concurrency {CLIENT_CONCURRENCY} a process, SMTP {SMTP_POOL} connections a process;"
        "\npeak MiB: VmHWM of the API process + every worker process; PSS MiB: the highest sum of their PSS, sampled"
        " every 0.25 s (shared pages counted once)."
    )
    with_callbacks = [r for r in rows if r.receipts]
    if with_callbacks:
        print("\nsms+cb: the SMS stand-in posted sent then delivered to each message's StatusCallback (the API);"
              " the table's CPU µs/msg is the workers' during the alert, the API's and the stand-in's below run until"
              " every delivery is delivered; bare is the bare client without callbacks.")  # fmt: skip
        for r in rows:
            total = r.cpu_us + r.api_cpu_us + r.standin_cpu_us
            print(f"- {r.size:,} {r.database} workers={r.workers} {r.channel}{'+cb' if r.receipts else ''}:"
                  f" CPU µs/msg workers {r.cpu_us:.0f} + API {r.api_cpu_us:.0f} + stand-in {r.standin_cpu_us:.0f}"
                  f" = {total:.0f} ({os.cpu_count()} cores ÷ that: {(os.cpu_count() or 1) * 1e6 / total:,.0f} msg/s)"
                  + (f"; {r.receipts.summary()}" if r.receipts else ""))  # fmt: skip
