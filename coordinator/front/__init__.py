"""The fleet's SIP front: Kamailio's dispatcher in front of every agent, fed the coordinator's
list of ready agents (``callfleet front``, ``callfleet up --sip-front``)."""
