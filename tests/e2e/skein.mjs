// Helpers shared by the end-to-end tests: start the real `skein serve` on a free loopback port,
// send spans with the OpenTelemetry JS SDK, read them back through the JSON API and the CLI.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SKEIN_BIN = process.env.SKEIN_BIN || join(here, '..', '..', 'build', 'bin', 'skein');

export async function startServe(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'skein-e2e-'));
  const db = join(dir, 'store.db');
  const child = spawn(SKEIN_BIN, ['serve', '--db', db, '--port', '0', '--quiet', ...extraArgs],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`skein serve exited with ${code}: ${out}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port, base, db,
    url: `${base}/v1/traces`,
    async api(path) {
      const res = await fetch(base + path);
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    },
    cli(...args) {
      return execFileSync(SKEIN_BIN, [...args, '--db', db], { encoding: 'utf8' });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
