"""Load runs: the client ops, the coordinator's ops to agents, and the runs' events."""

from __future__ import annotations

from proto.ops.account import SESSION
from proto.ops.fields import ID, OWNER, RUN_ID
from proto.ops.spec import READ, EventSpec, OpSpec, grouped
from proto.schema import Field

PROFILE = (
    Field("rate", "float", True, "calls per second (spread over the agents)", lo=0.001, hi=100000),
    Field("ramp", "float", False, "seconds of linear ramp up to the rate", lo=0, hi=86400),
    Field("calls", "int", False, "total calls (0: until duration)", lo=0, hi=100_000_000),
    Field("duration", "float", False, "seconds to keep starting calls (0: until calls)",
          lo=0, hi=86400 * 7),
    Field("max_concurrent", "int", False, "most calls up at once (0: what the fleet holds)",
          lo=0, hi=1_000_000),
    Field("hold", "str", False, "call hold time: S, exp:MEAN or uniform:A:B (default 1)", hi=64),
    Field("targets", "list", False, "URIs called round robin (instead of self)"),
    Field("self", "bool", False, "the fleet answers its own calls"),
    Field("front", "uri", False, "self runs: call the answering agents through this SIP front "
          "(callfleet front, e.g. sip:127.0.0.1:5060), the path an outside caller takes, "
          "instead of at their own addresses"),
    Field("answer_delay", "float", False, "seconds of ringing before the answer (self)",
          lo=0, hi=3600),
    Field("answer_codes", "str", False, "answer code mix, e.g. 200 or 200:90,486:10 (self)",
          hi=256),
    Field("hangup", "str", False, "who hangs up: caller (default) or callee",
          choices=("caller", "callee")),
    Field("agents", "int", False, "use at most this many agents (0: all)", lo=0, hi=100000),
    Field("dtmf", "str", False, "DTMF digits sent after answer (verified at the far end when "
          "self)", hi=32),
    Field("dtmf_method", "str", False, "rfc2833 (default) or info", choices=("rfc2833", "info")),
    Field("callers", "int", False, "calling identities over the fleet (0: one per calling agent)",
          lo=0, hi=100000),
    Field("registrar", "uri", False, "registrar (and outbound proxy) every identity registers "
          "with; needs credentials"),
    Field("credentials", "list", False, "identities for a registrar run: maps of user, password "
          "and optional domain (default: the registrar's host); used in order, callers first, "
          "then (self) one answering identity per agent. Never echoed in reports or events"),
    Field("media", "str", False, "what load calls send: silence (default), tone (both ends send "
          "a tone; the end that hangs up checks it hears one) or wav:PATH (a WAV file on every "
          "agent's host, looped)", lo=1, hi=1024),
    Field("run", "str", False, "pre-chosen run id", lo=1, hi=ID),
    Field("scenario", "map", False, "the calls' flow as steps per leg (section Scenarios); "
          "replaces hold, hangup, dtmf, dtmf_method, answer_delay and answer_codes"),
    Field("data", "list", False, "per-call data for a scenario (as SIPp's -inf): rows, each a "
          "map of column -> text (at most 4096 rows, 16 columns, 256 characters a value), the "
          "same columns in every row; each column is a variable of the caller's steps "
          "(${column}: the call step's to and headers, digits, texts), each call takes the "
          "next row of its agent's share (the rows dealt round robin over the calling agents; "
          "a share cycles). Reports give the number of rows"),
    # every identity of the run (callers and answerers) takes the account call options
    *SESSION,
)

#: the account call options a run gives its identities (acc.create's SESSION fields)
RUN_SESSION = tuple(f.name for f in SESSION)


