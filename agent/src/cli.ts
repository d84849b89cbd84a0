#!/usr/bin/env tsx
/**
 * opsconductor-agent: enroll | rekey | run | status | inventory. Exit codes: 0 ok, 1 error, 2 usage, 3 credentials rejected.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AGENT_PROTOCOL_VERSION } from '@opsconductor/contracts/agent-protocol';
import { z } from 'zod';
import { Agent } from './agent.ts';
import { readBootId } from './boot-id.ts';
import { REBOOT_COMMAND_ENV } from './handlers/reboot.ts';
import { collectFacts } from './facts.ts';
import { collectSections, inventorySectionNames, type InventorySectionName } from './inventory/index.ts';
import { Backoff, sleep } from './backoff.ts';
import { AgentApiError, AgentHttpClient, TransportError, isRetryable, retryAfterMs } from './http.ts';
import { entryState, readJournal } from './journal.ts';
import { createLogger, isLogLevel } from './log.ts';
import {
  ConfigError,
  LockHeldError,
  checkConfigPermissions,
  configExists,
  configPath,
  defaultStateDir,
  lockHolder,
  readConfig,
  restrictWindowsAcl,
  serverUrlSchema,
  writeConfig,
  ensureStateDir,
  type AgentConfig,
} from './state.ts';
import { AGENT_VERSION } from './version.ts';
import { DEFAULT_DEPOT_CACHE_MB } from './depot/cache.ts';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_CREDENTIALS_REJECTED = 3;

const USAGE = `OpsConductor agent ${AGENT_VERSION}

Usage:
  opsconductor-agent enroll --server <url> --token <token> [--state-dir <dir>] [--force]
  opsconductor-agent rekey [--state-dir <dir>]
  opsconductor-agent run [--state-dir <dir>] [--log-level debug|info|warn|error] [--depot-cache-mb <MiB>]
  opsconductor-agent status [--state-dir <dir>]
  opsconductor-agent inventory [--section <name>] [--log-level debug|info|warn|error]
  opsconductor-agent --help | --version

Commands:
  enroll   Register this device with the server and store its credentials in <state-dir>/agent.json.
           Refuses to replace an existing enrollment unless --force is given.
  rekey    Install a new device secret after an admin rotated it in the console: reads it from
           OPSCONDUCTOR_DEVICE_SECRET or the first line of stdin, checks it with the server, and
           replaces the one in agent.json. Stop the agent first; start it again afterwards.
  run      Run the agent until SIGINT/SIGTERM: check in, poll for commands, run them, report results.
           --depot-cache-mb caps the artifact cache (<state-dir>/depot-cache; default ${DEFAULT_DEPOT_CACHE_MB}).
  status   Show the enrollment (never the secret) and whether an agent is running.
  inventory
           Collect this device's inventory and print it as JSON (needs no server or enrollment).
           --section prints one section: ${inventorySectionNames.join(', ')}.
           Exit code 1 if a section could not be collected (a minimal one is printed in its place)
           or the output could not be written in full (the reader closed the pipe).

Environment:
  OPSCONDUCTOR_SERVER_URL          server URL (default for enroll; overrides agent.json for run)
  OPSCONDUCTOR_ENROLLMENT_TOKEN    enrollment token, instead of --token (keeps it out of the process list)
  OPSCONDUCTOR_DEVICE_SECRET       new device secret for rekey (instead of stdin)
  OPSCONDUCTOR_AGENT_STATE_DIR     state directory, instead of --state-dir
  OPSCONDUCTOR_AGENT_LOG_LEVEL     log level for run (default info)
  OPSCONDUCTOR_AGENT_DEPOT_CACHE_MB
                                   artifact cache cap in MiB, instead of --depot-cache-mb
  OPSCONDUCTOR_AGENT_INVENTORY     "off" stops run from collecting and reporting inventory
                                   (and inventory.refresh commands with it)
  OPSCONDUCTOR_AGENT_CHANNEL       "off" sends polls and reports as HTTP requests, not over
                                   the agent channel (one WebSocket)
  OPSCONDUCTOR_AGENT_REBOOT_COMMAND
                                   what reboot commands run instead of the system's restart
                                   (a command line for the platform shell; tests)
  OPSCONDUCTOR_AGENT_BOOT_ID       the boot ID to announce instead of the system's (tests)
  OPSCONDUCTOR_AGENT_METERED       1 or 0: whether the connection is metered, instead of asking
                                   NetworkManager or Windows (skipMetered deployments; tests, ops)

Default state directory: ${defaultStateDir()}

Exit codes: 0 ok, 1 error, 2 usage error, 3 credentials rejected by the server
(retired device, rotated or unknown secret).
`;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The first line of standard input (rekey reads the new secret there). */
  readLine?: () => Promise<string>;
}

