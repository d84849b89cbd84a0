/**
 * The version editor: installer type (the server's default commands shown as placeholders), the artifacts from the
 * depot (searchable) or uploaded here, exit codes and restarts, requirements, dependencies, hooks, and the detection
 * rule builder. An uploaded (or picked) installer's metadata prefills the version, product code, package name and a
 * detection rule, where they are still empty.
 */
import { Form, Link, useFetcher, useNavigation } from '@remix-run/react';
import { useEffect, useState } from 'react';
import type { InstallerType } from '@opsconductor/contracts/constants';
import {
  appendDetectionChild,
  detectionToTree,
  emptyDetectionGroup,
  newDetectionId,
  readArtifactMetadata,
  serializeDetection,
  suggestedDetectionRule,
  type DetectionGroup,
} from '~/lib/detection-tree';
import { formatBytes } from '~/lib/format';
import {
  cpuArchitectures,
  exeFrameworks,
  installerTypeLabels,
  installerTypes,
  isByName,
  packagePlatforms,
  platformLabels,
  prefillFromArtifact,
  rebootBehaviours,
  rebootLabels,
  scriptInterpreters,
  shortSha,
  type DepotArtifact,
  type VersionFormValues,
} from '~/lib/software';
import type { CommandDefaults } from '~/lib/software.server';
import { UploadDialog } from './depot-upload';
import { DetectionBuilder, type DetectionError } from './detection-builder';
import { ArtifactMetadata } from './software';
import { Alert, Button, Card, Field, Input, Select, Textarea, buttonClass } from './ui';

export type ArtifactChoice = Pick<DepotArtifact, 'id' | 'fileName' | 'size' | 'sha256' | 'metadata'>;

function initialDetection(json: string): DetectionGroup {
  if (!json) return emptyDetectionGroup('d-root');
  try {
    const parsed = detectionToTree(JSON.parse(json));
    return parsed.ok ? parsed.root : emptyDetectionGroup('d-root');
  } catch {
    return emptyDetectionGroup('d-root');
  }
}