OPS = grouped("load", (
    OpSpec("load.start", "coordinator",
           "Start a load run over the fleet's agents; replies once every agent has its share. "
           "Progress comes as load.progress events (each second), the report as load.done.",
           args=PROFILE, result=(Field("run", "str", True, "run id"),
                                  Field("agents", "list", True, "agents taking part"))),
    OpSpec("load.status", "coordinator", "The live state of a load run (as in load.progress).",
           args=(RUN_ID,), result=(Field("progress", "map", True, "as load.progress data"),),
           roles=READ),
    OpSpec("load.set_rate", "coordinator", "Change a running load run's call rate at once.",
           args=(RUN_ID, Field("rate", "float", True, "calls per second", lo=0, hi=100000)),
           owns=("run",)),
    OpSpec("load.stop", "coordinator",
           "Stop a load run: no new calls, live calls hung up; load.done follows.",
           args=(RUN_ID,),
           owns=("run",)),
    OpSpec("load.agent_start", "coordinator-to-agent",
           "An agent's share of a run: a calling part and/or an answering part.",
           args=(RUN_ID, Field("caller", "map", False, "ids (list of maps: uri and, for a "
                               "registrar, username and password), rate, phase (seconds before "
                               "its first call), calls, duration, ramp, "
                               "slots, targets, steps (the caller's scenario steps), data (this "
                               "agent's rows of the run's data), transferee "
                               "(the steps of a call a REFER on the run's calls starts), media, "
                               "registrar, session (the account call options), wait_go (true: "
                               "no call before load.agent_go)"),
                 Field("answer", "map", False, "ids (one identity, as for caller), steps (the callee's "
                       "scenario steps), transferee (as for caller), media, registrar, "
                       "session"),
                 *OWNER,
                 Field("profile", "map", False, "the run's profile as reports show it (no "
                       "credentials), kept for a restarted coordinator")),
           result=(RUN_ID,),
           route="none"),
    OpSpec("load.agent_rate", "coordinator-to-agent", "An agent's new share of the rate.",
           args=(RUN_ID, Field("rate", "float", True, "calls per second", lo=0, hi=100000)),
           route="none"),
    OpSpec("load.agent_targets", "coordinator-to-agent",
           "New callees for an agent's calls from now on (a self-answering run that lost the "
           "agent this one called: it calls the next answering agent of the ring).",
           args=(RUN_ID, Field("targets", "list", True, "URIs called round robin"),
                 Field("lost", "list", False, "URIs of callees whose agent was lost: the "
                       "calls up or ringing to them are hung up and no longer hold the run's "
                       "slots")),
           route="none"),
    OpSpec("load.agent_go", "coordinator-to-agent",
           "Start calling now: every agent of a registrar run has registered its identities, or "
           "every agent of a self-answering run has its answering account.",
           args=(RUN_ID,),
           route="none"),
    OpSpec("load.agent_end", "coordinator-to-agent",
           "Start no more calls, hang up live ones, report done.", args=(RUN_ID,),
           route="none"),
))

#: a run's live figures (load.progress, load.status, lib.status ``loads``); every attempted
#: call ends in one outcome: attempted = completed + failed + lost + active
PROGRESS = (
    Field("elapsed", "float", True, "seconds since start"),
    Field("t", "float", False, "the same (the timeseries' column)"),
    Field("timestamp", "float", False, "Unix time of these figures"),
    Field("started", "int", True, "calls attempted"),
    Field("answered", "int", True, "calls answered"),
    Field("completed", "int", False, "answered calls that ended"),
    Field("failed", "int", True, "calls that were not answered"),
    Field("lost", "int", False, "calls cut off by the loss of their agent"),
    Field("active", "int", True, "calls up now (ringing or answered)"),
    Field("rate", "float", True, "calls started per second over the agents' last interval"),
    Field("rate_window", "float", False, "calls started per second over the last 5 s"),
    Field("target_rate", "float", True, "the rate asked for now (ramp included)"),
    Field("delayed", "int", True, "calls that waited for a free slot"),
    Field("setup_p50_ms", "float", True, "setup time median, whole run"),
    Field("setup_p95_ms", "float", True, "setup time 95th percentile, whole run"),
    Field("setup_p99_ms", "float", False, "setup time 99th percentile, whole run"),
    Field("interval_started", "int", False, "calls started in the last interval"),
    Field("interval_answered", "int", False, "calls answered in the last interval"),
    Field("interval_failed", "int", False, "calls failed in the last interval"),
    Field("interval_setup_p50_ms", "float", False, "setup time median, last interval"),
    Field("interval_setup_p95_ms", "float", False, "setup time 95th percentile, last interval"),
    Field("interval_setup_p99_ms", "float", False, "setup time 99th percentile, last interval"),
    Field("interval_rtp_loss_pct", "float", False, "RTP loss of the calls measured in the last "
          "interval (%)"),
    Field("interval_jitter_p95_ms", "float", False, "their jitter, 95th percentile (ms)"),
    Field("interval_mos_p50", "float", False, "their MOS, median"),
    # load.progress events only (not lib.status): what a dashboard shows beside the row
    Field("failed_by_code", "map", False, "load.progress only: failed calls by SIP code so far"),
    Field("lost_agents", "list", False, "load.progress only: agents of the run lost so far "
          "(and not replaced)"),
    Field("replaced_agents", "list", False, "load.progress only: lost agents whose replacement "
          "(same name) took the rest of their part"),
    Field("scenario", "str", False, "load.progress only: the run's scenario (its name)"),
    Field("steps", "list", False, "load.progress only: the scenario's steps so far, as the "
          "report's steps"),
    Field("by_agent", "list", False, "load.progress only: each agent's part so far, as the "
          "report's by_agent, plus active (the calls it placed that are up now)"),
)

