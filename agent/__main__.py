from agent import exit_without_pjsua2

exit_without_pjsua2()

from agent.main import main  # noqa: E402 - only once pjsua2 is known to be there

raise SystemExit(main())
