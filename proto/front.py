"""What a fleet's SIP front (`callfleet front`) and its callees agree on: a refusal carrying
FINAL_HEADER is the callee's own choice (an answer-code mix, a user's ``call.hangup(486,
headers)``), passed to the caller as it is; any other 404/408/480/486/500/503 sends the call to
the next agent."""

#: the header of a final refusal (any value)
FINAL_HEADER = "X-Callfleet-Final"
#: the refusals the front retries on another agent
RETRIED = (404, 408, 480, 486, 500, 503)
