"""The callfleet agent: one process, one pjsua2 Endpoint, one loop. Imports ``proto`` only."""
