// A cluster for the browser tests: tests/integration/cluster.py (the code behind
// ./scripts/cluster.sh) brings up three NATS servers, Redis, PostgreSQL with a synchronous
// standby, N parleyd nodes serving the web client, and HAProxy in front; down() stops exactly
// that and removes its directory.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO, WEB_ROOT, freePort } from './parleyd.mjs';

const run = promisify(execFile);
const CLI = path.join(REPO, 'tests/integration/cluster.py');

function binary() {
  const configured = process.env.PARLEYD ?? 'build/src/app/parleyd';
  return path.isAbsolute(configured) ? configured : path.join(REPO, configured);
}

export class LocalCluster {
  constructor(dir, front, nodes) {
    this.dir = dir;
    this.front = front;   // HAProxy: what a browser opens
    this.nodes = nodes;   // each node's own address, in node id order
  }

  static async up(nodes = 2) {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-browser-cluster-'));
    chmodSync(dir, 0o755);  // PostgreSQL runs as its own user and must reach its data directory
    const nodeArgs = `--server.web_root ${WEB_ROOT} --auth.argon2_opslimit 1 --auth.argon2_memlimit_kb 8`;
    try {
      await run('/usr/bin/python3', [CLI, 'up', '--nodes', String(nodes), '--dir', dir, '--port', String(await freePort()),
        '--parleyd', binary(), '--node-arg', nodeArgs], { cwd: REPO, timeout: 240_000 });
    } catch (error) {
      await run('/usr/bin/python3', [CLI, 'down', '--dir', dir, '--wipe'], { cwd: REPO }).catch(() => {});
      throw new Error(`cluster.py up failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
    const state = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8'));
    const parleyds = state.components.filter((c) => c.kind === 'parleyd').sort((a, b) => a.node_id - b.node_id);
    return new LocalCluster(dir, state.url, parleyds.map((c) => `http://127.0.0.1:${c.port}`));
  }

  async down() {
    await run('/usr/bin/python3', [CLI, 'down', '--dir', this.dir, '--wipe'], { cwd: REPO, timeout: 120_000 });
  }
}
