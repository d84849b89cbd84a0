/**
 * Software in the depot, as the server and the agent both see it (ADR 23): detection rules, requirements,
 * the signed artifact manifest, and the `software.install` / `software.uninstall` command payloads and
 * their outcome. Everything here reaches an agent, so every string is bounded and every value that ends up
 * in a command line (product codes, package names) is checked against a strict pattern.
 *
 * The two command payloads are kinds of commands.ts's `commandPayload`: an agent announces `software.install@1`
 * and `software.uninstall@1` when it has their handler (agent/src/handlers/software.ts), and only then is sent them.
 */
import { z } from 'zod';
import {
  cpuArchitectures,
  depotSourceKinds,
  installerTypes,
  packagePlatforms,
  rebootBehaviours,
  scriptInterpreters,
  softwareOutcomes,
} from './constants.ts';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';

const text = (max: number) => z.string().max(max).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lowercase hex');

/** `{8-4-4-4-12}` in hex, braces included, as MSI writes product and upgrade codes. */
export const MSI_GUID_PATTERN = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
export const msiGuid = z.string().regex(MSI_GUID_PATTERN, 'must be a GUID in braces, e.g. {12345678-ABCD-…}');

/**
 * A version as installers write them: digits, letters and `.-+~:_`, starting with a digit or letter
 * (dpkg's `1:2.3-4ubuntu1`, rpm's `2.3-4.el9`, MSI's `10.2.3`, semver's `1.2.3-rc.1+build`).
 */
export const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+~:_-]{0,127}$/;
export const softwareVersion = z.string().regex(VERSION_PATTERN, 'must be a version such as 1.2.3 or 1:2.3-4');

/**
 * A package name as package managers take it (apt, dnf, pacman, winget IDs such as `Mozilla.Firefox`,
 * Chocolatey IDs): put into the install command line, so nothing a shell would interpret.
 */
export const PACKAGE_MANAGER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}$/;
export const packageManagerName = z.string().regex(PACKAGE_MANAGER_NAME_PATTERN, 'must be a package name such as nginx or Mozilla.Firefox');

export const versionComparisons = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const;
export type VersionComparison = (typeof versionComparisons)[number];
/** Every constraint must hold: `[{op: 'gte', value: '2.0'}, {op: 'lt', value: '3.0'}]` is a range. */
export const versionConstraints = z
  .array(z.object({ op: z.enum(versionComparisons), value: softwareVersion }))
  .min(1)
  .max(4);
export type VersionConstraint = z.infer<typeof versionConstraints>[number];

export const registryHives = ['HKLM', 'HKCU', 'HKCR', 'HKU'] as const;
/** Which registry view a key is read from on 64-bit Windows: the native one or the 32-bit (WOW6432Node) one. */
export const registryViews = ['64', '32'] as const;
export const linuxPackageManagers = ['dpkg', 'rpm', 'pacman'] as const;
export type LinuxPackageManager = (typeof linuxPackageManagers)[number];
export const serviceStates = ['exists', 'running', 'stopped'] as const;

/** A path on the device; Windows paths may use %ProgramFiles%-style variables, expanded by the agent. */
const detectionPath = text(1024).refine((p) => p.length >= 2, 'must be a path');
const registryKey = text(1024).refine(
  (k) => k.length > 0 && !k.startsWith('\\'),
  'must be a key below the hive, e.g. SOFTWARE\\Vendor\\App',
);

export const MAX_DETECTION_SCRIPT_LENGTH = 64 * 1024;

