/**
 * Installer command lines: the defaults the console proposes per installer type, the agent's placeholder
 * substitution (`{installer}`, `{log}`, `{productCode}`, `{packageName}`, contracts' `installation`), and how an
 * exit code reads.
 *
 * Decisions, briefly:
 * - deb installs through `apt-get install -y <path>` (not `dpkg -i`): apt resolves the package's dependencies
 *   from the device's repositories, where dpkg would leave it unconfigured. Conffile prompts are answered
 *   "keep the local file" (`--force-confdef --force-confold`), never asked. Uninstall is `dpkg -r <name>`,
 *   not `apt-get remove`, which would also remove every package that depends on it.
 * - rpm installs with `rpm -U` (no dependency resolution: on dnf systems use the `dnf` type with a repository).
 * - An exe whose framework we do not know, and an archive, get no default: guessing a silent switch leaves an
 *   installer waiting at a dialog until the timeout. The admin writes the command.
 * - Uninstalling exe installers (Inno, NSIS) needs the uninstaller's path from the registry's UninstallString:
 *   no default. Burn bundles uninstall through the bundle itself.
 * - msix is provisioned (Add-AppxProvisionedPackage), not added for the current user: the agent is SYSTEM.
 * - `shell` says which shell the line is written for: cmd for Windows command lines, PowerShell for msix and
 *   ps1 (contracts: "ps1 installers by PowerShell"), sh for Linux.
 */
import type { InstallerType } from '@opsconductor/contracts/constants';
import { MSI_GUID_PATTERN, PACKAGE_MANAGER_NAME_PATTERN } from '@opsconductor/contracts/software';

export type CommandShell = 'sh' | 'cmd' | 'powershell';
export const exeInstallerFrameworks = ['inno', 'nsis', 'burn', 'installshield', 'unknown'] as const;
export type ExeInstallerFramework = (typeof exeInstallerFrameworks)[number];

export interface DefaultCommands {
  install: string;
  uninstall: string | null;
  shell: CommandShell;
  successExitCodes: number[];
  rebootExitCodes: number[];
}

export interface DefaultCommandsInput {
  productCode?: string;
  packageName?: string;
  installerFramework?: ExeInstallerFramework;
}

/** Windows Installer: ERROR_SUCCESS_REBOOT_REQUIRED, ERROR_SUCCESS_REBOOT_INITIATED. */
const MSI_REBOOT_EXIT_CODES = [3010, 1641];
const APT_ENV = 'DEBIAN_FRONTEND=noninteractive';
const APT_CONFFILES = '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

/**
 * The default command lines for an installer type, or null when there is no safe default (an archive; an
 * exe of an unknown framework): then the admin must write them.
 */
export function defaultCommands(installerType: InstallerType, input: DefaultCommandsInput = {}): DefaultCommands | null {
  const base = { successExitCodes: [0], rebootExitCodes: [] as number[] };
  switch (installerType) {
    case 'msi':
      return {
        ...base,
        shell: 'cmd',
        install: 'msiexec /i {installer} /qn /norestart /l*v {log}',
        // Without a product code, msiexec uninstalls through the package file itself.
        uninstall: `msiexec /x ${input.productCode ? '{productCode}' : '{installer}'} /qn /norestart /l*v {log}`,
        rebootExitCodes: MSI_REBOOT_EXIT_CODES,
      };
    case 'exe':
      switch (input.installerFramework ?? 'unknown') {
        case 'inno':
          return {
            ...base,
            shell: 'cmd',
            install: '{installer} /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /SP- /LOG={log}',
            uninstall: null,
          };
        case 'nsis':
          return { ...base, shell: 'cmd', install: '{installer} /S', uninstall: null };
        case 'burn':
          return {
            ...base,
            shell: 'cmd',
            install: '{installer} /quiet /norestart /log {log}',
            uninstall: '{installer} /uninstall /quiet /norestart /log {log}',
            rebootExitCodes: MSI_REBOOT_EXIT_CODES,
          };
        case 'installshield':
          // InstallShield's Basic MSI setup.exe hands /v arguments to msiexec.
          return {
            ...base,
            shell: 'cmd',
            install: '{installer} /s /v"/qn /norestart"',
            uninstall: null,
            rebootExitCodes: MSI_REBOOT_EXIT_CODES,
          };
        case 'unknown':
          return null;
      }
      return null;
    case 'msix':
      return {
        ...base,
        shell: 'powershell',
        // The agent runs as SYSTEM, where Add-AppxPackage would install for SYSTEM alone: provision the package
        // for every user instead, and remove it both from the image and from every profile.
        install: 'Add-AppxProvisionedPackage -Online -PackagePath {installer} -SkipLicense',
        uninstall: input.packageName
          ? 'Get-AppxProvisionedPackage -Online | Where-Object DisplayName -eq {packageName} | Remove-AppxProvisionedPackage -Online; ' +
            'Get-AppxPackage -AllUsers -Name {packageName} | Remove-AppxPackage -AllUsers'
          : null,
      };
    case 'ps1':
      return {
        ...base,
        shell: 'powershell',
        install: 'powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File {installer}',
        uninstall: null,
      };
    case 'sh':
      return { ...base, shell: 'sh', install: 'sh {installer}', uninstall: null };
    case 'deb':
      return {
        ...base,
        shell: 'sh',
        install: `${APT_ENV} apt-get install -y ${APT_CONFFILES} {installer}`,
        uninstall: input.packageName ? 'dpkg -r {packageName}' : null,
      };
    case 'rpm':
      return { ...base, shell: 'sh', install: 'rpm -U {installer}', uninstall: input.packageName ? 'rpm -e {packageName}' : null };
    case 'apt':
      return {
        ...base,
        shell: 'sh',
        install: `${APT_ENV} apt-get install -y ${APT_CONFFILES} {packageName}`,
        uninstall: `${APT_ENV} apt-get remove -y {packageName}`,
      };
    case 'dnf':
      return { ...base, shell: 'sh', install: 'dnf install -y {packageName}', uninstall: 'dnf remove -y {packageName}' };
    case 'pacman':
      return {
        ...base,
        shell: 'sh',
        install: 'pacman -S --noconfirm --needed {packageName}',
        uninstall: 'pacman -R --noconfirm {packageName}',
      };
    case 'winget':
      // --exact: without it --id matches any ID containing the text.
      return {
        ...base,
        shell: 'cmd',
        install: 'winget install --id {packageName} --exact --silent --accept-package-agreements --accept-source-agreements',
        uninstall: 'winget uninstall --id {packageName} --exact --silent --accept-source-agreements',
      };
    case 'chocolatey':
      return {
        ...base,
        shell: 'cmd',
        install: 'choco install {packageName} -y --no-progress',
        uninstall: 'choco uninstall {packageName} -y --no-progress',
        // Chocolatey passes the package's installer's reboot codes through.
        rebootExitCodes: MSI_REBOOT_EXIT_CODES,
      };
    case 'archive':
      return null;
  }
}