export function VersionEditor({
  initial,
  initialArtifacts,
  defaults,
  packages,
  versions,
  issues = {},
  formError,
  detectionErrors,
  cancelTo,
}: {
  initial: VersionFormValues;
  initialArtifacts: ArtifactChoice[];
  defaults: CommandDefaults;
  /** Packages a dependency may name. */
  packages: Array<{ id: string; name: string }>;
  /** This package's versions, for "supersedes". */
  versions: Array<{ id: string; version: string }>;
  issues?: Record<string, string>;
  formError?: string | undefined;
  detectionErrors?: DetectionError[];
  cancelTo: string;
}) {
  const navigation = useNavigation();
  const [form, setForm] = useState(initial);
  const [artifacts, setArtifacts] = useState<ArtifactChoice[]>(initialArtifacts);
  const [detection, setDetection] = useState<DetectionGroup>(() => initialDetection(initial.detectionDraft || initial.detection));
  const [dependencies, setDependencies] = useState(initial.dependencies);
  const [uploadOpen, setUploadOpen] = useState(false);
  const [prefilled, setPrefilled] = useState<string | null>(null);
  const type = form.installerType as InstallerType;
  const d = defaults[type];
  const set = (patch: Partial<VersionFormValues>) => setForm((f) => ({ ...f, ...patch }));

  /** Adds an artifact; the first one's metadata prefills what is still empty, and a detection rule when there is none. */
  const addArtifact = (artifact: ArtifactChoice) => {
    setArtifacts((list) => (list.some((a) => a.id === artifact.id) ? list : [...list, artifact]));
    if (artifacts.length > 0) return;
    setForm((f) => prefillFromArtifact(f, artifact));
    const rule = suggestedDetectionRule(readArtifactMetadata(artifact.metadata));
    if (rule)
      setDetection((root) =>
        serializeDetection(root).empty ? appendDetectionChild(root, root.id, { id: newDetectionId(), kind: 'rule', rule }) : root,
      );
    if (Object.keys(readArtifactMetadata(artifact.metadata)).some((k) => k !== 'format' && k !== 'warnings'))
      setPrefilled(artifact.fileName);
  };

  return (
    <Form method="post" className="space-y-4" data-testid="version-form" noValidate>
      {formError ? <Alert title="The version was not saved">{formError}</Alert> : null}
      {prefilled ? (
        <Alert tone="info">
          <span data-testid="prefilled-notice">
            Prefilled from what was read from {prefilled}: check the version, identity and detection rule.
          </span>
        </Alert>
      ) : null}
      <Card title="Version">
        <div className="grid gap-4 p-4 sm:grid-cols-3">
          <Field label="Version" error={issues.version} hint="As the installer reports it: 1.2.3, 1:2.3-4">
            {(p) => (
              <Input
                {...p}
                name="version"
                value={form.version}
                onChange={(e) => set({ version: e.currentTarget.value })}
                spellCheck={false}
              />
            )}
          </Field>
          <Field label="Installer type" error={issues.installerType}>
            {(p) => (
              <Select
                {...p}
                name="installerType"
                value={form.installerType}
                onChange={(e) => set({ installerType: e.currentTarget.value })}
              >
                {installerTypes.map((t) => (
                  <option key={t} value={t}>
                    {installerTypeLabels[t]}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          {type === 'exe' ? (
            <Field label="Installer framework" error={issues.installerFramework} hint="Picks the silent switches">
              {(p) => (
                <Select
                  {...p}
                  name="installerFramework"
                  value={form.installerFramework}
                  onChange={(e) => set({ installerFramework: e.currentTarget.value })}
                >
                  <option value="">Unknown: I write the command</option>
                  {exeFrameworks.map((f) => (
                    <option key={f} value={f}>
                      {f === 'inno' ? 'Inno Setup' : f === 'nsis' ? 'NSIS' : f === 'burn' ? 'WiX Burn' : 'InstallShield'}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          ) : null}
          {type === 'msi' || type === 'exe' ? (
            <Field label="Product code" error={issues.productCode} hint="MSI: used to uninstall">
              {(p) => (
                <Input
                  {...p}
                  name="productCode"
                  value={form.productCode}
                  onChange={(e) => set({ productCode: e.currentTarget.value })}
                  placeholder="{12345678-ABCD-…}"
                  className="font-mono text-xs"
                  spellCheck={false}
                />
              )}
            </Field>
          ) : null}
          {isByName(type) || ['deb', 'rpm', 'msix'].includes(type) ? (
            <Field
              label="Package name"
              error={issues.packageName}
              hint={isByName(type) ? 'What the package manager installs' : 'Used to uninstall'}
            >
              {(p) => (
                <Input
                  {...p}
                  name="packageName"
                  value={form.packageName}
                  onChange={(e) => set({ packageName: e.currentTarget.value })}
                  spellCheck={false}
                />
              )}
            </Field>
          ) : null}
        </div>
      </Card>

      {isByName(type) ? null : (
        <Card
          title="Artifacts"
          actions={
            <Button size="sm" onClick={() => setUploadOpen(true)}>
              Upload…
            </Button>
          }
        >
          <div className="space-y-3 p-4">
            {issues.artifactIds ? <p className="text-xs text-red-600">{issues.artifactIds}</p> : null}
            {artifacts.length === 0 ? (
              <p className="text-[13px] text-zinc-500">The installer first, then any files it needs beside it (a .cab, a transform).</p>
            ) : (
              <ol className="space-y-1.5" data-testid="chosen-artifacts">
                {artifacts.map((a, i) => (
                  <li key={a.id} className="flex flex-wrap items-center gap-2 text-[13px]" data-testid="chosen-artifact">
                    <input type="hidden" name="artifactId" value={a.id} />
                    <span className="w-4 text-right text-xs text-zinc-400 tabular-nums">{i + 1}.</span>
                    <span className="font-medium">{a.fileName}</span>
                    <span className="text-xs text-zinc-500">{formatBytes(a.size)}</span>
                    <code className="text-xs text-zinc-500" title={a.sha256}>
                      {shortSha(a.sha256)}
                    </code>
                    {i === 0 ? <span className="text-xs text-zinc-500">— the installer</span> : null}
                    <span className="ml-auto flex gap-1">
                      {i > 0 ? (
                        <Button
                          size="sm"
                          variant="ghost"
                          onClick={() => setArtifacts((list) => [...list.slice(0, i - 1), list[i]!, list[i - 1]!, ...list.slice(i + 1)])}
                        >
                          Move up
                        </Button>
                      ) : null}
                      <Button size="sm" variant="ghost" onClick={() => setArtifacts((list) => list.filter((x) => x.id !== a.id))}>
                        Remove
                      </Button>
                    </span>
                  </li>
                ))}
              </ol>
            )}
            {artifacts[0] ? <ArtifactMetadata metadata={artifacts[0].metadata} /> : null}
            <ArtifactSearch chosen={artifacts.map((a) => a.id)} onPick={addArtifact} />
          </div>
        </Card>
      )}

      <Card title="Commands">
        <div className="grid gap-4 p-4 sm:grid-cols-2">
          <Field
            label="Install command"
            error={issues.installCommand}
            hint={
              d.install
                ? 'Empty: the default shown. Placeholders: {installer}, {log}, {productCode}, {packageName}'
                : 'No safe default for this type: write it'
            }
            className="sm:col-span-2"
          >
            {(p) => (
              <Input
                {...p}
                name="installCommand"
                defaultValue={initial.installCommand}
                placeholder={d.install ?? 'e.g. {installer} /S'}
                className="font-mono text-xs"
                spellCheck={false}
              />
            )}
          </Field>
          <Field
            label="Uninstall command"
            error={issues.uninstallCommand}
            hint={d.uninstall ? 'Empty: the default shown' : 'No default: without one the version cannot be uninstalled'}
            className="sm:col-span-2"
          >
            {(p) => (
              <Input
                {...p}
                name="uninstallCommand"
                defaultValue={initial.uninstallCommand}
                placeholder={d.uninstall ?? ''}
                className="font-mono text-xs"
                spellCheck={false}
              />
            )}
          </Field>
          <Field label="Success exit codes" error={issues.successExitCodes}>
            {(p) => (
              <Input {...p} name="successExitCodes" defaultValue={initial.successExitCodes} placeholder={d.successExitCodes.join(', ')} />
            )}
          </Field>
          <Field label="Exit codes that need a restart" error={issues.rebootExitCodes}>
            {(p) => (
              <Input
                {...p}
                name="rebootExitCodes"
                defaultValue={initial.rebootExitCodes}
                placeholder={d.rebootExitCodes.join(', ') || 'none'}
              />
            )}
          </Field>
          <Field label="Restart" error={issues.reboot}>
            {(p) => (
              <Select {...p} name="reboot" defaultValue={initial.reboot}>
                {rebootBehaviours.map((r) => (
                  <option key={r} value={r}>
                    {rebootLabels[r]}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Timeout (seconds)" error={issues.timeoutSeconds}>
            {(p) => <Input {...p} name="timeoutSeconds" inputMode="numeric" defaultValue={initial.timeoutSeconds} />}
          </Field>
          {(['preHook', 'postHook'] as const).map((k) => (
            <Field key={k} label={k === 'preHook' ? 'Before installing (script)' : 'After installing (script)'} error={issues[k]}>
              {(p) => (
                <div className="space-y-1">
                  <Select
                    name={`${k}Interpreter`}
                    defaultValue={initial[`${k}Interpreter`]}
                    aria-label={`${k === 'preHook' ? 'Before' : 'After'} hook interpreter`}
                  >
                    {scriptInterpreters.map((i) => (
                      <option key={i}>{i}</option>
                    ))}
                  </Select>
                  <Textarea {...p} name={k} defaultValue={initial[k]} rows={2} placeholder="optional" />
                </div>
              )}
            </Field>
          ))}
        </div>
      </Card>

      <Card title="Detection">
        <div className="space-y-2 p-4">
          <p className="text-xs text-zinc-500">
            How the agent tells this version is installed: checked before installing (already there: nothing to do) and after (the install
            worked).
          </p>
          {issues.detection ? <p className="text-xs text-red-600">{issues.detection}</p> : null}
          <DetectionBuilder root={detection} onChange={setDetection} serverErrors={detectionErrors} />
        </div>
      </Card>

      <Card title="Requirements and relations">
        <div className="grid gap-4 p-4 sm:grid-cols-3">
          <fieldset>
            <legend className="mb-1 text-xs font-medium text-zinc-700">Platforms</legend>
            {packagePlatforms.map((p) => (
              <label key={p} className="mr-3 inline-flex items-center gap-1.5 text-[13px]">
                <input type="checkbox" name="platforms" value={p} defaultChecked={initial.platforms.includes(p)} />
                {platformLabels[p]}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend className="mb-1 text-xs font-medium text-zinc-700">Architectures</legend>
            {cpuArchitectures.map((a) => (
              <label key={a} className="mr-3 inline-flex items-center gap-1.5 text-[13px]">
                <input type="checkbox" name="architectures" value={a} defaultChecked={initial.architectures.includes(a)} />
                {a}
              </label>
            ))}
          </fieldset>
          <Field label="OS version at least" error={issues.minOsVersion}>
            {(p) => <Input {...p} name="minOsVersion" defaultValue={initial.minOsVersion} placeholder="10.0.19045" />}
          </Field>
          <Field label="Free disk (MiB)" error={issues.minFreeDiskMb}>
            {(p) => <Input {...p} name="minFreeDiskMb" inputMode="numeric" defaultValue={initial.minFreeDiskMb} />}
          </Field>
          <Field label="RAM (MiB)" error={issues.minRamMb}>
            {(p) => <Input {...p} name="minRamMb" inputMode="numeric" defaultValue={initial.minRamMb} />}
          </Field>
          <Field label="Supersedes" error={issues.supersedesId}>
            {(p) => (
              <Select {...p} name="supersedesId" defaultValue={initial.supersedesId}>
                <option value="">Nothing</option>
                {versions.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.version}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <div className="space-y-1 sm:col-span-3">
            <p className="text-xs font-medium text-zinc-700">Needs first (dependencies)</p>
            {issues.dependencies ? <p className="text-xs text-red-600">{issues.dependencies}</p> : null}
            {dependencies.map((dep, i) => (
              <div key={i} className="flex items-center gap-2">
                <Select
                  name="dependencyPackageId"
                  aria-label="Dependency"
                  value={dep.packageId}
                  onChange={(e) => {
                    const packageId = e.currentTarget.value;
                    setDependencies((list) => list.map((x, j) => (j === i ? { ...x, packageId } : x)));
                  }}
                  className="w-64"
                >
                  <option value="">Choose a package…</option>
                  {packages.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </Select>
                <Input
                  name="dependencyMinVersion"
                  aria-label="At least version"
                  value={dep.minVersion}
                  onChange={(e) => {
                    const minVersion = e.currentTarget.value;
                    setDependencies((list) => list.map((x, j) => (j === i ? { ...x, minVersion } : x)));
                  }}
                  placeholder="any version (or at least…)"
                  className="w-48"
                />
                <Button size="sm" variant="ghost" onClick={() => setDependencies((list) => list.filter((_, j) => j !== i))}>
                  Remove
                </Button>
              </div>
            ))}
            <Button
              size="sm"
              onClick={() => setDependencies((list) => [...list, { packageId: '', minVersion: '' }])}
              disabled={packages.length === 0}
            >
              Add dependency
            </Button>
          </div>
          <Field label="Notes" error={issues.notes} className="sm:col-span-3">
            {(p) => <Textarea {...p} name="notes" defaultValue={initial.notes} rows={2} className="font-sans! text-[13px]!" />}
          </Field>
        </div>
      </Card>

      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={navigation.state !== 'idle'}>
          Create version
        </Button>
        <Link to={cancelTo} className={buttonClass('secondary')}>
          Cancel
        </Link>
      </div>
      <UploadDialog
        open={uploadOpen}
        onClose={() => setUploadOpen(false)}
        onUploaded={(a) => {
          addArtifact(a);
        }}
      />
    </Form>
  );
}

/** Searches the depot (its page's loader, by file name or SHA-256) and offers what it finds. */
function ArtifactSearch({ chosen, onPick }: { chosen: string[]; onPick: (a: ArtifactChoice) => void }) {
  const fetcher = useFetcher<{ items: DepotArtifact[]; total: number }>();
  const [q, setQ] = useState('');
  const { load } = fetcher;
  useEffect(() => {
    const timer = setTimeout(() => load(`/depot?index&${new URLSearchParams({ q })}`), 250);
    return () => clearTimeout(timer);
  }, [q, load]);
  const items = (fetcher.data?.items ?? []).filter((a) => !chosen.includes(a.id));
  return (
    <div className="space-y-1.5 border-t border-zinc-100 pt-3">
      <Input
        type="search"
        aria-label="Search the depot"
        placeholder="Search the depot by file name or SHA-256…"
        value={q}
        onChange={(e) => setQ(e.currentTarget.value)}
        className="w-96"
      />
      <ul className="max-h-48 divide-y divide-zinc-100 overflow-y-auto" data-testid="depot-search-results">
        {items.slice(0, 20).map((a) => (
          <li key={a.id} className="flex items-center gap-2 py-1 text-[13px]">
            <span className="font-medium">{a.fileName}</span>
            <span className="text-xs text-zinc-500">{formatBytes(a.size)}</span>
            <code className="text-xs text-zinc-400">{shortSha(a.sha256)}</code>
            <Button size="sm" className="ml-auto" onClick={() => onPick(a)} aria-label={`Add ${a.fileName}`}>
              Add
            </Button>
          </li>
        ))}
        {fetcher.data && items.length === 0 ? (
          <li className="py-1 text-xs text-zinc-500">Nothing {q ? 'matches' : 'else in the depot'}.</li>
        ) : null}
      </ul>
    </div>
  );
}
