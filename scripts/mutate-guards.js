#!/usr/bin/env node
// Issue 12, "unit tests that guard the guards": proves that every security check of the gateway
// session core has a unit test that FAILS when the check is removed or inverted.
//
// For each (file, exact original snippet, mutated snippet, test file) below it applies the
// mutation to a private copy of src/ (never to the working tree), runs that one test file with
// `tsx --test`, expects it to fail, restores the snippet, and prints a table. A mutation whose
// test still passes ("SURVIVED") or whose snippet no longer matches exactly once ("STALE") makes
// the script exit 1. The unmutated test files must pass first (else the run proves nothing).
//
// Run by hand after changing a check or its test (about 2 s per mutation on one core; not part
// of `npm test`):   node scripts/mutate-guards.js [--jobs N] [id-substring ...]
// `--stale` only checks that every snippet still matches exactly once (no test run, milliseconds):
// `npm test` runs that, so a changed check cannot silently drop out of the list.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
/** One test run may take this long before it counts as failed (a mutant that hangs is killed). */
const RUN_TIMEOUT_MS = 60_000;
/** Parallel workers, each with its own copy of src/ (the machine is shared: default one). */
const DEFAULT_JOBS = 1;

const S = 'src/gateway/session/';
const CORE = `${S}gateway-sessions.ts`;
const SHARES = `${S}call-table-shares.ts`;
const GUARDS = `${S}session-guards.test.ts`;

