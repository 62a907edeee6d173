/** `talkgate middlebox --config FILE`: PCP/NAT-PMP server programming nftables. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { openNftBackend } from '../firewall/nft-library-runner.js';
import { parseMiddleboxConfig } from '../pcp/middlebox-config.js';
import { PcpServer } from '../pcp/pcp-server.js';
import { middleboxStatus } from '../pcp/middlebox-status.js';
import { startAdminServer } from '../gateway/admin/admin-server.js';
import { Registry } from 'prom-client';
import { systemClock } from '../shared/clock.js';

export function command(): Command {
  return new Command('middlebox')
    .description('PCP (RFC 6887) / NAT-PMP server on the inside address that programs nftables')
    .requiredOption('--config <file>', 'TOML configuration')
    .option('--quiet', 'log only errors')
    .option('--nft <how>', 'drive nftables through "lib" (libnftables in process, default; falls back to exec) or "exec" (nft -j per batch)', 'lib')
    .action(async (opts: { config: string; quiet?: boolean; nft: string }) => {
      let settings;
      try {
        settings = parseMiddleboxConfig(readFileSync(opts.config, 'utf8'));
      } catch (e) {
        process.stderr.write(`talkgate middlebox: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const log = (line: string): void => {
        if (opts.quiet !== true || /fail|error/i.test(line)) process.stderr.write(`[middlebox ${new Date().toISOString()}] ${line.replace(/[^\x20-\x7e]/g, '?')}\n`);
      };
      const choice = openNftBackend(opts.nft === 'exec' ? 'exec' : 'lib');
      if (choice.fallback !== undefined) log(`running nft -j per batch: ${choice.fallback}`);
      const nft = choice.backend;
      const server = new PcpServer({ ...settings, nft, clock: systemClock, log });
      try {
        await server.start();
      } catch (e) {
        process.stderr.write(`talkgate middlebox: ${(e as Error).message}\n`);
        await server.stop().catch(() => undefined);
        process.exitCode = 1;
        return;
      }
      const admin =
        settings.adminListen === undefined
          ? undefined
          : await startAdminServer({ listen: settings.adminListen, status: () => middleboxStatus(server.core.mappings(), systemClock.now()), registry: new Registry() }).catch((e: unknown) => {
              log(`admin page not started: ${(e as Error).message}`);
              return undefined;
            });
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.off('SIGINT', done);
          process.off('SIGTERM', done);
          resolve();
        };
        process.on('SIGINT', done);
        process.on('SIGTERM', done);
      });
      await admin?.close();
      await server.stop();
      process.exitCode = 0;
    });
}
