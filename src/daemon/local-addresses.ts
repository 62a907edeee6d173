/**
 * "Is this address one of ours?" for LEAVE_INVITE (netkit accepts it only from a local address):
 * 127.0.0.0/8 and the IPv4 addresses of this host's interfaces, refreshed at most every
 * LOCAL_ADDRESS_REFRESH_MS (interfaces may change while the daemon runs).
 */
import { networkInterfaces } from 'node:os';

const LOCAL_ADDRESS_REFRESH_MS = 5_000;

export function localAddressChecker(): (address: string) => boolean {
  let cached = new Set<string>();
  let at = -Infinity;
  return (address) => {
    if (address.startsWith('127.')) return true;
    const now = Date.now();
    if (now - at > LOCAL_ADDRESS_REFRESH_MS) {
      cached = new Set(
        Object.values(networkInterfaces())
          .flatMap((list) => list ?? [])
          .filter((i) => i.family === 'IPv4')
          .map((i) => i.address),
      );
      at = now;
    }
    return cached.has(address);
  };
}
