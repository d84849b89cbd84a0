/**
 * The host half of scripts/test-docker.sh: against the compose stack's API (and console), enrolls this machine's
 * agent (from sources), runs a command on it and checks the output; exits non-zero on any failure.
 *   tsx test/docker/smoke.ts     (API_URL, WEB_URL, ADMIN_EMAIL, ADMIN_PASSWORD, STATE_DIR from the script)
 */
import { join } from 'node:path';
import { fromSources, startChild } from '../../scripts/lib/child.ts';
import { repoRoot, waitFor } from '../../scripts/lib/temporal.ts';

const need = (name: string) =>
  process.env[name] ??
  (() => {
    throw new Error(`${name} is required`);
  })();
const apiUrl = need('API_URL');
const webUrl = need('WEB_URL');
const stateDir = need('STATE_DIR');
const log = (m: string) => console.log(`[test-docker] ${m}`);
const cli = join(repoRoot, 'agent/src/cli.ts');

async function api(token: string | null, method: string, path: string, body?: unknown) {
  const res = await fetch(apiUrl + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const { token } = await api(null, 'POST', '/api/v1/auth/login', { email: need('ADMIN_EMAIL'), password: need('ADMIN_PASSWORD') });
const enrollment = await api(token, 'POST', '/api/v1/enrollment-tokens', { name: 'test-docker', maxUses: 1, expiresInHours: 1 });
const enroll = startChild(
  'agent-enroll',
  ...fromSources(cli, ['enroll', '--server', apiUrl, '--token', enrollment.token, '--state-dir', stateDir]),
);
if ((await enroll.exited) !== 0) throw new Error('agent enroll failed');
const agent = startChild('agent', ...fromSources(cli, ['run', '--state-dir', stateDir]), { output: () => {} });
try {
  const device = await waitFor(
    'the agent online',
    async () => {
      const { items } = await api(token, 'GET', '/api/v1/devices?status=online');
      return (items as { id: string; status: string }[]).find((d) => d.status === 'online');
    },
    60_000,
    500,
  );
  log(`agent enrolled as device ${device.id}`);
  const run = await api(token, 'POST', '/api/v1/job-runs', { deviceIds: [device.id], command: 'echo "from the image: $((6 * 7))"' });
  const finished = await waitFor(
    'the run to finish',
    async () => {
      const body = await api(token, 'GET', `/api/v1/job-runs/${run.id}`);
      return body.finishedAt ? body : null;
    },
    90_000,
    500,
  );
  const output = await api(token, 'GET', `/api/v1/job-runs/${run.id}/output?deviceId=${device.id}&limit=100`);
  const stdout = (output.items as { stream: string; data: string }[])
    .filter((c) => c.stream === 'stdout')
    .map((c) => c.data)
    .join('');
  if (finished.targets[0]?.status !== 'succeeded' || stdout !== 'from the image: 42\n') {
    throw new Error(`unexpected result: ${JSON.stringify(finished.targets)} ${JSON.stringify(stdout)}`);
  }
  log(`job run ${run.id} succeeded: ${JSON.stringify(stdout)}`);
  const login = await fetch(`${webUrl}/login`);
  const html = await login.text();
  if (login.status !== 200 || !html.includes('Sign in')) throw new Error(`console /login: ${login.status}`);
  log('console serves its sign-in page');
} finally {
  await agent.stop();
}
