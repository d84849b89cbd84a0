/** Starts `temporal server start-dev` (in-memory unless a db file is given) with our search attributes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { temporalCliPath, freePort, waitFor } from './tools.ts';
import { devServerSearchAttributeArgs } from '@opsconductor/workflows/search-attributes';

export interface DevServer { address: string; uiPort: number; process: ChildProcess; stop(): Promise<void> }

export async function startTemporalDevServer(opts: { port?: number; uiPort?: number; dbFilename?: string } = {}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'error'];
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  else args.push('--headless');
  args.push(...devServerSearchAttributeArgs());
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(`temporal dev server on ${port}`, () => {
    if (child.exitCode !== null) throw new Error(`temporal exited: ${stderr}`);
    return new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    uiPort,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
