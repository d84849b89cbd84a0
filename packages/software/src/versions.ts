/**
 * Version ordering the way each package manager orders its own versions, so a detection rule
 * `linux_package dpkg coreutils >= 9.1-1` answers exactly what `dpkg --compare-versions` would.
 *
 * - `compareDpkg`: dpkg's `verrevcmp` over `[epoch:]upstream[-revision]` (lib/dpkg/version.c). Case-sensitive,
 *   `~` before everything (even the end of the string), letters before other characters, digit runs numeric.
 * - `compareRpm`: `rpmvercmp` over `[epoch:]version[-release]` (rpmio/rpmvercmp.c, rpm ≥ 4.15 with `^`), as
 *   `rpm.vercmp()` orders full EVR strings: a missing release sorts before any release (`1.0 < 1.0-1`).
 *   `satisfies` instead ignores the installed release when the constraint has none (`= 1.0` holds for
 *   `1.0-3.el9`), as rpm does for dependencies.
 * - `comparePacman`: libalpm's `alpm_pkg_vercmp`: epoch, then pkgver, then pkgrel (only when both have one),
 *   each with pacman's own copy of rpmvercmp, which is older than rpm's: no `~`/`^` handling, a different
 *   separator count decides (`2.0a < 2.0.a`), and a trailing letter run loses to the end (`1.5b < 1.5`).
 * - `compareMsi`: Windows Installer's ProductVersion `major.minor.build` (fields ≤ 255.255.65535 by spec, compared
 *   numerically here whatever their size). Windows Installer ignores a 4th field when it compares product
 *   versions (upgrades from 1.0.0.1 to 1.0.0.2 are "the same version"), so we do too. A version that is not
 *   dotted digits (a DisplayVersion such as `2.1 beta`) falls back to the generic order.
 * - `'generic'`: `compareVersions` from @opsconductor/rules (file versions, registry data, OS versions).
 */
import { compareVersions, type VersionOrder } from '@opsconductor/rules';
import type { VersionComparison, VersionConstraint } from '@opsconductor/contracts/software';

export type { VersionOrder };
export const versionSchemes = ['dpkg', 'rpm', 'pacman', 'msi', 'generic'] as const;
export type VersionScheme = (typeof versionSchemes)[number];

const sign = (n: number): VersionOrder => (n < 0 ? -1 : n > 0 ? 1 : 0);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

