import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent.ts';
import { verifyManifest } from '../src/depot/manifest.ts';
import { TRUSTED_KEYS_FILE, TrustedKeys } from '../src/depot/trusted-keys.ts';
import { createLogger } from '../src/log.ts';
import { depotKey, manifestFor, signManifestText } from './support/depot.ts';
import { FakeServer } from './support/fake-server.ts';
import { tempDir, waitFor } from './support/util.ts';

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

const bytes = Buffer.from('installer bytes');
const source = { kind: 'depot' as const, sourceId: randomUUID() };
const HOUR = 3600;

describe('verifyManifest', () => {
  const key = depotKey('depot-2026');
  const text = JSON.stringify(manifestFor(bytes, [source]));

  it('accepts a manifest signed by a trusted key and returns it parsed', () => {
    const result = verifyManifest(signManifestText(text, key), [depotKey('other').trusted, key.trusted], Date.now(), HOUR);
    expect(result).toEqual({ ok: true, manifest: JSON.parse(text) });
  });

  it('refuses a manifest with one byte changed: bad_signature', () => {
    const signed = signManifestText(text, key);
    // The size's first digit, one higher: still valid JSON of the schema, so only the signature can catch it.
    const tampered = signed.manifest.replace('"size":15', '"size":25');
    expect(tampered).not.toBe(signed.manifest);
    const result = verifyManifest({ ...signed, manifest: tampered }, [key.trusted], Date.now(), HOUR);
    expect(result).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature by another key under a trusted key ID: bad_signature', () => {
    const impostor = depotKey(key.trusted.keyId);
    const result = verifyManifest(signManifestText(text, impostor), [key.trusted], Date.now(), HOUR);
    expect(result).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a key ID it does not trust: unknown_key', () => {
    const result = verifyManifest(signManifestText(text, depotKey('retired')), [key.trusted], Date.now(), HOUR);
    expect(result).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(verifyManifest(signManifestText(text, key), [], Date.now(), HOUR)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });

  it('refuses a manifest older than maxAge, or issued beyond the clock-skew allowance in the future: expired', () => {
    const issuedAt = Date.parse(JSON.parse(text).issuedAt as string);
    const signed = signManifestText(text, key);
    expect(verifyManifest(signed, [key.trusted], issuedAt + HOUR * 1000 - 1000, HOUR)).toMatchObject({ ok: true });
    expect(verifyManifest(signed, [key.trusted], issuedAt + HOUR * 1000 + 1000, HOUR)).toMatchObject({ ok: false, reason: 'expired' });
    // A device clock 4 minutes behind the server is tolerated, 10 minutes is not.
    expect(verifyManifest(signed, [key.trusted], issuedAt - 4 * 60_000, HOUR)).toMatchObject({ ok: true });
    expect(verifyManifest(signed, [key.trusted], issuedAt - 10 * 60_000, HOUR)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuses signed text that is not a manifest of the schema: invalid (and only after the signature holds)', () => {
    const notJson = signManifestText('{"v":1,', key);
    expect(verifyManifest(notJson, [key.trusted], Date.now(), HOUR)).toMatchObject({ ok: false, reason: 'invalid' });
    const wrongShape = signManifestText(JSON.stringify({ ...JSON.parse(text), sha256: 'not-a-hash' }), key);
    expect(verifyManifest(wrongShape, [key.trusted], Date.now(), HOUR)).toMatchObject({ ok: false, reason: 'invalid' });
    // Unsigned garbage is a signature failure, never parsed.
    expect(verifyManifest({ ...notJson, signature: signManifestText(text, key).signature }, [key.trusted], Date.now(), HOUR)).toMatchObject(
      {
        ok: false,
        reason: 'bad_signature',
      },
    );
  });
});

describe('TrustedKeys', () => {
  it('persists a check-in list, replaces it with the next list, keeps it when the field is absent', () => {
    const { dir, cleanup } = tempDir();
    teardown.push(cleanup);
    const [a, b] = [depotKey('a').trusted, depotKey('b').trusted];
    const keys = TrustedKeys.load(dir);
    expect(keys.keys()).toEqual([]);
    expect(keys.update([a])).toBe(true);
    expect(TrustedKeys.load(dir).keys()).toEqual([a]);
    expect(keys.update(undefined)).toBe(false);
    expect(TrustedKeys.load(dir).keys()).toEqual([a]);
    expect(keys.update([b, a])).toBe(true);
    expect(TrustedKeys.load(dir).keys()).toEqual([b, a]);
    // An empty list is the server revoking every key, not a missing field.
    expect(keys.update([])).toBe(true);
    expect(TrustedKeys.load(dir).keys()).toEqual([]);
  });

  it('treats a corrupt file as no keys', () => {
    const { dir, cleanup } = tempDir();
    teardown.push(cleanup);
    writeFileSync(path.join(dir, TRUSTED_KEYS_FILE), '{"keys":[{"keyId":"x","publicKey":"short"}]}');
    expect(TrustedKeys.load(dir).keys()).toEqual([]);
  });
});

describe('the agent and its check-in', () => {
  it("takes the check-in answer's depotSigningKeys, keeps them when a later answer lacks them, and loads them at start", async () => {
    const server = await new FakeServer().listen();
    const { dir: stateDir, cleanup } = tempDir();
    teardown.push(cleanup, () => server.close());
    const key = depotKey('depot-1');
    server.depotSigningKeys = [key.trusted];
    server.checkinIntervalSeconds = 5; // the agent's floor: a second check-in within the test
    const newAgent = async () => {
      const agent = new Agent({
        serverUrl: server.url,
        deviceId: server.deviceId,
        deviceSecret: server.deviceSecret,
        stateDir,
        logger: createLogger({ level: 'error', write: () => {} }),
        collectFacts: async () => ({
          hostname: 'h',
          osFamily: 'linux' as const,
          osName: 'Test',
          osVersion: '1',
          architecture: 'x64',
          ipAddresses: [],
          agentVersion: '0.0.0-test',
        }),
        inventory: false,
        channel: false,
        pollWaitSeconds: 1,
      });
      await agent.start();
      return agent;
    };
    const first = await newAgent();
    await waitFor(() => first.depotSigningKeys.length === 1, 'the keys from the first check-in');
    expect(first.depotSigningKeys).toEqual([key.trusted]);
    expect(existsSync(path.join(stateDir, TRUSTED_KEYS_FILE))).toBe(true);

    server.depotSigningKeys = undefined; // an answer without the field
    const checkins = server.checkins.length;
    await waitFor(() => server.checkins.length > checkins, 'a second check-in', 15_000);
    expect(first.depotSigningKeys).toEqual([key.trusted]);
    await first.stop();

    // The server is away at the next start: the saved list is what verifies manifests.
    server.rejectCredentials = true;
    const second = await newAgent();
    expect(second.depotSigningKeys).toEqual([key.trusted]);
    const signed = signManifestText(JSON.stringify(manifestFor(bytes, [source])), key);
    expect(verifyManifest(signed, second.depotSigningKeys, Date.now(), HOUR)).toMatchObject({ ok: true });
    await second.stop();
    expect(JSON.parse(readFileSync(path.join(stateDir, TRUSTED_KEYS_FILE), 'utf8')).keys).toEqual([key.trusted]);
  }, 30_000);
});
