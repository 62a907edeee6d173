import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { labSkip } from './prereq.js';
import { ClientDriver, TOPO_UPNP as T, canConnect, labDown, labUp, listen, waitFor } from './pcp-lab.js';
import { MINIUPNPD, miniupnpd } from './pcp-miniupnpd.lab.js';

interface MapView {
  result: string;
  lifetime: number;
  epoch: number;
  externalAddress: string;
  externalPort: number;
  nonce: string;
}

test('talkgate PCP client vs miniupnpd: create, renew, delete; restart detected through the epoch', { skip: labSkip([MINIUPNPD, '/usr/bin/natpmpc']), timeout: 90_000 }, async () => {
  labUp(T);
  const upnp = miniupnpd(T);
  const srv = listen(T.ns.inside, 5555);
  const drv = new ClientDriver(T.ns.inside, T.addr.boxIn, 500, 4);
  try {
    await upnp.start();
    await waitFor(srv, /up/, 5000);
    const a0 = await drv.call<{ result: string; epoch: number }>({ op: 'announce' });
    assert.equal(a0.result, 'SUCCESS');

    const m = await drv.call<MapView>({ op: 'map', internalPort: 5555, suggestedPort: 41000, lifetime: 60 });
    assert.deepEqual([m.result, m.externalAddress, m.externalPort], ['SUCCESS', T.addr.boxOut, 41000]);
    assert.equal(canConnect(T.ns.outside, T.addr.peer, T.addr.boxOut, 41000), true, 'mapping through miniupnpd works');

    const r = await drv.call<MapView>({ op: 'map', internalPort: 5555, suggestedPort: 41000, lifetime: 120, nonce: m.nonce });
    assert.deepEqual([r.result, r.externalPort, r.lifetime], ['SUCCESS', 41000, 120], 'renewed');

    // Let the epoch grow, restart miniupnpd: the epoch goes backwards, the client re-creates.
    await new Promise((res) => setTimeout(res, 4000));
    const before = await drv.call<{ epoch: number }>({ op: 'announce' });
    assert.ok(before.epoch >= 3, `epoch grew (${before.epoch})`);
    assert.equal(drv.events.length, 0, 'no state loss yet');
    await upnp.stop();
    await upnp.start();
    const after = await drv.call<{ epoch: number }>({ op: 'announce' });
    assert.ok(after.epoch < before.epoch, `epoch restarted (${before.epoch} → ${after.epoch})`);
    const ev = drv.events[0] as { event: string; recreated: MapView[] } | undefined;
    assert.equal(ev?.event, 'stateLoss', 'state loss detected');
    assert.equal(ev?.recreated[0]?.result, 'SUCCESS', 'mapping re-created');
    assert.equal(ev?.recreated[0]?.externalPort, 41000);
    assert.equal(canConnect(T.ns.outside, T.addr.peer, T.addr.boxOut, 41000), true, 'works after restart');

    const d = await drv.call<MapView>({ op: 'delete', internalPort: 5555, nonce: m.nonce });
    assert.equal(d.result, 'SUCCESS');
    assert.equal(canConnect(T.ns.outside, T.addr.peer, T.addr.boxOut, 41000), false, 'deleted mapping refuses');
  } finally {
    drv.stop();
    srv.kill('SIGKILL');
    await upnp.stop();
    labDown(T);
    rmSync(upnp.dir, { recursive: true, force: true });
  }
});