export const detectionRule = z
  .discriminatedUnion('type', [
    /** An MSI product is installed (Windows Installer's database), optionally at a version. */
    z.object({ type: z.literal('msi_product_code'), productCode: msiGuid, version: versionConstraints.optional() }),
    /** Some product of this upgrade code (any product code of a product family) is installed, optionally in a version range. */
    z.object({ type: z.literal('msi_upgrade_code'), upgradeCode: msiGuid, version: versionConstraints.optional() }),
    /**
     * A registry key (or one of its values) exists; with `equals` the value's data equals `value` (REG_SZ,
     * REG_EXPAND_SZ, REG_DWORD/QWORD as decimal); with `version` the data compares as a version.
     */
    z.object({
      type: z.literal('registry'),
      hive: z.enum(registryHives),
      key: registryKey,
      valueName: text(255).optional(),
      view: z.enum(registryViews).default('64'),
      check: z.enum(['exists', 'not_exists', 'equals', 'version']),
      value: text(1024).optional(),
      version: versionConstraints.optional(),
    }),
    /** A file exists, or its (PE file) version compares, or its SHA-256 equals. */
    z.object({
      type: z.literal('file'),
      path: detectionPath,
      check: z.enum(['exists', 'not_exists', 'version', 'sha256']),
      version: versionConstraints.optional(),
      sha256: sha256Hex.optional(),
    }),
    /** A service (Windows service, systemd unit) exists, or is running or stopped. */
    z.object({
      type: z.literal('service'),
      name: text(256).refine((n) => n.length > 0, 'must be a service name'),
      state: z.enum(serviceStates),
    }),
    /** A Linux package is installed (per dpkg, rpm or pacman), optionally at a version compared the manager's way. */
    z.object({
      type: z.literal('linux_package'),
      manager: z.enum(linuxPackageManagers),
      name: packageManagerName,
      version: versionConstraints.optional(),
    }),
    /** A script decides: exit code 0 means installed, anything else not installed. */
    z.object({
      type: z.literal('script'),
      interpreter: z.enum(scriptInterpreters),
      script: text(MAX_DETECTION_SCRIPT_LENGTH).refine((s) => s.length > 0, 'must not be empty'),
      timeoutSeconds: z.number().int().min(1).max(600).default(60),
    }),
  ])
  .meta({ id: 'DetectionRule' });
export type DetectionRule = z.infer<typeof detectionRule>;
export type DetectionRuleInput = z.input<typeof detectionRule>;

/** Rules combine with AND (`all`) and OR (`any`), nested at most this deep. */
export const MAX_DETECTION_DEPTH = 4;
export const MAX_DETECTION_RULES = 32;

export type Detection = DetectionRule | { all: Detection[] } | { any: Detection[] };

function detectionDepthAndCount(d: Detection, depth = 1): { depth: number; rules: number } {
  if ('all' in d || 'any' in d) {
    const children = 'all' in d ? d.all : d.any;
    return children.reduce(
      (acc, child) => {
        const c = detectionDepthAndCount(child, depth + 1);
        return { depth: Math.max(acc.depth, c.depth), rules: acc.rules + c.rules };
      },
      { depth, rules: 0 },
    );
  }
  return { depth, rules: 1 };
}

const detectionNode: z.ZodType<Detection> = z
  .lazy(() =>
    z.union([
      z.object({ all: z.array(detectionNode).min(1).max(MAX_DETECTION_RULES) }).strict(),
      z.object({ any: z.array(detectionNode).min(1).max(MAX_DETECTION_RULES) }).strict(),
      detectionRule,
    ]),
  )
  .meta({ id: 'Detection' }) as z.ZodType<Detection>;