/** Two digit strings compared as numbers of any length (leading zeros ignored). */
function compareDigitStrings(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---- dpkg ------------------------------------------------------------------------------------------

/** dpkg's `order()`: weight of one character of a non-digit run; the end of the string weighs 0. */
function dpkgOrder(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = dpkgOrder(a[i]);
      const bc = dpkgOrder(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

interface Evr {
  epoch: string;
  version: string;
  release: string | null;
}

/** dpkg's parseversion: epoch before the first `:`, revision after the last `-`. */
function parseDpkg(v: string): Evr {
  let s = v.trim();
  let epoch = '0';
  const colon = s.indexOf(':');
  if (colon >= 0) {
    epoch = s.slice(0, colon) || '0';
    s = s.slice(colon + 1);
  }
  const dash = s.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: s.slice(0, dash), release: s.slice(dash + 1) } : { epoch, version: s, release: null };
}

/** `dpkg --compare-versions a lt b` ⇔ `compareDpkg(a, b) < 0`. A non-numeric epoch compares as text (dpkg refuses it). */
export function compareDpkg(a: string, b: string): VersionOrder {
  const x = parseDpkg(a);
  const y = parseDpkg(b);
  const epochs = /^\d+$/.test(x.epoch) && /^\d+$/.test(y.epoch) ? compareDigitStrings(x.epoch, y.epoch) : verrevcmp(x.epoch, y.epoch);
  return sign(epochs || verrevcmp(x.version, y.version) || verrevcmp(x.release ?? '', y.release ?? ''));
}

// ---- rpm -------------------------------------------------------------------------------------------

/** rpm's rpmvercmp (rpm 4.18), character for character. */
export function rpmvercmp(a: string, b: string): VersionOrder {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    // `~` sorts before everything, the end of the string included.
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // `^` sorts after the end of the string but before anything else.
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;
    const numeric = isDigit(a[i]);
    const more = numeric ? isDigit : isAlpha;
    let ie = i;
    while (ie < a.length && more(a[ie])) ie++;
    let je = j;
    while (je < b.length && more(b[je])) je++;
    // Segments of different kinds: numeric is newer than alpha.
    if (je === j) return numeric ? 1 : -1;
    const sa = a.slice(i, ie);
    const sb = b.slice(j, je);
    const rc = numeric ? compareDigitStrings(sa, sb) : sa < sb ? -1 : sa > sb ? 1 : 0;
    if (rc) return sign(rc);
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** rpm's parseEVR: epoch = leading digits before `:`, release after the last `-` of the rest. */
function parseEvr(v: string): Evr {
  const s = v.trim();
  const m = /^(\d*):/.exec(s);
  const epoch = m ? m[1] || '0' : '0';
  const rest = m ? s.slice(m[0].length) : s;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: null };
}

/** `rpm.vercmp(a, b)` (rpm's Lua API, `rpmverCmp`): epoch, version, then release — a missing release sorts first. */
export function compareRpm(a: string, b: string): VersionOrder {
  const x = parseEvr(a);
  const y = parseEvr(b);
  const rc = rpmvercmp(x.epoch, y.epoch) || rpmvercmp(x.version, y.version);
  if (rc) return rc;
  if (x.release !== null && y.release !== null) return rpmvercmp(x.release, y.release);
  return x.release !== null ? 1 : y.release !== null ? -1 : 0;
}

// ---- pacman ----------------------------------------------------------------------------------------

/** libalpm's rpmvercmp (lib/libalpm/version.c), which differs from rpm's (see the module comment). */
function alpmRpmvercmp(a: string, b: string): VersionOrder {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  let pi = 0; // where the previous segment ended
  let pj = 0;
  while (i < a.length && j < b.length) {
    while (i < a.length && !isAlnum(a[i])) i++;
    while (j < b.length && !isAlnum(b[j])) j++;
    if (!(i < a.length && j < b.length)) break;
    // Separator runs of different lengths decide.
    if (i - pi !== j - pj) return i - pi < j - pj ? -1 : 1;
    const numeric = isDigit(a[i]);
    const more = numeric ? isDigit : isAlpha;
    let ie = i;
    while (ie < a.length && more(a[ie])) ie++;
    let je = j;
    while (je < b.length && more(b[je])) je++;
    if (je === j) return numeric ? 1 : -1;
    const sa = a.slice(i, ie);
    const sb = b.slice(j, je);
    const rc = numeric ? compareDigitStrings(sa, sb) : sa < sb ? -1 : sa > sb ? 1 : 0;
    if (rc) return sign(rc);
    i = pi = ie;
    j = pj = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  // A remaining alpha run never beats the end of the other string.
  if ((i >= a.length && !isAlpha(b[j])) || isAlpha(a[i])) return -1;
  return 1;
}

/** `vercmp a b` (pacman): epoch, pkgver, and pkgrel only when both versions carry one. */
export function comparePacman(a: string, b: string): VersionOrder {
  if (a === b) return 0;
  const x = parseEvr(a);
  const y = parseEvr(b);
  const rc = alpmRpmvercmp(x.epoch, y.epoch) || alpmRpmvercmp(x.version, y.version);
  if (rc || x.release === null || y.release === null) return rc;
  return alpmRpmvercmp(x.release, y.release);
}

// ---- MSI -------------------------------------------------------------------------------------------

const MSI_VERSION = /^\d+(?:\.\d+)*$/;

/** MSI ProductVersion order: the first three fields numerically (missing = 0), the 4th and later ignored. */
export function compareMsi(a: string, b: string): VersionOrder {
  const x = a.trim();
  const y = b.trim();
  if (!MSI_VERSION.test(x) || !MSI_VERSION.test(y)) return compareVersions(x, y);
  const xs = x.split('.');
  const ys = y.split('.');
  for (let k = 0; k < 3; k++) {
    const rc = compareDigitStrings(xs[k] ?? '0', ys[k] ?? '0');
    if (rc) return sign(rc);
  }
  return 0;
}

// ---- constraints -----------------------------------------------------------------------------------

export function compareWith(scheme: VersionScheme, a: string, b: string): VersionOrder {
  switch (scheme) {
    case 'dpkg':
      return compareDpkg(a, b);
    case 'rpm':
      return compareRpm(a, b);
    case 'pacman':
      return comparePacman(a, b);
    case 'msi':
      return compareMsi(a, b);
    case 'generic':
      return compareVersions(a, b);
  }
}

function holds(op: VersionComparison, order: VersionOrder): boolean {
  switch (op) {
    case 'eq':
      return order === 0;
    case 'neq':
      return order !== 0;
    case 'gt':
      return order > 0;
    case 'gte':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'lte':
      return order <= 0;
  }
}

/** Drops the installed version's release when the constraint has none (rpm's dependency matching). */
function rpmComparable(installed: string, wanted: string): string {
  if (parseEvr(wanted).release !== null) return installed;
  const evr = parseEvr(installed);
  return evr.release === null ? installed : `${evr.epoch}:${evr.version}`;
}

/** Whether `version` satisfies every constraint, compared the `scheme`'s way. */
export function satisfies(version: string, constraints: readonly VersionConstraint[], scheme: VersionScheme): boolean {
  return constraints.every((c) => {
    const left = scheme === 'rpm' ? rpmComparable(version, c.value) : version;
    return holds(c.op, compareWith(scheme, left, c.value));
  });
}

const OP_SYMBOLS: Record<VersionComparison, string> = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤' };

/** `≥ 2.0, < 3.0`: constraints for people (traces, sentences). */
export function describeConstraints(constraints: readonly VersionConstraint[]): string {
  return constraints.map((c) => `${OP_SYMBOLS[c.op]} ${c.value}`).join(', ');
}