EVENTS = grouped("load", (
    EventSpec("load.stats", "run", "An agent's counters and histograms since its last report.",
              data=(Field("agent", "str", True, "agent name"),
                    Field("started", "int", True, "calls started", lo=0),
                    Field("answered", "int", True, "calls answered (CONFIRMED)", lo=0),
                    Field("completed", "int", False, "answered calls that ended", lo=0),
                    Field("delayed", "int", True, "calls that waited for a free slot", lo=0),
                    Field("incoming", "int", True, "calls answered for the run", lo=0),
                    Field("failed", "map", True, "failed calls by SIP code"),
                    Field("failed_reasons", "map", False, "failed calls by status line (code "
                          "and reason; at most 16 distinct, then \"other\")"),
                    Field("active", "int", True, "calls this agent placed that are up now "
                          "(ringing or answered)", lo=0),
                    Field("answering", "int", False, "calls this agent answers that are up now",
                          lo=0),
                    Field("t", "float", False, "seconds since this agent's part began calling "
                          "(0 before)", lo=0),
                    Field("last_start", "float", False, "seconds into its part when its last "
                          "call started (0: none yet)", lo=0),
                    Field("setup", "map", True, "setup-time histogram (µs)"),
                    Field("duration", "map", True, "call-duration histogram (µs)"),
                    Field("media", "map", False, "RTP of the calls hung up here: calls, rx, "
                          "lost, and loss_pm (per mille), jitter (µs), mos (x1000) histograms"),
                    Field("dtmf_ok", "int", False, "answered calls that got every DTMF digit",
                          lo=0),
                    Field("dtmf_missed", "int", False, "answered calls whose DTMF digits differed",
                          lo=0),
                    Field("tone_heard", "int", False, "calls (media tone) whose hanging-up end "
                          "heard the far end's tone", lo=0),
                    Field("tone_missed", "int", False, "calls (media tone) whose hanging-up end "
                          "heard no tone", lo=0),
                    Field("tone_unchecked", "int", False, "calls (media tone) too short to check "
                          "(answered for less than 0.5 s)", lo=0),
                    Field("steps", "list", False, "the scenario's steps: per leg and step, "
                          "calls that passed it (ok), failed it (failed: by reason; fatal: those "
                          "failing the run) and a histogram (b, max) of the µs since the step "
                          "before"),
                    Field("transferred", "int", False, "REFERs this agent accepted on the run's "
                          "calls (each a new call, running the transferee's steps)", lo=0),
                    Field("at", "map", False, "where the calls this agent placed are now: step "
                          "number (from 1; end: past the last step) -> calls (should the agent "
                          "be lost, its calls are counted lost at these steps)"),
                    Field("identities", "int", False, "identities this agent registers (registrar "
                          "runs)", lo=0),
                    Field("registered", "int", False, "of those, registered now", lo=0),
                    Field("reg_failed", "map", False, "identities whose registration failed, by "
                          "SIP code"),
                    Field("caller_done", "bool", True, "no more calls will be started"),
                    Field("done", "bool", True, "the agent's part is over"))),
    EventSpec("load.progress", "run", "A load run's state, once a second.",
              data=PROGRESS),
    EventSpec("load.done", "run", "A load run ended; its report.",
              data=(Field("report", "map", True,
                          "the final report: totals, failures by SIP code, setup and duration "
                          "percentiles, media, timeseries, and by_agent (a list, by agent name: "
                          "each agent's started, answered, incoming and failed calls)"),)),
))
