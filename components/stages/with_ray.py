"""har with-ray: run a command with one local Ray head that its stages share.

    har with-ray -- dvc repro
    har with-ray --num-cpus 4 -- bash scripts/demo.sh

Starts ``ray start --head`` (its own process group, free ports on 127.0.0.1, a
short temporary folder), runs COMMAND with ``RAY_ADDRESS`` (and the head's token)
set, so every ``har train`` / ``har represent`` it starts joins that head instead
of starting a Ray of its own, and stops exactly that head when COMMAND ends, fails
or is interrupted (never ``ray stop``: other Ray instances on the machine are left
alone). With ``RAY_ADDRESS`` already set, COMMAND just runs, joining that cluster.
Exits with COMMAND's exit status.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess

from components.errors import HarError

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="CPUs the head offers (default: every core of this machine)")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the command to run, after --")


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end; Ctrl-C / SIGTERM reach it and are waited for."""
    proc = subprocess.Popen(command, env=env)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt as interrupt:
            # Ctrl-C has reached the child too (same process group): let it wind down.
            # A SIGTERM of ours (raised as KeyboardInterrupt, components._lifetime) is
            # passed on. Either way the head stays up until the command has ended.
            if str(interrupt).startswith("signal") and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)


def run(args: argparse.Namespace) -> int:
    from components.ray_head import local_ray_head

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise HarError("no command given: har with-ray -- COMMAND ...")
    if os.environ.get("RAY_ADDRESS", "").strip():
        log.info("RAY_ADDRESS is set (%s): running the command against it",
                 os.environ["RAY_ADDRESS"])
        return run_command(command, dict(os.environ))
    with local_ray_head(args.num_cpus) as head:
        return run_command(command, {**os.environ, **head.env})
