"""Load runs on the coordinator: ``plan`` splits a run over agents (pure), ``run`` merges the
agents' reports into a run's figures (pure), ``steering`` drives runs from the loop (go, rate,
end, progress events, final report). The ops that start and steer runs are ``routes.load``."""