async function readFirstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  readLine: readFirstLine,
};

class UsageError extends Error {}

const COMMAND_OPTIONS = {
  enroll: ['server', 'token', 'state-dir', 'force'],
  rekey: ['state-dir'],
  run: ['state-dir', 'log-level', 'depot-cache-mb'],
  status: ['state-dir'],
  inventory: ['section', 'log-level'],
} as const;
type Subcommand = keyof typeof COMMAND_OPTIONS;

const issuesText = (error: z.ZodError) =>
  error.issues.map((issue) => `${issue.path.length ? `--${issue.path.join('.')}` : 'argument'}: ${issue.message}`).join('\n');

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new UsageError(issuesText(parsed.error));
  return parsed.data;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        'state-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'depot-cache-mb': { type: 'string' },
        section: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n\nRun with --help for usage.\n`);
    return EXIT_USAGE;
  }

  if (values.help || positionals[0] === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (values.version) {
    io.stdout(`${AGENT_VERSION}\n`);
    return EXIT_OK;
  }

  try {
    const [command, ...extra] = positionals;
    if (!command) throw new UsageError('missing command (enroll, rekey, run, status or inventory)');
    if (!Object.hasOwn(COMMAND_OPTIONS, command)) throw new UsageError(`unknown command "${command}"`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const subcommand = command as Subcommand;
    const allowed: readonly string[] = COMMAND_OPTIONS[subcommand];
    for (const key of Object.keys(values)) {
      if (values[key] !== undefined && !allowed.includes(key)) {
        throw new UsageError(`option --${key} does not apply to "${subcommand}"`);
      }
    }
    const stateDir = path.resolve(
      parse(z.string().trim().min(1, 'must not be empty'), (values['state-dir'] as string | undefined) ?? defaultStateDir(io.env)),
    );
    switch (subcommand) {
      case 'enroll':
        return await enroll(values, stateDir, io);
      case 'rekey':
        return await rekey(stateDir, io);
      case 'run':
        return await run(values, stateDir, io);
      case 'status':
        return status(stateDir, io);
      case 'inventory':
        return await inventory(values, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n\nRun with --help for usage.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ConfigError || err instanceof LockHeldError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
}

/** Attempts of one enrolment when the server is unreachable or overloaded (5xx, 408, 429), about 15 s in all. */
const ENROLL_ATTEMPTS = 6;

async function enroll(values: Record<string, unknown>, stateDir: string, io: CliIo): Promise<number> {
  const args = parse(
    z.object({
      server: z.string({ error: 'is required (or set OPSCONDUCTOR_SERVER_URL)' }).pipe(serverUrlSchema),
      token: z
        .string({ error: 'is required (or set OPSCONDUCTOR_ENROLLMENT_TOKEN)' })
        .trim()
        .min(10, 'must be at least 10 characters')
        .max(200, 'must be at most 200 characters'),
      force: z.boolean(),
    }),
    {
      server: values.server ?? io.env.OPSCONDUCTOR_SERVER_URL,
      token: values.token ?? io.env.OPSCONDUCTOR_ENROLLMENT_TOKEN,
      force: values.force === true,
    },
  );

  const running = lockHolder(stateDir);
  if (running !== undefined) {
    io.stderr(`error: an agent (pid ${running}) is running on ${stateDir}; stop it before enrolling\n`);
    return EXIT_ERROR;
  }
  if (configExists(stateDir) && !args.force) {
    let who = '';
    try {
      who = ` as device ${readConfig(stateDir).deviceId}`;
    } catch {
      // An unreadable file still counts as an enrollment not to clobber silently.
    }
    io.stderr(`error: this device is already enrolled${who} (${configPath(stateDir)}); use --force to enroll again\n`);
    return EXIT_ERROR;
  }

  const facts = await collectFacts();
  const client = new AgentHttpClient({ serverUrl: args.server });
  // One ID for every attempt: a retry after a lost answer (a timeout, a 5xx from a busy server during a mass
  // rollout) gets the device the first attempt created rather than a second one and another use of the token.
  const enrollmentId = randomUUID();
  const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
  let response;
  for (let attempt = 1; ; attempt++) {
    try {
      response = await client.enroll({ enrollmentToken: args.token, facts, protocolVersion: AGENT_PROTOCOL_VERSION, enrollmentId });
      break;
    } catch (err) {
      if (err instanceof AgentApiError && (err.status === 401 || err.status === 403)) {
        io.stderr(`error: the server rejected the enrollment token (${err.message})\n`);
        return EXIT_CREDENTIALS_REJECTED;
      }
      if (isRetryable(err) && attempt < ENROLL_ATTEMPTS) {
        const delayMs = backoff.next(retryAfterMs(err));
        io.stderr(
          `warning: enrollment attempt ${attempt} failed (${(err as Error).message}); retrying in ${(delayMs / 1000).toFixed(1)} s\n`,
        );
        await sleep(delayMs);
        continue;
      }
      if (err instanceof AgentApiError || err instanceof TransportError) {
        io.stderr(`error: enrollment failed: ${err.message}\n`);
        return EXIT_ERROR;
      }
      throw err;
    }
  }

  const config: AgentConfig = {
    serverUrl: args.server,
    deviceId: response.deviceId,
    deviceSecret: response.deviceSecret,
    enrolledAt: new Date().toISOString(),
    ...(response.pollWaitSeconds > 0 ? { pollWaitSeconds: response.pollWaitSeconds } : {}),
    ...(response.checkinIntervalSeconds > 0 ? { checkinIntervalSeconds: response.checkinIntervalSeconds } : {}),
  };
  ensureStateDir(stateDir);
  const aclError = restrictWindowsAcl(stateDir);
  if (aclError) io.stderr(`warning: could not restrict access to ${stateDir}: ${aclError}\n`);
  writeConfig(stateDir, config);
  io.stdout(`Enrolled as device ${config.deviceId}\nCredentials: ${configPath(stateDir)}\n`);
  return EXIT_OK;
}

/**
 * Installs a secret an admin rotated in the console. It never comes over the network: whoever holds a
 * leaked old secret must not be able to fetch the new one. Checked with a check-in before it is written.
 */
async function rekey(stateDir: string, io: CliIo): Promise<number> {
  const running = lockHolder(stateDir);
  if (running !== undefined) {
    io.stderr(`error: an agent (pid ${running}) is running on ${stateDir}; stop it before installing a new secret\n`);
    return EXIT_ERROR;
  }
  const config = readConfig(stateDir);
  const raw = io.env.OPSCONDUCTOR_DEVICE_SECRET ?? (await (io.readLine ?? readFirstLine)());
  const deviceSecret = parse(
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'the device secret is 43 characters of A-Z, a-z, 0-9, _ and -'),
    raw,
  );
  const serverUrl = io.env.OPSCONDUCTOR_SERVER_URL ? parse(serverUrlSchema, io.env.OPSCONDUCTOR_SERVER_URL) : config.serverUrl;
  const client = new AgentHttpClient({ serverUrl, deviceSecret });
  try {
    const res = await client.checkin(await collectFacts());
    if (res.deviceId !== config.deviceId) {
      io.stderr(`error: that secret belongs to device ${res.deviceId}, not to this device (${config.deviceId}); nothing changed\n`);
      return EXIT_ERROR;
    }
  } catch (err) {
    if (err instanceof AgentApiError && err.status === 401) {
      io.stderr(`error: the server does not accept this secret (${err.message}); nothing changed\n`);
      return EXIT_CREDENTIALS_REJECTED;
    }
    if (err instanceof AgentApiError || err instanceof TransportError) {
      io.stderr(`error: could not check the secret with the server: ${err.message}; nothing changed\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
  writeConfig(stateDir, { ...config, deviceSecret });
  io.stdout(`New secret installed for device ${config.deviceId} (${configPath(stateDir)}); start the agent again.\n`);
  return EXIT_OK;
}

