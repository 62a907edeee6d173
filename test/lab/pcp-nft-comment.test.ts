/**
 * Issue 18, clean edges: a PCP DESCRIPTION is peer text that ends up in an nftables comment. With a
 * hostile one (`x" ; y`, a brace, a backslash, a hash) mapped through `talkgate middlebox`, the ruleset
 * saved with `nft list ruleset` must load back with `nft -c -f`. Own namespaces, prefix `tgnc`:
 *   tgnc-in 10.209.0.2 ── tgnc-mb (10.209.0.1 | 198.51.100.1) ── tgnc-out 198.51.100.2, .3
 * plus an empty namespace tgnc-chk to check the saved ruleset in. Only these addresses are used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { inNs, labDown, labUp, repoRoot, waitFor, type Topo } from './pcp-lab.js';

const TOPO: Topo = {
  ns: { inside: 'tgnc-in', box: 'tgnc-mb', outside: 'tgnc-out' },
  addr: { inside: '10.209.0.2', boxIn: '10.209.0.1', boxOut: '198.51.100.1', peer: '198.51.100.2', other: '198.51.100.3' },
  ifs: { inside: 'tgnc-i0', boxIn: 'tgnc-mbi', outside: 'tgnc-o0', boxOut: 'tgnc-mbo' },
  insideNet: '10.209.0.0/24',
};
const CHECK_NS = 'tgnc-chk';
const HOSTILE = 'x" ; y } \\ #z';

const skip = labSkip([]);

function dropCheckNs(): void {
  try {
    execFileSync('ip', ['netns', 'del', CHECK_NS], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* absent */
  }
}

test('a mapping with a hostile PCP DESCRIPTION leaves a saved ruleset that `nft -c -f` loads', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tgnc-'));
  const conf = join(dir, 'mb.toml');
  const { addr, ifs, ns } = TOPO;
  writeFileSync(conf, `[inside]\naddress = "${addr.boxIn}"\ninterface = "${ifs.boxIn}"\nnetworks = ["${TOPO.insideNet}"]\n[outside]\naddress = "${addr.boxOut}"\ninterface = "${ifs.boxOut}"\n[pcp]\nmin_lifetime = 5\nmax_lifetime = 600\n[firewall]\ntable = "talkgate_pcp"\n`);
  labUp(TOPO);
  dropCheckNs();
  execFileSync('ip', ['netns', 'add', CHECK_NS], { stdio: 'ignore', timeout: 10_000 });
  const bin = join(repoRoot(), 'bin', 'talkgate.js');
  const mb = spawn('ip', ['netns', 'exec', ns.box, process.execPath, bin, 'middlebox', '--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitFor(mb, /listening on/, 15_000);
    const json = inNs(ns.inside, [process.execPath, bin, 'pcp', 'map', '--server', addr.boxIn, '--internal-port', '5555', '--external-port', '40000', '--lifetime', '60', '--description', HOSTILE, '--json', '--irt', '500']);
    assert.equal((JSON.parse(json) as { ok: boolean }).ok, true, json);

    const saved = inNs(ns.box, ['nft', 'list', 'ruleset']);
    assert.match(saved, /comment "map-1 10\.209\.0\.2:5555 x_ _ y _ _ _z"/, 'the mapping is there, its DESCRIPTION reduced to safe characters');
    const file = join(dir, 'saved.nft');
    writeFileSync(file, saved);
    // Checked in an empty namespace, so the saved text alone must parse and apply (-c: nothing is committed).
    execFileSync('ip', ['netns', 'exec', CHECK_NS, 'nft', '-c', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });

    mb.kill('SIGTERM');
    await new Promise((res) => mb.once('exit', res));
  } finally {
    mb.kill('SIGKILL');
    labDown(TOPO);
    dropCheckNs();
    rmSync(dir, { recursive: true, force: true });
  }
});