/** A tree of detection rules: "is this version installed?". */
export const detection = detectionNode.superRefine((d, ctx) => {
  const { depth, rules } = detectionDepthAndCount(d);
  if (depth > MAX_DETECTION_DEPTH) ctx.addIssue({ code: 'custom', message: `rules may nest at most ${MAX_DETECTION_DEPTH} levels deep` });
  if (rules > MAX_DETECTION_RULES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_DETECTION_RULES} rules` });
});

/** What a device must have for a version to be installed on it; checked by the agent before it downloads anything. */
export const softwareRequirements = z
  .object({
    platforms: z.array(z.enum(packagePlatforms)).min(1).max(3).optional(),
    /** The OS version at least (compared as a version: Windows `10.0.19045`, a distribution's `12`). */
    minOsVersion: softwareVersion.optional(),
    architectures: z.array(z.enum(cpuArchitectures)).min(1).max(3).optional(),
    /** Free space on the volume that holds the agent's cache, in MiB. */
    minFreeDiskMb: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .optional(),
    minRamMb: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .optional(),
  })
  .strict();
export type SoftwareRequirements = z.infer<typeof softwareRequirements>;

/** One place the agent may download an artifact from, in the order it tries them. */
export const artifactSource = z.discriminatedUnion('kind', [
  /** The server itself: `GET /agent/v1/artifacts/{sha256}` with the device's credentials (Range supported). */
  z.object({ kind: z.literal('depot'), sourceId: z.string().uuid() }),
  /** An HTTP(S) URL: a mirror or a presigned S3 URL. */
  z.object({ kind: z.enum(['http', 's3']), sourceId: z.string().uuid(), url: z.url({ protocol: /^https?$/ }).max(4096) }),
  /** A file share: Windows agents read `uncPath`, Linux agents `mountPath` (where the share is mounted). */
  z.object({
    kind: z.literal('share'),
    sourceId: z.string().uuid(),
    uncPath: text(1024).optional(),
    mountPath: text(1024).optional(),
  }),
]);
export type ArtifactSource = z.infer<typeof artifactSource>;
export const MAX_ARTIFACT_SOURCES = 16;
/** Largest artifact the depot holds. */
export const MAX_ARTIFACT_BYTES = 64 * 1024 ** 3;

/**
 * What the server signs for one artifact delivered to one device: which package version it is, the bytes'
 * size and SHA-256, and where to get them. Sent as the exact JSON text that was signed (`manifest`), so the
 * agent verifies the bytes it received and only then parses them.
 */
export const artifactManifest = z.object({
  v: z.literal(1),
  packageName: text(200),
  packageVersion: softwareVersion,
  versionId: z.string().uuid(),
  fileName: text(255),
  size: z.number().int().min(0).max(MAX_ARTIFACT_BYTES),
  sha256: sha256Hex,
  sources: z.array(artifactSource).min(1).max(MAX_ARTIFACT_SOURCES),
  /** When the server signed it; an agent refuses a manifest older than the command's own timeout allows. */
  issuedAt: z.iso.datetime(),
});
export type ArtifactManifest = z.infer<typeof artifactManifest>;

/** A signed manifest: Ed25519 over the UTF-8 bytes of `manifest`, by the depot key `keyId`. */
export const signedManifest = z.object({
  manifest: z.string().max(64 * 1024),
  keyId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** base64 of the 64-byte Ed25519 signature. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
});
export type SignedManifest = z.infer<typeof signedManifest>;

/** A depot signing public key, as agents trust it: raw 32-byte Ed25519 key in base64. */
export const depotSigningKey = z.object({
  keyId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
});
export type DepotSigningKey = z.infer<typeof depotSigningKey>;

/** Longest install / uninstall command line or hook. */
export const MAX_INSTALL_COMMAND_LENGTH = 8 * 1024;
export const MAX_HOOK_SCRIPT_LENGTH = 64 * 1024;
export const installCommandLine = text(MAX_INSTALL_COMMAND_LENGTH).refine((c) => c.trim().length > 0, 'must not be empty');
export const installHook = z.object({
  interpreter: z.enum(scriptInterpreters),
  script: text(MAX_HOOK_SCRIPT_LENGTH).refine((s) => s.length > 0, 'must not be empty'),
});
export type InstallHook = z.infer<typeof installHook>;
export const exitCodes = z
  .array(
    z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 32 - 1),
  )
  .max(32);

/**
 * How to run an installer on the device. The command line is run by the platform shell (sh on POSIX, cmd on
 * Windows; `ps1` installers by PowerShell) after the agent replaces these placeholders with values it
 * chose or the server checked — never with anything a user typed:
 * - `{installer}`: the downloaded artifact's path in the agent's cache, quoted for the shell;
 * - `{log}`: a path for the installer's log, quoted; the agent attaches its tail to the output;
 * - `{productCode}`: the MSI product code (checked against MSI_GUID_PATTERN);
 * - `{packageName}`: the package manager name (checked against PACKAGE_MANAGER_NAME_PATTERN).
 */
const installation = {
  installerType: z.enum(installerTypes),
  successExitCodes: exitCodes.default([0]),
  /** Exit codes that mean success, with a restart needed (3010, 1641 for MSI). */
  rebootExitCodes: exitCodes.default([]),
  reboot: z.enum(rebootBehaviours).default('never'),
  productCode: msiGuid.optional(),
  packageName: packageManagerName.optional(),
  preHook: installHook.optional(),
  postHook: installHook.optional(),
  detection: detection.optional(),
  requirements: softwareRequirements.optional(),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600),
};

/** Most artifacts a version has: the installer first, then files it needs next to it (a .cab, a transform, a config). */
export const MAX_VERSION_ARTIFACTS = 8;

/** Most dependencies one install brings (its dependencies' dependencies included). */
export const MAX_SOFTWARE_DEPENDENCIES = 16;

/** What one version needs to be installed: its installation, identity, command line and artifacts. */
const versionInstall = {
  ...installation,
  /** Which package version this is (for the device's output and log; the server resolves everything else). */
  package: z.object({ versionId: z.string().uuid(), name: text(200), version: softwareVersion }),
  command: installCommandLine,
  /**
   * The artifacts, signed for this device when the server delivers the command (installer types with an
   * artifact): the agent downloads them into one directory under their file names; `{installer}` is the first.
   */
  artifacts: z.array(signedManifest).max(MAX_VERSION_ARTIFACTS).optional(),
  /**
   * SERVER-SIDE ONLY: the artifacts by ID, stored in place of `artifacts` and replaced by them (signed, with the
   * sources for this device) at delivery, so a manifest is fresh and a presigned URL valid when the agent gets it.
   */
  artifactIds: z.array(z.string().uuid()).max(MAX_VERSION_ARTIFACTS).optional(),
};

/** A version another one depends on, as an install of its own. */
export const softwareDependency = z.object(versionInstall);
export type SoftwareDependency = z.infer<typeof softwareDependency>;

/** Longest reboot notice a command carries (Windows' `shutdown /c` takes at most 512 characters). */
export const MAX_REBOOT_NOTICE_LENGTH = 500;
/** Longest delay between a reboot notice and the restart. */
export const MAX_REBOOT_NOTICE_DELAY_SECONDS = 3600;

/**
 * How the agent may use the network for a command (a deployment's `strategy.network`): a cap on its download rate,
 * and whether to skip metered connections (the command then ends `deferred_metered` without downloading anything).
 */
export const softwareNetworkPolicy = z.object({
  maxBytesPerSecond: z
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 ** 3)
    .optional(),
  skipMetered: z.boolean().optional(),
});
export type SoftwareNetworkPolicy = z.infer<typeof softwareNetworkPolicy>;

/**
 * What logged-in users are told before the agent restarts the device (a deployment's reboot policy `force`), and how
 * long before. The agent passes the message as one argument (never through a shell) after stripping control characters.
 */
export const rebootNotice = z.object({
  message: text(MAX_REBOOT_NOTICE_LENGTH),
  delaySeconds: z.number().int().min(0).max(MAX_REBOOT_NOTICE_DELAY_SECONDS),
});
export type RebootNotice = z.infer<typeof rebootNotice>;

const softwareCommand = {
  ...versionInstall,
  network: softwareNetworkPolicy.optional(),
  /** With `reboot` other than `never`: warn the users and wait this long before the restart (default: restart at once). */
  rebootNotice: rebootNotice.optional(),
  /**
   * software.install: the versions it depends on, in the order to install them (a dependency's own dependencies
   * before it), each detected first and skipped when present. The command's timeout covers them all.
   */
  dependencies: z.array(softwareDependency).max(MAX_SOFTWARE_DEPENDENCIES).optional(),
};

/** Installs a package version: detect → requirements → download → verify → install → detect (ADR 23). */
export const softwareInstallCommandPayload = z.object({ kind: z.literal('software.install'), ...softwareCommand });
export type SoftwareInstallCommandPayload = z.infer<typeof softwareInstallCommandPayload>;

/** Uninstalls a package version: detect → uninstall → detect. Artifacts are sent when the uninstaller needs them (exe, archive). */
export const softwareUninstallCommandPayload = z.object({ kind: z.literal('software.uninstall'), ...softwareCommand });
export type SoftwareUninstallCommandPayload = z.infer<typeof softwareUninstallCommandPayload>;

/** What the agent reports about a software command next to its status (stored with the command). */
export const softwareCommandReport = z.object({
  outcome: z.enum(softwareOutcomes),
  /** Whether detection found the version before and after (null: no detection rules, or evaluation failed). */
  detectedBefore: z.boolean().nullable(),
  detectedAfter: z.boolean().nullable(),
  installerExitCode: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32 - 1)
    .nullable(),
  rebootRequired: z.boolean(),
  /** The source the artifact came from (null: none needed, or from the agent's cache). */
  sourceId: z.string().uuid().nullable(),
  fromCache: z.boolean(),
  bytesDownloaded: z.number().int().min(0).max(MAX_ARTIFACT_BYTES),
  /** Why, in a sentence, when the outcome is not a success. */
  detail: text(2000).optional(),
});
export type SoftwareCommandReport = z.infer<typeof softwareCommandReport>;

export { depotSourceKinds, installerTypes, packagePlatforms, rebootBehaviours, cpuArchitectures, softwareOutcomes };