async function run(values: Record<string, unknown>, stateDir: string, io: CliIo): Promise<number> {
  const logLevel = values['log-level'] ?? io.env.OPSCONDUCTOR_AGENT_LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level: must be one of debug, info, warn, error`);
  const { 'depot-cache-mb': cacheMb } = parse(
    z.object({
      'depot-cache-mb': z.coerce
        .number({ error: 'must be a whole number of MiB' })
        .int('must be a whole number of MiB')
        .min(1, 'must be at least 1')
        .max(16 * 1024 * 1024, 'must be at most 16777216 (16 TiB)')
        .optional(),
    }),
    { 'depot-cache-mb': values['depot-cache-mb'] ?? (io.env.OPSCONDUCTOR_AGENT_DEPOT_CACHE_MB?.trim() || undefined) },
  );
  const config = readConfig(stateDir);
  const serverUrl = io.env.OPSCONDUCTOR_SERVER_URL ? parse(serverUrlSchema, io.env.OPSCONDUCTOR_SERVER_URL) : config.serverUrl;
  const log = createLogger({ level: logLevel, write: io.stderr });
  const permissionWarning = checkConfigPermissions(stateDir);
  if (permissionWarning) log.warn(permissionWarning);

  const agent = new Agent({
    serverUrl,
    deviceId: config.deviceId,
    deviceSecret: config.deviceSecret,
    stateDir,
    logger: log,
    pollWaitSeconds: config.pollWaitSeconds,
    checkinIntervalSeconds: config.checkinIntervalSeconds,
    ...(io.env.OPSCONDUCTOR_AGENT_INVENTORY?.trim().toLowerCase() === 'off' ? { inventory: false as const } : {}),
    ...(io.env.OPSCONDUCTOR_AGENT_CHANNEL?.trim().toLowerCase() === 'off' ? { channel: false } : {}),
    ...(io.env[REBOOT_COMMAND_ENV]?.trim() ? { rebootCommand: io.env[REBOOT_COMMAND_ENV]!.trim() } : {}),
    bootId: await readBootId(io.env),
    ...(cacheMb === undefined ? {} : { depotCacheMaxBytes: cacheMb * 1024 * 1024 }),
  });
  await agent.start();

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal means "now": the first already asked running process trees to die.
      log.warn('second signal; exiting immediately', { signal });
      process.exit(130);
    }
    signalled = true;
    log.info('signal received; shutting down', { signal });
    void agent.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const exit = await agent.finished;
    if (exit.reason === 'credentials_rejected') return EXIT_CREDENTIALS_REJECTED;
    return exit.reason === 'error' ? EXIT_ERROR : EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function inventory(values: Record<string, unknown>, io: CliIo): Promise<number> {
  const logLevel = values['log-level'] ?? io.env.OPSCONDUCTOR_AGENT_LOG_LEVEL ?? 'warn';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level: must be one of debug, info, warn, error`);
  const section = values.section as string | undefined;
  if (section !== undefined && !(inventorySectionNames as readonly string[]).includes(section)) {
    throw new UsageError(`--section: must be one of ${inventorySectionNames.join(', ')}`);
  }
  const log = createLogger({ level: logLevel, write: io.stderr });
  const names = section ? [section as InventorySectionName] : inventorySectionNames;
  const collected = await collectSections({ log, sections: names });
  log.info('inventory collected', { durationMs: collected.durationMs, sectionDurationsMs: collected.sectionDurationsMs });
  const output = section ? collected.sections[section as InventorySectionName] : collected.sections;
  io.stdout(JSON.stringify(output, null, 2) + '\n');
  return collected.failed.length > 0 ? EXIT_ERROR : EXIT_OK;
}

