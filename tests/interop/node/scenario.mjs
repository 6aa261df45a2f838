// Drives a callfleet coordinator from Node.js with the npm packages `zeromq` and
// `@msgpack/msgpack`, following only proto/PROTOCOL.md.
//
//   node scenario.mjs CLIENTS_URL EVENTS_URL
//
// Two accounts (bob answers by himself), alice calls bob, the events arrive in order, alice hangs
// up and both legs end; an event subscription with filters, a late subscriber's snapshot, the PUB
// firehose with its topic frames. Prints one JSON summary line and exits 0, or prints what failed
// and exits 1.

import { decode, encode } from "@msgpack/msgpack";
import zmq from "zeromq";

const [clientsUrl, eventsUrl] = process.argv.slice(2);
const TIMEOUT_MS = 10000;
const tag = Math.random().toString(16).slice(2, 8);

class Failure extends Error {}

function check(cond, what, detail) {
  if (!cond) throw new Failure(`${what}${detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
}

function same(a, b, what) {
  check(JSON.stringify(a) === JSON.stringify(b), what, { got: a, expected: b });
}

// One client connection: a DEALER with its own routing id, one msgpack map per frame.
class Peer {
  constructor(name) {
    this.name = `node-${name}-${tag}`;
    this.sock = new zmq.Dealer({ routingId: this.name, linger: 0 });
    this.sock.connect(clientsUrl);
    this.events = []; // every event received, in order
    this.n = 0;
  }

  async recv(deadline) {
    const left = deadline - Date.now();
    check(left > 0, `${this.name}: nothing received in time`);
    this.sock.receiveTimeout = left;
    let frames;
    try {
      frames = await this.sock.receive();
    } catch (err) {
      throw new Failure(`${this.name}: nothing received in time (${err.code || err})`);
    }
    check(frames.length === 1, `${this.name}: one frame per message`, frames.length);
    const msg = decode(frames[0]);
    check(msg.v === 1, "protocol version 1", msg);
    return msg;
  }

  // Send a request, return its reply; events that arrive first are kept in this.events.
  async request(op, args) {
    const id = `r${++this.n}`;
    await this.sock.send(encode({ v: 1, kind: "req", id, op, args }));
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const msg = await this.recv(deadline);
      if (msg.kind === "rep" && msg.id === id) {
        check(msg.op === op, "the reply echoes the op", msg);
        return msg;
      }
      check(msg.kind === "evt", `${this.name}: unexpected message`, msg);
      this.events.push(msg);
    }
  }

  async ok(op, args) {
    const rep = await this.request(op, args);
    check(rep.ok === true, `${op} succeeds`, rep);
    return rep.result;
  }

  async error(op, args) {
    const rep = await this.request(op, args);
    check(rep.ok === false, `${op} fails`, rep);
    same(Object.keys(rep.error).sort(), ["code", "msg", "obj", "op", "status"], "error map keys");
    return rep.error;
  }

  // Receive events until pred(events) holds.
  async wait(pred, what) {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pred(this.events)) {
      const msg = await this.recv(deadline).catch((err) => {
        throw new Failure(`${this.name}: timed out waiting for ${what} (${err.message})`);
      });
      check(msg.kind === "evt", `${this.name}: unexpected message while waiting for ${what}`, msg);
      this.events.push(msg);
    }
  }

  // Every event sent to this connection so far: a reply follows every event the coordinator
  // sent on the connection before it handled the request.
  async barrier() {
    await this.ok("lib.status", {});
    return this.events;
  }

  close() {
    this.sock.close();
  }
}

// A SUB socket on the PUB firehose: [topic, message] pairs.
class Firehose {
  constructor(prefix) {
    this.sock = new zmq.Subscriber({ linger: 0 });
    this.handshake = new Promise((resolve) => this.sock.events.on("handshake", resolve));
    this.sock.subscribe(prefix);
    this.sock.connect(eventsUrl);
    this.events = [];
    this.topics = [];
  }

  async ready() {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure("the SUB socket did not connect")), TIMEOUT_MS);
    });
    await Promise.race([this.handshake, timeout]);
    clearTimeout(timer);
  }

  async wait(pred, what) {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pred(this.events)) {
      const left = deadline - Date.now();
      check(left > 0, `firehose: timed out waiting for ${what}`);
      this.sock.receiveTimeout = left;
      const [topic, frame] = await this.sock.receive().catch(() => {
        throw new Failure(`firehose: timed out waiting for ${what}`);
      });
      this.topics.push(topic.toString("utf8"));
      this.events.push(decode(frame));
    }
  }

  close() {
    this.sock.close();
  }
}

const about = (events, obj, op) => events.filter((e) => e.obj === obj && (!op || e.op === op));
const states = (events, obj) => about(events, obj, "call.state").map((e) => e.data.state);
const ended = (events, obj) => states(events, obj).includes("DISCONNECTED");
const key = (e) => `${e.op} ${e.obj} ${e.seq}`;

async function scenario() {
  const driver = new Peer("driver");
  const watcher = new Peer("alice-states"); // include: alice's call.state events
  const late = new Peer("late"); // subscribes mid-call
  const hose = new Firehose("evt.");
  const peers = [driver, watcher, late, hose];
  try {
    await hose.ready();

    // a subscription made before any object exists: an empty snapshot
    same(await watcher.ok("events.subscribe", {
      sub: "w1", include: { accounts: ["alice"], events: ["call.state"] },
    }), { sub: "w1", accounts: [], calls: [], truncated: false }, "an empty snapshot");
    same((await watcher.error("events.subscribe", { include: { bogus: ["x"] } })).code,
      "E_BAD_ARGS", "an unknown filter criterion");
    same((await watcher.error("events.unsubscribe", { sub: "nope" })).code, "E_NOT_FOUND",
      "an unknown subscription");

    // two accounts, bob answers by himself
    const alice = await driver.ok("acc.create", { uri: "sip:alice@127.0.0.1", acc: "alice" });
    const bob = await driver.ok("acc.create", { uri: "sip:bob@127.0.0.1", acc: "bob", auto_answer: 200 });
    check(alice.agent !== bob.agent, "accounts spread over agents", [alice, bob]);

    // alice calls bob: the reply comes before any event about the call
    same(await driver.ok("call.make", { acc: "alice", uri: bob.contact, call: "c1" }),
      { call: "c1", agent: alice.agent }, "call.make result");
    same(about(driver.events, "c1"), [], "no event before the reply");
    await driver.wait((ev) => ev.some((e) => e.op === "acc.incoming_call"), "the incoming call");
    const incoming = driver.events.find((e) => e.op === "acc.incoming_call");
    const leg = incoming.data.call;
    same([incoming.obj, incoming.data.agent], ["bob", bob.agent], "acc.incoming_call");
    await driver.wait((ev) => states(ev, "c1").includes("CONFIRMED")
      && states(ev, leg).includes("CONFIRMED") && about(ev, "c1", "call.media_state").length > 0,
    "both legs CONFIRMED");

    // a late subscriber gets both calls in its snapshot
    const snap = await late.ok("events.subscribe", { sub: "late" });
    same(snap.accounts.map((a) => a.acc).sort(), ["alice", "bob"], "snapshot accounts");
    const calls = Object.fromEntries(snap.calls.map((c) => [c.call, c]));
    same(Object.keys(calls).sort(), ["c1", leg].sort(), "snapshot calls");
    same([calls.c1.state, calls.c1.role, calls.c1.acc, calls.c1.media],
      ["CONFIRMED", "caller", "alice", "ACTIVE"], "snapshot of alice's call");
    same([calls[leg].state, calls[leg].role, calls[leg].acc], ["CONFIRMED", "callee", "bob"],
      "snapshot of bob's call");
    for (const gid of ["c1", leg]) {
      same(calls[gid].seq, Math.max(...about(driver.events, gid).map((e) => e.seq)),
        `snapshot seq of ${gid}`);
    }

    // alice hangs up: the reply first, then both legs end
    same(await driver.ok("call.hangup", { call: "c1" }), {}, "call.hangup result");
    await driver.wait((ev) => ended(ev, "c1") && ended(ev, leg), "both legs DISCONNECTED");
    same(states(driver.events, "c1"), ["CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED"],
      "alice's states");
    same(states(driver.events, leg), ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"],
      "bob's states");
    for (const gid of ["c1", leg]) {
      const seqs = about(driver.events, gid).map((e) => e.seq);
      same(seqs, seqs.map((_, i) => i + 1), `seq of ${gid} counts from 1 without a gap`);
    }

    // each subscriber got exactly what its filters select
    same((await watcher.barrier()).map(key), about(driver.events, "c1", "call.state").map(key),
      "the filtered subscription");
    same((await late.barrier()).map(key),
      driver.events.filter((e) => calls[e.obj] && e.seq > calls[e.obj].seq).map(key),
      "the late subscription: only what followed its snapshot");

    // the firehose had every event, each with its topic frame
    await hose.wait((ev) => ev.length >= driver.events.length, "the firehose to catch up");
    same(hose.topics, hose.events.map((e) => `evt.${e.op}.${e.obj}`), "topic frames");
    same(hose.events.map(key).sort(), driver.events.map(key).sort(), "firehose events");

    same(await watcher.ok("events.unsubscribe", {}), { removed: 1 }, "unsubscribe");
    await driver.ok("acc.delete", { acc: "alice" });
    await driver.ok("acc.delete", { acc: "bob" });

    const callEvents = driver.events.length;
    const firehoseEvents = hose.events.length;

    // a load run: start it, watch its progress, change its rate, stop it, read its report
    const run = "node-run-1";
    const started = await driver.ok("load.start",
      { rate: 4.0, duration: 60.0, hold: "0.2", self: true, run });
    same(started.run, run, "load.start names the run");
    await driver.wait((ev) => about(ev, run, "load.progress").length >= 2, "2 load.progress events");
    await driver.ok("load.set_rate", { run, rate: 6.0 });
    await driver.ok("load.stop", { run });
    await driver.wait((ev) => about(ev, run, "load.done").length === 1, "load.done");
    const report = about(driver.events, run, "load.done")[0].data.report;
    check(report.stopped === true && report.attempted >= 1, "the report of a stopped run", report);

    // a call scenario as plain data: refused with the step that is wrong, then run
    const flow = {
      name: "node flow",
      caller: [{ op: "call" }, { op: "wait", state: "confirmed", timeout: 5.0 },
               { op: "dtmf", digits: "42" }, { op: "pause", s: "0.3" }, { op: "hangup" }],
      callee: [{ op: "answer", ring: 0.1 }, { op: "expect_dtmf", digits: "42", timeout: 5.0 }],
    };
    const bad = { ...flow, callee: [{ op: "answer" }, { op: "expect_dtmf", digits: "4x" }] };
    const refused = await driver.error("load.start", { rate: 2.0, calls: 2, self: true, scenario: bad });
    same([refused.code, refused.msg],
      ["E_BAD_ARGS", "callee step 2 (expect_dtmf): 'digits' must be a string of 0-9*#A-D"],
      "a bad scenario is refused with its step");
    const flowRun = "node-run-2";
    await driver.ok("load.start", { rate: 2.0, calls: 2, self: true, scenario: flow, run: flowRun });
    await driver.wait((ev) => about(ev, flowRun, "load.done").length === 1, "the scenario run's load.done");
    const flowReport = about(driver.events, flowRun, "load.done")[0].data.report;
    return {
      scenario: { name: flowReport.scenario, success: flowReport.success,
                  steps: flowReport.steps.map((st) => [st.leg, st.step, st.op, st.ok, st.failed]) },
      load: { progress: about(driver.events, run, "load.progress").length,
              attempted: report.attempted, stopped: report.stopped },
      ok: true,
      alice: states(driver.events, "c1"),
      bob: states(driver.events, leg),
      events: callEvents,
      firehose: firehoseEvents,
    };
  } finally {
    for (const p of peers) p.close();
  }
}

const watchdog = setTimeout(() => {
  console.error("scenario: gave up after 60 s");
  process.exit(2);
}, 60000);

try {
  console.log(JSON.stringify(await scenario()));
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  console.error(`scenario failed: ${err instanceof Failure ? err.message : err.stack}`);
  process.exit(1);
}
