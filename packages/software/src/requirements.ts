/**
 * Whether a device meets a version's requirements (contracts' `SoftwareRequirements`), checked by the agent
 * before it downloads anything and by the server when it plans a rollout.
 *
 * A fact the device did not report (null) fails the requirement that needs it: installing on a guess is worse
 * than reporting `requirement_not_met` with a sentence saying what is unknown. Architectures are the device's
 * own (an x86 package is not offered to an x64 device unless it lists x64): the package author decides what
 * runs under emulation.
 */
import type { CpuArchitecture, PackagePlatform } from '@opsconductor/contracts/constants';
import type { SoftwareRequirements } from '@opsconductor/contracts/software';
import { compareVersions } from '@opsconductor/rules';

export interface RequirementFacts {
  platform: PackagePlatform | null;
  osVersion: string | null;
  architecture: CpuArchitecture | null;
  /** Free space on the volume of the agent's cache, in MiB. */
  freeDiskMb: number | null;
  ramMb: number | null;
}

export type RequirementsCheck = { ok: true } | { ok: false; unmet: string[] };

const orList = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;

export function checkRequirements(req: SoftwareRequirements, facts: RequirementFacts): RequirementsCheck {
  const unmet: string[] = [];
  if (req.platforms && (facts.platform === null || !req.platforms.includes(facts.platform))) {
    unmet.push(`runs on ${orList(req.platforms)}, this device is ${facts.platform ?? 'of an unknown platform'}`);
  }
  if (req.minOsVersion !== undefined) {
    if (facts.osVersion === null || facts.osVersion.trim() === '')
      unmet.push(`needs OS version ${req.minOsVersion} or later, the OS version is unknown`);
    else if (compareVersions(facts.osVersion, req.minOsVersion) < 0)
      unmet.push(`needs OS version ${req.minOsVersion} or later, has ${facts.osVersion}`);
  }
  if (req.architectures && (facts.architecture === null || !req.architectures.includes(facts.architecture))) {
    unmet.push(`runs on ${orList(req.architectures)}, this device is ${facts.architecture ?? 'of an unknown architecture'}`);
  }
  if (req.minFreeDiskMb !== undefined) {
    if (facts.freeDiskMb === null) unmet.push(`needs ${req.minFreeDiskMb} MiB free disk, free disk is unknown`);
    else if (facts.freeDiskMb < req.minFreeDiskMb)
      unmet.push(`needs ${req.minFreeDiskMb} MiB free disk, has ${Math.floor(facts.freeDiskMb)}`);
  }
  if (req.minRamMb !== undefined) {
    if (facts.ramMb === null) unmet.push(`needs ${req.minRamMb} MiB RAM, RAM is unknown`);
    else if (facts.ramMb < req.minRamMb) unmet.push(`needs ${req.minRamMb} MiB RAM, has ${Math.floor(facts.ramMb)}`);
  }
  return unmet.length === 0 ? { ok: true } : { ok: false, unmet };
}
