"""An agent's share of a load run: ``generator`` places and answers the calls, ``media`` is what
they send, ``report`` what is counted between two ``load.stats`` reports, ``totals`` the running
sum a restarted coordinator adopts."""
