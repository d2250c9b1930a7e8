"""`python -m greet server|gateway|lookaside [flags]`: the project image's entrypoint (deploy/Dockerfile)."""

from __future__ import annotations

import runpy
import sys

PROGRAMS = {"server": "greet.server", "gateway": "greet.gateway", "lookaside": "greet.lookaside"}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in PROGRAMS:
        sys.exit(f"usage: python -m greet {{{'|'.join(PROGRAMS)}}} [flags]")
    module = PROGRAMS[sys.argv[1]]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
