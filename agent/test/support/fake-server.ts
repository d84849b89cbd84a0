/**
 * A loopback implementation of the `/agent/v1` protocol that records everything the agent sends and
 * validates each body against the contract schemas, so tests fail if the agent speaks the protocol
 * wrong. Failures, cancellations and credential rejection are scripted per test.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AGENT_API_PREFIX,
  checkinRequest,
  commandResult,
  enrollRequest,
  goodbyeRequest,
  heartbeatRequest,
  MAX_OUTPUT_CHUNK_BYTES,
  outputRequest,
  startRequest,
  type CommandResult,
  type OutputRequest,
} from '@opsconductor/contracts/agent-protocol';
import {
  inventoryReport,
  inventorySectionNames,
  inventorySections,
  type InventoryReport,
  type InventorySectionName,
  type InventorySections,
} from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import type { z } from 'zod';

export interface RecordedResult {
  id: string;
  body: CommandResult;
  /** HTTP status the fake answered with. */
  status: number;
}

export interface RecordedOutput extends OutputRequest {
  id: string;
  bytes: number;
}

export interface RecordedInventory {
  body: InventoryReport;
  /** HTTP status the fake answered with. */
  status: number;
  at: number;
}

type Endpoint = 'enroll' | 'checkin' | 'poll' | 'start' | 'output' | 'heartbeat' | 'result' | 'inventory' | 'goodbye' | 'file';

export class FakeServer {
  readonly deviceId = randomUUID();
  readonly deviceSecret = randomBytes(32).toString('base64url');
  readonly enrollmentToken = 'enroll-' + randomBytes(8).toString('hex');
  url = '';

  enrolls: unknown[] = [];
  checkins: unknown[] = [];
  polls = 0;
  starts: { id: string; startedAt: string }[] = [];
  outputs: RecordedOutput[] = [];
  heartbeats: string[] = [];
  /** Phases sent with heartbeats, in arrival order. */
  phases: { id: string; phase: string }[] = [];
  /** What check-in answers as `commandPhases`; undefined plays a server from before command phases. */
  commandPhases: string[] | undefined;
  results: RecordedResult[] = [];
  /** Bodies that failed contract validation, with the endpoint: must stay empty. */
  invalid: { endpoint: string; issues: string }[] = [];
  unauthorized = 0;
  /** When each goodbye arrived, and how many results had been accepted by then. */
  goodbyes: { at: number; resultsBefore: number }[] = [];
  /** While true, /goodbye never answers (a server that hangs). */
  hangGoodbye = false;

  /** While true, every authenticated call gets 401. */
  rejectCredentials = false;
  /** Commands reported as cancelRequested by /output and /heartbeat. */
  readonly cancelRequested = new Set<string>();
  /** Per endpoint, statuses to answer with (as problem+json) before behaving normally. */
  readonly failures = new Map<Endpoint, number[]>();
  checkinIntervalSeconds = 300;
  /** What check-in answers as `outputEncodings`; undefined plays a server from before base64 output. */
  outputEncodings: string[] | undefined;
  /** What check-in answers as `depotSigningKeys`; undefined leaves the field out (an older server). */
  depotSigningKeys: { keyId: string; publicKey: string }[] | undefined;
  /** What check-in answers as `protocolVersion`; undefined plays a server of protocol 1. */
  protocolVersion: number | undefined = 2;
  /** This server has no agent channel: `refuse` answers the upgrade 404, `drop` closes the connection (a proxy that eats it). */
  channelUpgrades: 'refuse' | 'drop' = 'refuse';
  upgradeAttempts = 0;
  /** Files GET /files/:sha256 serves, by the hash it is asked for (the bytes need not match it). */
  readonly files = new Map<string, Buffer>();
  fileRequests: string[] = [];