/** [id, check, file, original, mutated, test file]. */
const MUTATIONS = [
  // --- the request edge
  ['rate-per-source', 'per-source request rate', CORE, 'if (!this.#rate.allow(ingress.source.address)) {', 'if (false) {', GUARDS],
  ['side-source-removed', 'request source lies on its face\'s side', CORE, "return ingress.side === 'inside' ? inside : !inside;", 'return true;', GUARDS],
  ['side-source-inverted', 'request source lies on its face\'s side (inverted for the outside face)', CORE, "return ingress.side === 'inside' ? inside : !inside;", "return ingress.side === 'inside' ? inside : inside;", GUARDS],
  ['version', 'ntalk version (BADVERSION)', CORE, "if (req.protocol === 'ntalk' && req.msg.version !== TALK_VERSION) {", 'if (false) {', GUARDS],
  ['name-l', 'l_name printable', CORE, 'if (!isPrintableName(m.lName) || (m.type', 'if ((m.type', GUARDS],
  ['name-r', 'r_name printable', CORE, '(m.type !== RequestType.DELETE && !isPrintableName(m.rName))) {', '(false)) {', GUARDS],
  // --- ANNOUNCE
  ['addr-family', 'ANNOUNCE addr is AF_INET (BADADDR)', CORE, "if (m.addr.family !== AF_INET) return refuse(Answer.BADADDR, 'bad-addr', 'addr is not AF_INET');", '', GUARDS],
  ['addr-host', "ANNOUNCE addr is the caller's host (no third-party connect)", CORE, 'if (m.addr.address !== ingress.source.address || m.addr.port === 0) {', 'if (m.addr.port === 0) {', GUARDS],
  ['addr-port', 'ANNOUNCE addr port is not 0', CORE, 'if (m.addr.address !== ingress.source.address || m.addr.port === 0) {', 'if (m.addr.address !== ingress.source.address) {', GUARDS],
  ['resolved-side', "a resolved address lies on the callee's side", CORE, 'if (!this.#isOnSide(call.calleeSide, address)) {', 'if (false) {', GUARDS],
  ['resolved-side-inverted', "a resolved address lies on the callee's side (inverted)", CORE, "return side === 'inside' ? inside : !inside;", "return side === 'inside' ? !inside : inside;", GUARDS],
  ['resolve-timeout', 'a pending resolution is bounded in time', CORE, 'call.deadline = now + RESOLVE_TIMEOUT_MS;', 'void RESOLVE_TIMEOUT_MS;', GUARDS],
  ['policy', 'policy decision (PERMISSION_DENIED)', CORE, 'if (!decision.allow) {', 'if (false) {', GUARDS],
  ['data-path-peer', "the data path admits only the callee's host", CORE, 'expectedPeer: address,', 'expectedPeer: call.ingress.source.address,', GUARDS],
  ['ctl-addr-announce', "the forwarded ANNOUNCE's ctl_addr is the gateway's", CORE, "// the address part is already the gateway's own on this side.\n        ctlAddr: { family: AF_INET, address: gw, port: 0 },", "ctlAddr: { family: AF_INET, address: call.ingress.source.address, port: 0 },", GUARDS],
  ['data-path-gone', 'a data path opened for a gone call is closed', CORE, "if (result.ok) this.#fx.push({ kind: 'closeDataPath', callId });", '', GUARDS],
  // --- LOOK_UP
  ['lookup-side', "LOOK_UP only on the callee's side", CORE, 'if (call.calleeSide !== ingress.side || call.dataPath === undefined) continue;', 'if (call.dataPath === undefined) continue;', GUARDS],
  ['lookup-state', 'LOOK_UP finds only an announcing/ringing/answered call', CORE, "if (call.state !== 'announcing' && call.state !== 'ringing' && call.state !== 'answered') continue;", '', GUARDS],
  ['announce-resend-absorbed', "the caller's resends are absorbed until the first ANNOUNCE is answered", CORE, 'if (!call.announced || call.reannouncing) return;', 'if (call.reannouncing) return;', `${S}gateway-sessions.test.ts`],
  ['lookup-host', 'LOOK_UP only from the callee host', CORE, 'if (call.calleeAddress !== ingress.source.address) {', 'if (false) {', GUARDS],
  ['lookup-intercepted', 'an intercepted LOOK_UP finds only an intercepted call of that caller', CORE, 'if (od !== undefined && (call.ingress.originalDestination === undefined || call.ingress.source.address !== od.address)) continue;', '', `${S}transparent-sessions.test.ts`],
  // --- DELETE
  ['delete-source', 'a DELETE only from the party that may send it', CORE, 'if (call === undefined || ingress.source.address !== (call.callerSide === ingress.side ? call.ingress.source.address : call.calleeAddress)) {', 'if (call === undefined) {', GUARDS],
  ['delete-connected', "the callee's DELETE does not end a connected call", CORE, "if (call.state !== 'connected') this.#endCall(call, 'stale-invitation', 'callee reported a stale invitation', undefined, true);", "this.#endCall(call, 'stale-invitation', 'callee reported a stale invitation', undefined, true);", GUARDS],
  ['delete-addr', 'the forwarded DELETE carries an AF_INET addr (issue 13)', CORE, 'addr: deleteAddr(call.dataPath, gw),', 'addr: NO_ADDR,', GUARDS],
  ['delete-ctl-addr', "the forwarded DELETE's ctl_addr is the gateway's", CORE, 'addr: deleteAddr(call.dataPath, gw),\n        ctlAddr: { family: AF_INET, address: gw, port: 0 },', 'addr: deleteAddr(call.dataPath, gw),\n        ctlAddr: { family: AF_INET, address: call.ingress.source.address, port: 0 },', GUARDS],
  // --- re-announces
  ['dup-answered', 're-announce duplicate check (id <= id given)', CORE, '(m.id !== IMPOSSIBLE_ID && m.id <= call.clientId) || ', '', GUARDS],
  ['dup-answered-off-by-one', 're-announce duplicate check (id == id given)', CORE, 'm.id <= call.clientId', 'm.id < call.clientId', GUARDS],
  ['dup-reannounce', 're-announce duplicate check (resend of the last re-announce)', CORE, ' || m.id === call.lastReannounceId) {', ') {', GUARDS],
  ['dup-in-flight', 'resends absorbed while a re-announce is in flight', CORE, 'if (!call.announced || call.reannouncing) return;', 'if (!call.announced) return;', GUARDS],
  // --- the gateway as a client
  ['response-port', "a daemon's response comes from its port", CORE, ' || source.port !== ports[o.protocol] || ', ' || ', GUARDS],
  ['response-type', "a daemon's response has the request's type", CORE, ' || res.msg.type !== o.type) {', ') {', GUARDS],
  ['response-protocol', "a daemon's response has the request's protocol", CORE, 'if (o === undefined || res.protocol !== o.protocol || ', 'if (o === undefined || ', GUARDS],
  ['queue-bound', 'per-host queue bound', CORE, 'if (q.length >= MAX_QUEUED_REQUESTS_PER_HOST) {', 'if (false) {', GUARDS],
  ['tries-bound', 'retries per request are bounded', CORE, 'if (o.tries >= GATEWAY_CTL_TRIES) {', 'if (false) {', GUARDS],
  ['idle-expiry', 'a ringing call expires after MAX_LIFE', CORE, "} else if (call.state === 'ringing' || call.state === 'answered') {", '} else if (false) {', `${S}gateway-sessions.test.ts`],
  ['otalk-answer', 'otalk callers get only otalk answers', CORE, 'const a = answer > OTALK_MAX_ANSWER ? Answer.FAILED : answer;', 'const a = answer;', `${S}gateway-sessions.test.ts`],
  // --- table bounds and rates
  ['global-rate', 'global new-call rate per side (hook)', CORE, 'if (!this.#newCalls.take(ingress.side, now)) {', 'if (false) {', `${S}new-call-rate-limiter.test.ts`],
  ['global-rate-bucket', 'global new-call rate per side (bucket)', `${S}new-call-rate-limiter.ts`, 'if (b.tokens < 1) return false;', '', `${S}new-call-rate-limiter.test.ts`],
  ['shares-hook', 'call table shares refuse (hook)', CORE, 'if (refusal !== undefined) {', 'if (false) {', GUARDS],
  ['shares-release', 'an ended call frees its slot', CORE, 'this.#shares.remove(call.id);', '', GUARDS],
  ['shares-settle', 'a connected call stops ringing its callee', CORE, 'this.#shares.settle(call.id);', '', GUARDS],
  ['same-caller-hook', 'another ANNOUNCE for a callee the address rings is a repeat (hook)', CORE, 'if (sibling !== undefined) {', 'if (false) {', GUARDS],
  ['same-caller-pair', 'another ANNOUNCE for a callee the address rings is a repeat (table)', SHARES, 'if (!this.#pendingPair.has(pk)) this.#pendingPair.set(pk, callId);', '', GUARDS],
  ['same-callee-key', 'one callee under several names', CORE, "return `${side}|${user}|${known === undefined || known === 'ask' ? host.toLowerCase() : known}`;", 'return `${side}|${user}|${host.toLowerCase()}`;', GUARDS],
  ['share-table', 'max_calls', SHARES, "if (this.#entries.size >= l.maxCalls) return 'table_full';", '', `${S}call-table-shares.test.ts`],
  ['share-side', 'side reserve', SHARES, "if (this.#entries.size + 1 + owed > l.maxCalls) return 'side_share';", '', `${S}call-table-shares.test.ts`],
  ['share-side-core', 'side reserve (through the core)', SHARES, "if (this.#entries.size + 1 + owed > l.maxCalls) return 'side_share';", '', GUARDS],
  ['share-source', 'calls_per_source', SHARES, "if ((this.#bySource.get(claim.source) ?? 0) >= l.callsPerSource) return 'source_share';", '', `${S}call-table-shares.test.ts`],
  ['share-network', 'calls_per_network', SHARES, "if (network !== undefined && (this.#byNetwork.get(network) ?? 0) >= l.callsPerNetwork) return 'network_share';", '', `${S}call-table-shares.test.ts`],
  ['share-network-prefix', 'network_prefix groups outside callers', SHARES, 'const mask = p === 0 ? 0 : (0xffff_ffff << (32 - p)) >>> 0;', 'const mask = 0xffff_ffff;', GUARDS],
  ['share-callee', 'pending_per_callee', SHARES, "if (claim.callee !== undefined && (this.#pendingByCallee.get(claim.callee) ?? 0) >= l.pendingPerCallee) return 'callee_pending';", '', `${S}call-table-shares.test.ts`],
  ['refusal-once', 'share refusals logged once per window', `${S}refusal-summary.ts`, 'if (this.#dueAt !== undefined) return false;', '', GUARDS],
  ['version-cache-bound', 'version cache bound', `${S}version-cache.ts`, 'if (this.#entries.size >= this.#max) {', 'if (false) {', `${S}version-cache.test.ts`],
  // --- HA: a call rebuilt from the caller's daemon (call-recovery.ts)
  ['rebuild-addr-host', "a rebuilt call's invitation addr is the caller's host (no third-party connect)", CORE, 'if (addr.family !== AF_INET || addr.address !== r.callerAddress || addr.port === 0) {', 'if (addr.port === 0) {', `${S}call-recovery.test.ts`],
  ['rebuild-callee-host', 'only a callee host the directory leads to starts a rebuild', CORE, 'if (names.length === 0) return false;', '', `${S}call-recovery.test.ts`],
  ['ha-backup-no-hole', 'an HA backup opens no hole (ha-not-master)', 'src/gateway/privsep/privileged-service.ts', "if (this.#o.serving?.() === false) return this.#refuse(r.id, 'ha-not-master', 'this node of the HA pair is not the master', r);", '', 'src/gateway/privsep/privileged-service.test.ts'],
  ['rebuild-ha-only', 'calls are rebuilt only on an HA node', CORE, 'if (this.#config.ha !== undefined && ingress.originalDestination', 'if (ingress.originalDestination', `${S}call-recovery.test.ts`],
];

