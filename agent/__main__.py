import sys

from proto.extras import missing

if need := missing("pjsua2"):
    print(f"callfleet agent: an agent runs pjsua2, which is not installed: {need}",
          file=sys.stderr)
    raise SystemExit(2)

from agent.main import main  # noqa: E402 - only once pjsua2 is known to be there

raise SystemExit(main())
