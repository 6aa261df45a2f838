// Connects to a callfleet coordinator that requires CURVE keys, from Node.js, following only
// proto/PROTOCOL.md section 1.1: the coordinator's public key and the client's own key pair are
// read (Z85) from ZeroMQ certificate files and set on the DEALER before it connects.
//
//   node curve.mjs CLIENTS_URL SERVER_CERT OWN_SECRET_CERT
//
// Prints one JSON line: {"status": <lib.status result or null>, "hangup": <error of a call.hangup
// naming an unknown call, or null>}; status is null when no reply came in time (a refused key).

import { readFileSync } from "node:fs";
import { decode, encode } from "@msgpack/msgpack";
import zmq from "zeromq";

const [clientsUrl, serverCert, ownCert] = process.argv.slice(2);

// `public-key = "..."` / `secret-key = "..."` lines of a ZeroMQ certificate (40 Z85 characters)
function key(path, name) {
  const found = readFileSync(path, "utf8").match(new RegExp(`${name}\\s*=\\s*"([^"]{40})"`));
  if (!found) throw new Error(`no ${name} in ${path}`);
  return found[1];
}

const sock = new zmq.Dealer({
  linger: 0,
  curveServerKey: key(serverCert, "public-key"),
  curvePublicKey: key(ownCert, "public-key"),
  curveSecretKey: key(ownCert, "secret-key"),
  receiveTimeout: 3000,
});
sock.connect(clientsUrl);

async function request(id, op, args) {
  await sock.send(encode({ v: 1, kind: "req", id, op, args }));
  try {
    const [frame] = await sock.receive();
    return decode(frame);
  } catch (err) {
    return null; // nothing came back: the connection never completed
  }
}

const status = await request("s1", "lib.status", {});
let hangup = null;
if (status !== null) {
  const rep = await request("h1", "call.hangup", { call: "no-such-call" });
  hangup = rep && rep.error;
}
console.log(JSON.stringify({ status: status && status.result, hangup }));
sock.close();