/** How often `snippet` occurs in the worktree's `file`. */
function matches(file, snippet) {
  return readFileSync(join(root, file), 'utf8').split(snippet).length - 1;
}

function parseArgs(argv) {
  let jobs = DEFAULT_JOBS;
  let staleOnly = false;
  const only = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--jobs') jobs = Math.max(1, Number(argv[++i]) || DEFAULT_JOBS);
    else if (argv[i] === '--stale') staleOnly = true;
    else only.push(argv[i]);
  }
  return { jobs, staleOnly, only };
}

/** A private copy of the sources the tests need, with the worktree's node_modules linked in. */
function makeCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'tg-mutate-'));
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(root, f), join(dir, f));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function runTest(dir, testFile) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [join(dir, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '--test', testFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), RUN_TIMEOUT_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ passed: code === 0, ms: Date.now() - t0, timedOut: signal === 'SIGKILL', out });
    });
  });
}

async function main() {
  const { jobs, staleOnly, only } = parseArgs(process.argv.slice(2));
  const chosen = MUTATIONS.filter(([id]) => only.length === 0 || only.some((o) => id.includes(o)));
  if (staleOnly) {
    const stale = chosen.filter(([, , file, original]) => matches(file, original) !== 1);
    for (const [id, , file, original] of stale) process.stderr.write(`mutate-guards: ${id}: its snippet matches ${matches(file, original)} times in ${file} (must be once)\n`);
    process.stdout.write(`mutate-guards: ${chosen.length - stale.length} of ${chosen.length} snippets match their check\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
    return;
  }
  const copies = Array.from({ length: Math.min(jobs, Math.max(1, chosen.length)) }, makeCopy);
  const cleanup = () => copies.forEach((d) => rmSync(d, { recursive: true, force: true }));
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    // Snippets must match exactly once, else the list is stale.
    const rows = [];
    const runnable = [];
    for (const m of chosen) {
      const [id, check, file, original] = m;
      const n = matches(file, original);
      if (n !== 1) rows.push({ id, check, test: m[5], result: `STALE (${n} matches)`, ms: 0 });
      else runnable.push(m);
    }
    // The unmutated tests must pass.
    for (const t of [...new Set(runnable.map((m) => m[5]))]) {
      const r = await runTest(copies[0], t);
      if (!r.passed) {
        process.stderr.write(`${t} fails without any mutation:\n${r.out.slice(-4000)}\n`);
        process.exit(1);
      }
    }
    let next = 0;
    const worker = async (dir) => {
      while (next < runnable.length) {
        const [id, check, file, original, mutated, testFile] = runnable[next++];
        const path = join(dir, file);
        const text = readFileSync(path, 'utf8');
        writeFileSync(path, text.replace(original, () => mutated));
        try {
          const r = await runTest(dir, testFile);
          rows.push({ id, check, test: testFile, result: r.passed ? 'SURVIVED' : r.timedOut ? 'killed (timeout)' : 'killed', ms: r.ms });
        } finally {
          writeFileSync(path, text);
        }
      }
    };
    await Promise.all(copies.map(worker));
    rows.sort((a, b) => MUTATIONS.findIndex((m) => m[0] === a.id) - MUTATIONS.findIndex((m) => m[0] === b.id));
    const w = (k, min) => Math.max(min, ...rows.map((r) => String(r[k]).length));
    const [wi, wc, wt, wr] = [w('id', 2), w('check', 5), w('test', 4), w('result', 6)];
    const line = (r) => `${String(r.id).padEnd(wi)}  ${String(r.check).padEnd(wc)}  ${String(r.test).replace(S, '').padEnd(wt - S.length)}  ${String(r.result).padEnd(wr)}  ${r.ms}`;
    process.stdout.write(`${line({ id: 'id', check: 'check', test: `${S}test`, result: 'result', ms: 'ms' })}\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
    const bad = rows.filter((r) => !r.result.startsWith('killed'));
    process.stdout.write(`\n${rows.length - bad.length} of ${rows.length} mutations killed${bad.length > 0 ? `; NOT killed: ${bad.map((r) => r.id).join(', ')}` : ''}\n`);
    process.exitCode = bad.length > 0 ? 1 : 0;
  } finally {
    cleanup();
  }
}

await main();