  /** Every inventory report received (valid ones), in arrival order. */
  inventoryReports: RecordedInventory[] = [];
  /** What the server holds for this device: the hash of each section and the section itself. */
  inventoryBase: Partial<Record<InventorySectionName, string>> | undefined;
  inventory: Partial<InventorySections> = {};
  inventoryFullIntervalSeconds = 86_400;
  inventoryDeltaIntervalSeconds = 3_600;

  private pendingCommands: unknown[] = [];
  private pendingCancels: string[] = [];
  private waiters = new Set<() => void>();
  private server: Server | undefined;
  private readonly applied = new Set<string>();

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    this.server.on('upgrade', (_req, socket: import('node:net').Socket) => {
      this.upgradeAttempts++;
      if (this.channelUpgrades === 'drop') socket.destroy();
      else
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const wake of this.waiters) wake();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  deliver(...commands: unknown[]): void {
    this.pendingCommands.push(...commands);
    this.wake();
  }

  cancel(id: string): void {
    this.pendingCancels.push(id);
    this.wake();
  }

  failNext(endpoint: Endpoint, ...statuses: number[]): void {
    this.failures.set(endpoint, [...(this.failures.get(endpoint) ?? []), ...statuses]);
  }

  /** Drops the stored inventory, as a server restored from an old backup would: the next delta gets a 409. */
  forgetInventory(): void {
    this.inventoryBase = undefined;
    this.inventory = {};
  }

  acceptedInventory(): RecordedInventory[] {
    return this.inventoryReports.filter((r) => r.status === 200);
  }

  resultsFor(id: string): RecordedResult[] {
    return this.results.filter((r) => r.id === id);
  }

  acceptedResult(id: string): CommandResult | undefined {
    return this.results.find((r) => r.id === id && r.status === 200)?.body;
  }

  outputFor(id: string, stream: 'stdout' | 'stderr'): RecordedOutput[] {
    return this.outputs.filter((o) => o.id === id && o.stream === stream);
  }

  /** Output as the server would assemble it: by seq, each seq once. */
  text(id: string, stream: 'stdout' | 'stderr'): string {
    const bySeq = new Map<number, string>();
    for (const chunk of this.outputFor(id, stream)) bySeq.set(chunk.seq, chunk.data);
    return [...bySeq.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, data]) => data)
      .join('');
  }

  /** Output bytes as the server would store them: by seq, each seq once, base64 chunks decoded. */
  bytes(id: string, stream: 'stdout' | 'stderr'): Buffer {
    const bySeq = new Map<number, Buffer>();
    for (const c of this.outputFor(id, stream)) bySeq.set(c.seq, Buffer.from(c.data, c.encoding === 'base64' ? 'base64' : 'utf8'));
    return Buffer.concat([...bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, data]) => data));
  }

  /** Newest poll first: after an agent restart in-process, the old agent's aborted poll may not be noticed yet. */
  private wake(): void {
    for (const wake of [...this.waiters].reverse()) wake();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.startsWith(AGENT_API_PREFIX) ? url.pathname.slice(AGENT_API_PREFIX.length) : '';
    const body = await readBody(req);

    if (req.method === 'POST' && path === '/enroll') {
      const parsed = this.validate('enroll', enrollRequest, body);
      this.enrolls.push(body);
      if (!parsed) return problem(res, 400, 'validation_failed');
      const failure = this.failures.get('enroll')?.shift();
      if (failure) return problem(res, failure, 'scripted_failure');
      if (parsed.enrollmentToken !== this.enrollmentToken) return problem(res, 401, 'invalid_enrollment_token');
      return json(res, 201, {
        deviceId: this.deviceId,
        deviceSecret: this.deviceSecret,
        pollWaitSeconds: 25,
        checkinIntervalSeconds: this.checkinIntervalSeconds,
      });
    }

    if (req.headers.authorization !== `Bearer ${this.deviceSecret}` || this.rejectCredentials) {
      this.unauthorized++;
      return problem(res, 401, 'device_unauthorized');
    }

    const endpoint = endpointOf(req.method, path);
    if (!endpoint) return problem(res, 404, 'not_found');
    const scripted = this.failures.get(endpoint.name)?.shift();

    switch (endpoint.name) {
      case 'checkin': {
        this.validate('checkin', checkinRequest, body);
        this.checkins.push(body);
        if (scripted) return problem(res, scripted, 'scripted_failure');
        return json(res, 200, {
          deviceId: this.deviceId,
          serverTime: new Date().toISOString(),
          checkinIntervalSeconds: this.checkinIntervalSeconds,
          ...(this.outputEncodings ? { outputEncodings: this.outputEncodings } : {}),
          ...(this.protocolVersion ? { protocolVersion: this.protocolVersion } : {}),
          ...(this.depotSigningKeys ? { depotSigningKeys: this.depotSigningKeys } : {}),
          ...(this.commandPhases ? { commandPhases: this.commandPhases } : {}),
        });
      }
      case 'poll': {
        this.polls++;
        if (scripted) return problem(res, scripted, 'scripted_failure');
        const wait = Math.min(30, Number(url.searchParams.get('wait') ?? '25'));
        if (this.pendingCommands.length === 0 && this.pendingCancels.length === 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              this.waiters.delete(done);
              resolve();
            };
            const timer = setTimeout(done, wait * 1000);
            this.waiters.add(done);
            res.once('close', done);
            // A client that aborts its long-poll half-closes the socket; Node's server keeps the
            // response writable, so watch the socket too or the next delivery goes to a dead poll.
            req.socket.once('end', done);
          });
        }
        if (res.destroyed || res.writableEnded || req.socket.readableEnded) return;
        const commands = this.pendingCommands.splice(0);
        const cancel = this.pendingCancels.splice(0);
        return json(res, 200, { commands, cancel });
      }
      case 'start': {
        const parsed = this.validate('start', startRequest, body);
        if (parsed) this.starts.push({ id: endpoint.id, startedAt: parsed.startedAt });
        if (scripted) return problem(res, scripted, 'scripted_failure');
        return json(res, 200, { cancelRequested: this.cancelRequested.has(endpoint.id) });
      }
      case 'file': {
        this.fileRequests.push(endpoint.id);
        if (scripted) return problem(res, scripted, 'scripted_failure');
        const data = this.files.get(endpoint.id);
        if (!data) return problem(res, 404, 'not_found');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) });
        return void res.end(data);
      }
      case 'output': {
        const parsed = this.validate('output', outputRequest, body);
        if (scripted) return problem(res, scripted, 'scripted_failure');
        if (parsed) {
          const bytes = Buffer.from(parsed.data, parsed.encoding === 'base64' ? 'base64' : 'utf8').length;
          if (bytes > MAX_OUTPUT_CHUNK_BYTES) this.invalid.push({ endpoint: 'output', issues: `chunk of ${bytes} bytes` });
          this.outputs.push({ ...parsed, id: endpoint.id, bytes });
        }
        return json(res, 200, { cancelRequested: this.cancelRequested.has(endpoint.id) });
      }
      case 'heartbeat': {
        this.heartbeats.push(endpoint.id);
        // A server from before phases takes nothing but `{}` (its channel is strict).
        const schema = this.commandPhases
          ? heartbeatRequest
          : heartbeatRequest.strict().refine((b) => b.phase === undefined, 'this server records no phases');
        const parsed = this.validate('heartbeat', schema, body ?? {});
        if (parsed?.phase) this.phases.push({ id: endpoint.id, phase: parsed.phase });
        if (scripted) return problem(res, scripted, 'scripted_failure');
        return json(res, 200, { cancelRequested: this.cancelRequested.has(endpoint.id) });
      }
      case 'inventory':
        return this.handleInventory(res, body, scripted);
      case 'goodbye': {
        this.validate('goodbye', goodbyeRequest, body);
        if (scripted) return problem(res, scripted, 'scripted_failure');
        this.goodbyes.push({ at: Date.now(), resultsBefore: this.results.filter((r) => r.status === 200).length });
        if (this.hangGoodbye) return;
        return json(res, 200, { deviceId: this.deviceId });
      }
      case 'result': {
        const parsed = this.validate('result', commandResult, body);
        const status = scripted ?? (parsed ? 200 : 400);
        if (parsed) this.results.push({ id: endpoint.id, body: parsed, status });
        if (status !== 200) return problem(res, status, 'scripted_failure');
        const duplicate = this.applied.has(endpoint.id);
        this.applied.add(endpoint.id);
        return json(res, 200, { accepted: !duplicate, duplicate });
      }
    }
  }

  /** Behaves like the real endpoint: checks every sent section against its hash and a delta against the base. */
  private handleInventory(res: ServerResponse, body: unknown, scripted: number | undefined): void {
    const parsed = this.validate('inventory', inventoryReport, body);
    if (!parsed) return problem(res, 400, 'validation_failed', [{ path: '', message: 'invalid inventory report' }]);
    const record: RecordedInventory = { body: parsed, status: 200, at: Date.now() };
    this.inventoryReports.push(record);
    const answer = (status: number, code: string, errors?: { path: string; message: string }[]) => {
      record.status = status;
      problem(res, status, code, errors);
    };
    if (scripted)
      return answer(
        scripted,
        scripted === 409 ? 'inventory_full_report_required' : 'scripted_failure',
        scripted === 400 ? [{ path: 'sections.software', message: 'scripted' }] : undefined,
      );
    for (const [name, section] of Object.entries(parsed.sections) as [InventorySectionName, unknown][]) {
      const hash = sectionHash(inventorySections.shape[name].parse(section));
      if (hash !== parsed.hashes[name]) {
        this.invalid.push({ endpoint: 'inventory', issues: `hash of section ${name} does not match its content` });
        return answer(400, 'inventory_hash_mismatch', [{ path: `hashes.${name}`, message: 'hash does not match the section' }]);
      }
    }
    if (parsed.mode === 'delta') {
      const base = this.inventoryBase;
      const mismatch = !base || inventorySectionNames.some((name) => !(name in parsed.sections) && parsed.hashes[name] !== base[name]);
      if (mismatch) return answer(409, 'inventory_full_report_required');
    }
    const previous = this.inventoryBase ?? {};
    const changedSections = inventorySectionNames.filter((name) => name in parsed.sections && parsed.hashes[name] !== previous[name]);
    this.inventoryBase = { ...previous, ...parsed.hashes };
    this.inventory = { ...this.inventory, ...parsed.sections };
    json(res, 200, {
      accepted: true,
      changedSections,
      fullIntervalSeconds: this.inventoryFullIntervalSeconds,
      deltaIntervalSeconds: this.inventoryDeltaIntervalSeconds,
    });
  }

  private validate<T>(endpoint: string, schema: z.ZodType<T>, body: unknown): T | undefined {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    this.invalid.push({ endpoint, issues: JSON.stringify(parsed.error.issues) });
    return undefined;
  }
}

function endpointOf(method: string | undefined, path: string): { name: Endpoint; id: string } | undefined {
  if (method === 'POST' && path === '/checkin') return { name: 'checkin', id: '' };
  if (method === 'GET' && path === '/commands') return { name: 'poll', id: '' };
  if (method === 'POST' && path === '/inventory') return { name: 'inventory', id: '' };
  if (method === 'POST' && path === '/goodbye') return { name: 'goodbye', id: '' };
  const file = /^\/files\/([0-9a-f]{64})$/.exec(path);
  if (method === 'GET' && file) return { name: 'file', id: file[1]! };
  const match = /^\/commands\/([^/]+)\/(start|output|heartbeat|result)$/.exec(path);
  if (method === 'POST' && match) return { name: match[2] as Endpoint, id: decodeURIComponent(match[1]!) };
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, code: string, errors?: { path: string; message: string }[]): void {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title: code, status, code, ...(errors ? { errors } : {}) }));
}
