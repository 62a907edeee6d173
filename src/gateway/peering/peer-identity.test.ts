import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certificateNames, checkPeerCertificate } from './peer-identity.js';

const peer = { name: 'gw2', address: '192.0.2.2' };
const cert = { subject: 'O=org2\nCN=gw2', subjectAltName: 'DNS:gw2.example, IP Address:192.0.2.2', fingerprint256: 'AB:CD' };

test('certificateNames() reads the CN and the DNS subjectAltNames, lower-cased', () => {
  assert.deepEqual(certificateNames({ ...cert, subject: 'CN=GW2' }), ['gw2', 'gw2.example']);
});

test('checkPeerCertificate() accepts the CA-verified certificate naming the peer, and its pinned fingerprint', () => {
  assert.equal(checkPeerCertificate(peer, true, cert), undefined);
  assert.equal(checkPeerCertificate({ ...peer, fingerprint: 'AB:CD' }, true, cert), undefined);
});

test('checkPeerCertificate() refuses an unverified chain, no certificate, another name and another fingerprint', () => {
  assert.equal(checkPeerCertificate(peer, false, cert), 'peer-unauthenticated');
  assert.equal(checkPeerCertificate(peer, true, undefined), 'peer-unauthenticated');
  assert.equal(checkPeerCertificate(peer, true, { ...cert, subject: 'CN=gw1', subjectAltName: undefined }), 'peer-wrong-name');
  assert.equal(checkPeerCertificate({ ...peer, fingerprint: '00:11' }, true, cert), 'peer-wrong-fingerprint');
});
