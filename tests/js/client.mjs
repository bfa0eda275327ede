// A third-party Bukti client written with the reference JavaScript Automerge library
// (@automerge/automerge), following only docs/protocol.md. tests/tests/it/js_client.rs drives it
// against a real server; each run does one step and prints one JSON line on stdout.
//
//   node client.mjs <state.json> enroll <server-url> <enrollment-code>
//   node client.mjs <state.json> create              capture a record and push it
//   node client.mjs <state.json> edit '<json>'       edit offline: {narrative, services, participants}
//   node client.mjs <state.json> push                push what the server lacks
//   node client.mjs <state.json> pull                pull the feed, merge, print the record
//   node client.mjs <state.json> refusals            push records that break the contract
//
// The state file holds the credential, the record's document and the heads the server
// acknowledged, as a device's store would.

import * as A from "@automerge/automerge";
import crypto from "node:crypto";
import fs from "node:fs";

const [stateFile, command, ...args] = process.argv.slice(2);

// The contract's defaults that differ from the library's (docs/protocol.md, "From JavaScript"):
// texts are scalar strings, change times are milliseconds.
const s = (v) => new A.ImmutableString(v);
const opts = (state) => ({ message: `officer:${state.officer}`, time: Date.now() });

function load() {
  return JSON.parse(fs.readFileSync(stateFile, "utf8"));
}

function save(state) {
  fs.writeFileSync(stateFile, JSON.stringify(state));
}

