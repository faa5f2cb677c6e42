// A real parleyd for the browser tests: a free loopback port, a temporary data directory, fast
// password hashing, and the built web client (web/dist) as its web root. stop() and start()
// again keep the port and the data, as a restart in production would.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync, existsSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB_ROOT = path.join(REPO, 'web/dist');

function resolveBinary() {
  const configured = process.env.PARLEYD ?? 'build/src/app/parleyd';
  return path.isAbsolute(configured) ? configured : path.join(REPO, configured);
}

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Parleyd {
  constructor({ port, dataDir, args = [] }) {
    this.port = port;
    this.dataDir = dataDir;
    this.args = args;
    this.proc = null;
    this.logPath = path.join(dataDir, 'parleyd.log');
  }

  /** Starts a new server on a free port with a fresh data directory. */
  static async launch(args = []) {
    if (!existsSync(path.join(WEB_ROOT, 'index.html'))) {
      throw new Error(`the web client is not built (${WEB_ROOT}/index.html missing): run "npm ci && npm run build" in web/`);
    }
    const server = new Parleyd({ port: await freePort(), dataDir: mkdtempSync(path.join(tmpdir(), 'parley-browser-')), args });
    await server.start();
    return server;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const binary = resolveBinary();
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(binary, [
      '--listen', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      '--auth.argon2_opslimit', '1',
      '--auth.argon2_memlimit_kb', '8',
      '--server.web_root', WEB_ROOT,
      ...this.args,
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    const exited = once(this.proc, 'exit');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      try {
        const response = await fetch(`${this.base}/readyz`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await Promise.race([sleep(50), exited]);
    }
    throw new Error(`parleyd did not become ready:\n${this.log()}`);
  }

  /** Stops the server (SIGTERM: graceful, sessions get close 1001) and waits for the exit. */
  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    this.proc = null;
  }

  /** Stops the server and removes its data directory. */
  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }
}