// ---- rendering -------------------------------------------------------------------------------------

export const commandPlaceholders = ['installer', 'log', 'productCode', 'packageName'] as const;
export type CommandPlaceholder = (typeof commandPlaceholders)[number];
export type CommandValues = Partial<Record<CommandPlaceholder, string>>;

export class CommandTemplateError extends Error {
  override readonly name = 'CommandTemplateError';
}

/** `'…'` with each `'` as `'\''`: nothing is special inside POSIX single quotes. */
export function quoteSh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `"…"` for cmd.exe and the program's own argument parsing (CommandLineToArgvW rules). cmd still expands `%`
 * (and `!` with delayed expansion) inside quotes and a `"` cannot be escaped for both parsers at once, so those
 * are refused rather than half-quoted; `^` too, which some tools re-parse through a second cmd. Backslashes
 * before the closing quote are doubled so they do not escape it (`C:\dir\` → `"C:\dir\\"`).
 */
export function quoteCmd(value: string): string {
  const bad = /["%!^\r\n\0]/.exec(value);
  if (bad) throw new CommandTemplateError(`cannot quote ${JSON.stringify(bad[0])} for cmd safely in ${JSON.stringify(value)}`);
  return `"${value.replace(/(\\+)$/, '$1$1')}"`;
}

/** `'…'` for PowerShell: each single quote doubled, including the typographic ones PowerShell also accepts. */
export function quotePowerShell(value: string): string {
  if (value.includes('\0')) throw new CommandTemplateError('cannot quote a NUL character for PowerShell');
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, '$&$&')}'`;
}

const QUOTERS: Record<CommandShell, (v: string) => string> = { sh: quoteSh, cmd: quoteCmd, powershell: quotePowerShell };

/** A placeholder is `{name}` with a plain identifier: a literal `{GUID}` or a PowerShell `{ $_ }` is left alone. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Substitutes the placeholders in `template`, each value quoted for `shell` (the product code and package
 * name too: braces mean a script block to PowerShell). Throws CommandTemplateError on an unknown placeholder,
 * a placeholder without a value, a product code or package name that fails its contracts pattern, or a value
 * the shell cannot quote safely.
 */
export function renderCommand(template: string, values: CommandValues, shell: CommandShell): string {
  const quote = QUOTERS[shell];
  return template.replace(PLACEHOLDER, (_whole, name: string) => {
    if (!(commandPlaceholders as readonly string[]).includes(name)) {
      throw new CommandTemplateError(`unknown placeholder {${name}} (known: ${commandPlaceholders.map((p) => `{${p}}`).join(', ')})`);
    }
    const key = name as CommandPlaceholder;
    const value = values[key];
    if (value === undefined) throw new CommandTemplateError(`no value for {${key}}`);
    if (key === 'productCode' && !MSI_GUID_PATTERN.test(value))
      throw new CommandTemplateError(`not an MSI product code: ${JSON.stringify(value)}`);
    if (key === 'packageName' && !PACKAGE_MANAGER_NAME_PATTERN.test(value))
      throw new CommandTemplateError(`not a package name: ${JSON.stringify(value)}`);
    if ((key === 'installer' || key === 'log') && value.length === 0) throw new CommandTemplateError(`empty path for {${key}}`);
    return quote(value);
  });
}

// ---- exit codes ------------------------------------------------------------------------------------

/** The unsigned reading of a 32-bit exit code; values outside 32 bits stay as they are (no wrap-around). */
function asUnsigned32(code: number): number {
  return code >= -(2 ** 31) && code <= 2 ** 32 - 1 ? code >>> 0 : code;
}

export type ExitCodeClass = 'success' | 'success_reboot' | 'failure';

/**
 * How an installer's exit code reads. Windows exit codes are unsigned 32-bit (0x80070643 = 2147944003) but
 * arrive signed from some APIs (-2147023293): both readings of one value compare equal. A code listed both as
 * success and as reboot reads as reboot (the safer answer).
 */
export function classifyExitCode(code: number, successExitCodes: readonly number[], rebootExitCodes: readonly number[]): ExitCodeClass {
  if (!Number.isInteger(code)) return 'failure';
  const u = asUnsigned32(code);
  const has = (list: readonly number[]) => list.some((c) => asUnsigned32(c) === u);
  if (has(rebootExitCodes)) return 'success_reboot';
  if (has(successExitCodes)) return 'success';
  return 'failure';
}
