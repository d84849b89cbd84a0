/**
 * The metered-connection probe for `network.skipMetered`: its parsers against recorded outputs of /proc/net/route,
 * nmcli and the agent's PowerShell, the argv it runs (no shell), the override, and "cannot tell" counting as not
 * metered — a probe that fails must never hold installs back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  METERED_ENV,
  WINDOWS_COST_ARGS,
  defaultRouteInterface,
  meteredOverride,
  nmcliArgs,
  parseNetworkCostType,
  parseNmcliMetered,
  probeMetered,
  type ProbeRunner,
} from '../src/metered.ts';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', 'network', name), 'utf8');

describe('parsers', () => {
  it('finds the default route with the lowest metric in /proc/net/route', () => {
    expect(defaultRouteInterface(fixture('proc-net-route-laptop.txt'))).toBe('wlp2s0');
    expect(defaultRouteInterface(fixture('proc-net-route-no-default.txt'))).toBeUndefined();
    // A route that is down, or a name that is no interface name, is not taken.
    expect(
      defaultRouteInterface('Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t01\t0002\t0\t0\t0\t00000000\n'),
    ).toBe(undefined);
    expect(defaultRouteInterface('h\n$(reboot)\t00000000\t01\t0003\t0\t0\t0\t00000000\n')).toBeUndefined();
  });

  it("reads NetworkManager's GENERAL.METERED, guessed or not", () => {
    expect(parseNmcliMetered(fixture('nmcli-metered-yes.txt'))).toBe(true);
    expect(parseNmcliMetered(fixture('nmcli-metered-yes-guessed.txt'))).toBe(true);
    expect(parseNmcliMetered(fixture('nmcli-metered-no-guessed.txt'))).toBe(false);
    expect(parseNmcliMetered(fixture('nmcli-metered-unknown.txt'))).toBeNull();
    expect(parseNmcliMetered("Error: Device 'wlp2s0' not found.\n")).toBeNull();
    expect(parseNmcliMetered('')).toBeNull();
  });

  it("reads Windows' NetworkCostType: Fixed and Variable are metered, Unrestricted is not", () => {
    expect(parseNetworkCostType(fixture('windows-cost-fixed.txt'))).toBe(true);
    expect(parseNetworkCostType(fixture('windows-cost-variable.txt'))).toBe(true);
    expect(parseNetworkCostType(fixture('windows-cost-unrestricted.txt'))).toBe(false);
    expect(parseNetworkCostType(fixture('windows-cost-unknown.txt'))).toBeNull();
    expect(parseNetworkCostType(fixture('windows-cost-no-profile.txt'))).toBeNull();
    expect(parseNetworkCostType('2\r\n')).toBe(true);
  });

  it('takes the override as 1/0, true/false, yes/no', () => {
    expect(meteredOverride('1')).toBe(true);
    expect(meteredOverride(' Yes ')).toBe(true);
    expect(meteredOverride('0')).toBe(false);
    expect(meteredOverride('false')).toBe(false);
    expect(meteredOverride('maybe')).toBeUndefined();
    expect(meteredOverride(undefined)).toBeUndefined();
  });
});

describe('probeMetered', () => {
  const recording = (outputs: Record<string, string | 'missing' | Error>) => {
    const calls: { file: string; args: readonly string[] }[] = [];
    const run: ProbeRunner = async (file, args) => {
      calls.push({ file, args });
      const out = outputs[file];
      if (out === undefined || out === 'missing') return { missing: true };
      if (out instanceof Error) throw out;
      return { stdout: out };
    };
    return { calls, run };
  };

  it("asks NetworkManager about the default route's interface on Linux, with an argv", async () => {
    const { calls, run } = recording({ nmcli: fixture('nmcli-metered-yes-guessed.txt') });
    const state = await probeMetered({ platform: 'linux', env: {}, run, readRoutes: async () => fixture('proc-net-route-laptop.txt') });
    expect(state).toEqual({ metered: true, how: 'NetworkManager, device wlp2s0: metered' });
    expect(calls).toEqual([{ file: 'nmcli', args: ['-t', '-f', 'GENERAL.METERED', 'device', 'show', 'wlp2s0'] }]);
    expect(nmcliArgs('eth0')).toEqual(['-t', '-f', 'GENERAL.METERED', 'device', 'show', 'eth0']);
  });

  it('cannot tell without nmcli, without a default route, or when a probe fails: not metered', async () => {
    const routes = async () => fixture('proc-net-route-laptop.txt');
    expect(await probeMetered({ platform: 'linux', env: {}, run: recording({}).run, readRoutes: routes })).toEqual({
      metered: null,
      how: 'nmcli not found (no NetworkManager)',
    });
    const noRoute = recording({ nmcli: 'GENERAL.METERED:yes\n' });
    expect(
      await probeMetered({
        platform: 'linux',
        env: {},
        run: noRoute.run,
        readRoutes: async () => fixture('proc-net-route-no-default.txt'),
      }),
    ).toEqual({ metered: null, how: 'no default route' });
    expect(noRoute.calls).toEqual([]);
    const failing = await probeMetered({
      platform: 'linux',
      env: {},
      run: recording({ nmcli: new Error('timed out') }).run,
      readRoutes: routes,
    });
    expect(failing).toMatchObject({ metered: null, how: expect.stringContaining('timed out') });
    expect(await probeMetered({ platform: 'darwin', env: {} })).toEqual({ metered: null, how: 'no probe on darwin' });
  });

  it('asks PowerShell for the connection cost on Windows, the script a constant', async () => {
    const { calls, run } = recording({ 'powershell.exe': fixture('windows-cost-fixed.txt') });
    expect(await probeMetered({ platform: 'win32', env: {}, run })).toEqual({ metered: true, how: 'NetworkCostType Fixed' });
    expect(calls).toEqual([{ file: 'powershell.exe', args: WINDOWS_COST_ARGS }]);
    expect(WINDOWS_COST_ARGS.at(-1)).toContain('[Windows.Networking.Connectivity.NetworkInformation, ');
    expect(WINDOWS_COST_ARGS.at(-1)).toContain('::GetInternetConnectionProfile()');
    expect(WINDOWS_COST_ARGS.at(-1)).toContain('.GetConnectionCost().NetworkCostType');
    const free = recording({ 'powershell.exe': fixture('windows-cost-unrestricted.txt') });
    expect((await probeMetered({ platform: 'win32', env: {}, run: free.run })).metered).toBe(false);
  });

  it(`lets ${METERED_ENV} decide, without running a probe`, async () => {
    const { calls, run } = recording({ nmcli: 'GENERAL.METERED:no\n' });
    const readRoutes = async () => fixture('proc-net-route-laptop.txt');
    expect(await probeMetered({ platform: 'linux', env: { [METERED_ENV]: '1' }, run, readRoutes })).toEqual({
      metered: true,
      how: `${METERED_ENV}=1`,
    });
    expect((await probeMetered({ platform: 'win32', env: { [METERED_ENV]: 'no' }, run })).metered).toBe(false);
    expect(calls).toEqual([]);
  });
});