function status(stateDir: string, io: CliIo): number {
  const lines = [`OpsConductor agent ${AGENT_VERSION}`, `State directory: ${stateDir}`];
  if (!configExists(stateDir)) {
    io.stdout([...lines, 'Enrolled:        no', ''].join('\n'));
    return EXIT_ERROR;
  }
  const config = readConfig(stateDir);
  const holder = lockHolder(stateDir);
  let pending = 'unknown';
  try {
    const { entries } = readJournal(stateDir);
    pending = String([...entries.values()].filter((e) => ['started', 'awaiting_reboot', 'finished'].includes(entryState(e))).length);
  } catch {
    // Unreadable journal (permissions): status is still useful without it.
  }
  lines.push(
    'Enrolled:        yes',
    `Server URL:      ${config.serverUrl}`,
    `Device ID:       ${config.deviceId}`,
    `Enrolled at:     ${config.enrolledAt ?? 'unknown'}`,
    `Agent running:   ${holder !== undefined ? `yes (pid ${holder})` : 'no'}`,
    `Unreported results: ${pending}`,
    '',
  );
  io.stdout(lines.join('\n'));
  return EXIT_OK;
}

/**
 * Resolves once everything written to `stream` so far has reached the OS (or the stream failed).
 * stdout and stderr are asynchronous when they are pipes: exiting before this cuts the output off
 * at whatever the pipe buffer took (64 KiB on Linux).
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isEntryPoint) {
  // A reader that goes away early (`| head -c 100`) makes writes fail with EPIPE: not a crash, but the
  // output is incomplete, so the exit code says so.
  let outputError: NodeJS.ErrnoException | undefined;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => (outputError ??= err));
  }
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    if (outputError) {
      const reason = outputError.code === 'EPIPE' ? 'the reader closed the pipe' : outputError.message;
      if (!process.stderr.destroyed) process.stderr.write(`error: output incomplete: ${reason}\n`);
      await flushed(process.stderr);
    }
    process.exit(outputError && code === EXIT_OK ? EXIT_ERROR : code);
  };
  const fatal = (err: unknown) => {
    process.stderr.write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        msg: 'fatal error',
        err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
      }) + '\n',
    );
    void exit(EXIT_ERROR);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  main(process.argv.slice(2)).then(exit, fatal);
}