function out(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

async function call(state, method, path, body) {
  const headers = { "bukti-protocol": "1" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const resp = await fetch(`${state.url}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: resp.status, body: json };
}

// The enrollment code as the contract normalises it before signing.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function normaliseCode(code) {
  let outCode = "";
  for (const ch of code) {
    if (ch === "-" || /\s/.test(ch)) continue;
    let c = ch.toUpperCase();
    if (c === "I" || c === "L") c = "1";
    if (c === "O") c = "0";
    if (!ALPHABET.includes(c)) throw new Error(`${ch} cannot appear in an enrollment code`);
    outCode += c;
  }
  if (outCode.length !== 12) throw new Error("an enrollment code has 12 symbols");
  return outCode;
}

async function enroll(url, code) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const publicKeyHex = publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
  const actorId = crypto.randomBytes(16).toString("hex");
  const message = Buffer.from(
    `bukti-enroll-v1\n${normaliseCode(code)}\n${actorId}\n${publicKeyHex}`,
    "utf8",
  );
  const signature = crypto.sign(null, message, privateKey).toString("hex");
  const state = { url };
  const r = await call(state, "POST", "/enroll", {
    code,
    device_name: "JS conformance client",
    actor_id: actorId,
    public_key: publicKeyHex,
    signature,
  });
  if (r.status !== 201) return out({ error: "enroll", ...r });
  Object.assign(state, {
    token: r.body.token,
    actor: actorId,
    // The device key signs every push; the server key it was enrolled with is pinned.
    key: privateKey.export({ format: "pem", type: "pkcs8" }),
    server_key: r.body.server_key,
    unit: r.body.unit,
    officer: r.body.officer,
    cursor: 0,
  });
  save(state);
  out({ status: r.status, device_id: r.body.device_id, unit: state.unit, officer: state.officer, actor: actorId });
}

// A UUIDv7: 48 bits of milliseconds, version 7, variant 10, the rest random.
function uuidv7() {
  const b = crypto.randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The whole record, containers included, in one first change: what the contract asks.
function recordFields(state, id, over = {}) {
  const now = Date.now();
  return {
    id: s(id),
    schema: new A.Uint(1),
    unit: s(state.unit),
    officer: s(state.officer),
    kind: s("sambang"),
    title: s("Sambang Desa Sudaji (JS)"),
    narrative: s("Dicatat dengan @automerge/automerge"),
    place: s("Balai Desa Sudaji"),
    status: s("submitted"),
    captured_at: new Date(now),
    started_at: new Date(now - 3_600_000),
    location: { lat: -8.1204, lon: 115.172, accuracy_m: 8.5, source: s("gps") },
    // Plain whole numbers (stored as int, which the contract reads as uint): inside an object
    // literal @automerge/automerge 3.5 stores `new A.Uint(n)` as a map {value: n}.
    counts: { people_served: 25, services: { skck: 1 } },
    lke: { "MP.R3": true },
    photos: {},
    review: {},
    ...over,
  };
}

function b64changes(changes) {
  return changes.map((c) => Buffer.from(c).toString("base64"));
}

// docs/evidence.md: the push signature covers the server, the actor, the time and each
// change's Automerge hash (SHA-256 of the raw change after its 8-byte header).
function signPush(state, records) {
  const time = Date.now();
  let message = `bukti-push/1\nserver ${state.server_key}\ndevice ${state.actor}\ntime ${time}\n`;
  for (const r of records) {
    const hashes = r.changes.map((c) => crypto.createHash("sha256").update(Buffer.from(c, "base64").subarray(8)).digest("hex"));
    message += `record ${r.id} ${hashes.join(",")}\n`;
  }
  const key = crypto.createPrivateKey(state.key);
  const signature = crypto.sign(null, Buffer.from(message, "utf8"), key).toString("hex");
  return { server_key: state.server_key, time_ms: time, signature };
}

async function pushChanges(state, id, changes) {
  const records = [{ id, changes: b64changes(changes) }];
  const r = await call(state, "POST", "/sync/push", { records, signature: signPush(state, records) });
  const receipt = r.body.receipt ? { receipt_verified: verifyReceipt(state, r.body.receipt) } : {};
  return { http: r.status, ...receipt, ...(r.body.results ? r.body.results[0] : r.body) };
}

// The receipt's text rebuilt from its fields and checked with the pinned server key.
function verifyReceipt(state, rc) {
  if (rc.server_key !== state.server_key) return false;
  let message = `bukti-receipt/1\nserver ${rc.server_key}\ntime ${rc.time_ms}\ndevice ${rc.device}\npush ${rc.push}\nlog ${rc.log.seq} ${rc.log.hash}\n`;
  for (const r of rc.records) message += `record ${r.id} ${r.heads.join(",")}\n`;
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(rc.server_key, "hex")]);
  const key = crypto.createPublicKey({ key: spki, format: "der", type: "spki" });
  return crypto.verify(null, Buffer.from(message, "utf8"), key, Buffer.from(rc.signature, "hex"));
}

async function create() {
  const state = load();
  const id = uuidv7();
  let doc = A.init({ actor: state.actor });
  doc = A.change(doc, opts(state), (d) => Object.assign(d, recordFields(state, id)));
  const result = await pushChanges(state, id, A.getAllChanges(doc));
  if (result.status === "accepted") state.server_heads = result.heads;
  Object.assign(state, { id, doc: Buffer.from(A.save(doc)).toString("base64") });
  save(state);
  out({ id, result });
}

function docOf(state) {
  return A.load(Buffer.from(state.doc, "base64"), { actor: state.actor });
}

function edit(json) {
  const state = load();
  const what = JSON.parse(json);
  let doc = docOf(state);
  doc = A.change(doc, opts(state), (d) => {
    if (what.narrative !== undefined) d.narrative = s(what.narrative);
    if (what.participants !== undefined) d.counts.participants = new A.Uint(what.participants);
    // Into the existing map: never `d.counts.services = {...}` (that replaces the container).
    for (const [code, n] of Object.entries(what.services ?? {})) d.counts.services[code] = new A.Uint(n);
  });
  state.doc = Buffer.from(A.save(doc)).toString("base64");
  save(state);
  out({ heads: A.getHeads(doc) });
}

async function push() {
  const state = load();
  const doc = docOf(state);
  const changes = A.getChangesSince(doc, state.server_heads ?? []);
  const result = await pushChanges(state, state.id, changes);
  if (result.status === "accepted") state.server_heads = result.heads;
  save(state);
  out({ sent: changes.length, result });
}

async function pull() {
  const state = load();
  let doc = docOf(state);
  let pulled = 0;
  for (;;) {
    const r = await call(state, "GET", `/sync/pull?since=${state.cursor ?? 0}&limit=500`);
    if (r.status !== 200) return out({ error: "pull", ...r });
    for (const rec of r.body.records) {
      pulled++;
      if (rec.id === state.id) {
        doc = A.merge(doc, A.load(Buffer.from(rec.doc, "base64")));
        state.server_heads = rec.heads;
      }
    }
    state.cursor = r.body.cursor;
    if (!r.body.more) break;
  }
  state.doc = Buffer.from(A.save(doc)).toString("base64");
  save(state);
  // JSON.stringify writes an ImmutableString as its string and a Date in ISO form; `uint`
  // values written by other clients read as BigInt.
  const plain = (_, v) => (typeof v === "bigint" ? Number(v) : v);
  out({ pulled, heads: A.getHeads(doc), record: JSON.parse(JSON.stringify(doc, plain)) });
}

// Records that break one rule each, pushed one by one, with what the server answered.
async function refusals() {
  const state = load();
  const cases = [];
  const fresh = async (name, build, changeOpts = opts(state)) => {
    const id = uuidv7();
    let doc = A.init({ actor: state.actor });
    doc = A.change(doc, changeOpts, (d) => Object.assign(d, build(id)));
    cases.push({ case: name, ...(await pushChanges(state, id, A.getAllChanges(doc))) });
  };
  // The library's default: plain strings become collaborative Text.
  await fresh("text_instead_of_string", (id) => ({
    ...recordFields(state, id),
    title: "Judul sebagai Text",
    narrative: "Narasi sebagai Text",
  }));
  // No container maps in the first change (the fields are added later, separately).
  await fresh("missing_containers", (id) => {
    const r = recordFields(state, id);
    for (const k of ["counts", "lke", "photos", "review"]) delete r[k];
    return r;
  });
  // A number wrapper inside an object literal, which the library stores as a map {value: n}.
  await fresh("uint_wrapper_in_literal", (id) => ({
    ...recordFields(state, id),
    counts: { people_served: new A.Uint(25), services: {} },
  }));
  // The library's default change time: seconds.
  await fresh("seconds_instead_of_ms", (id) => recordFields(state, id), {
    message: `officer:${state.officer}`,
  });
  // A timestamp field written as seconds.
  await fresh("timestamp_in_seconds", (id) => ({
    ...recordFields(state, id),
    captured_at: Math.floor(Date.now() / 1000),
  }));
  await fresh("unknown_kind", (id) => ({ ...recordFields(state, id), kind: s("karaoke") }));
  await fresh("another_unit", (id) => ({ ...recordFields(state, id), unit: s("bali/buleleng/gerokgak") }));
  await fresh("forged_review", (id) => ({
    ...recordFields(state, id),
    review: { verdict: s("valid"), verdict_by: s("reviewer:Saya Sendiri") },
  }));
  // An edit that replaces the `counts.services` container of the stored record.
  if (state.id) {
    const doc = docOf(state);
    const next = A.change(doc, opts(state), (d) => {
      d.counts.services = { "sim-a": 1 };
    });
    cases.push({
      case: "replaced_container",
      ...(await pushChanges(state, state.id, [A.getLastLocalChange(next)])),
    });
  }
  out({ cases });
}

const commands = {
  enroll: () => enroll(args[0], args[1]),
  create,
  edit: () => edit(args[0] ?? "{}"),
  push,
  pull,
  refusals,
};
if (!commands[command]) {
  process.stderr.write(`unknown command ${command}\n`);
  process.exit(2);
}
await commands[command]();
