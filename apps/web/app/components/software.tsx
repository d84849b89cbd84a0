/** Pieces of the software pages: the package form, detection rules in words, an artifact's metadata. */
import { Form, Link, useNavigation } from '@remix-run/react';
import type { DetectionLine } from '~/lib/detection-tree';
import { metadataSummary, packagePlatforms, platformLabels, type PackageFormValues } from '~/lib/software';
import { Alert, Button, Card, Field, Input, Select, Textarea, buttonClass } from './ui';

export function PackageForm({
  mode,
  initial,
  issues = {},
  formError,
  cancelTo,
}: {
  mode: 'create' | 'edit';
  initial: PackageFormValues;
  issues?: Record<string, string>;
  formError?: string | undefined;
  cancelTo: string;
}) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';
  return (
    <Form method="post" className="max-w-2xl space-y-4" data-testid="package-form" noValidate>
      {formError ? <Alert title="The package was not saved">{formError}</Alert> : null}
      <Card title="Package">
        <div className="grid gap-4 p-4 sm:grid-cols-2">
          <Field label="Name" error={issues.name} className="sm:col-span-2">
            {(p) => <Input {...p} name="name" defaultValue={initial.name} required maxLength={200} />}
          </Field>
          <Field label="Vendor" error={issues.vendor}>
            {(p) => <Input {...p} name="vendor" defaultValue={initial.vendor} maxLength={200} />}
          </Field>
          <Field label="Category" error={issues.category} hint="e.g. Browsers, Utilities, Security">
            {(p) => <Input {...p} name="category" defaultValue={initial.category} maxLength={100} />}
          </Field>
          <Field
            label="Platform"
            error={issues.platform}
            hint={mode === 'edit' ? 'Fixed: the versions are built for it.' : 'What the versions install on.'}
          >
            {(p) => (
              <Select {...p} name="platform" defaultValue={initial.platform || 'windows'} disabled={mode === 'edit'}>
                {packagePlatforms.map((pl) => (
                  <option key={pl} value={pl}>
                    {platformLabels[pl]}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Description" error={issues.description} className="sm:col-span-2">
            {(p) => <Textarea {...p} name="description" defaultValue={initial.description} rows={3} className="font-sans! text-[13px]!" />}
          </Field>
        </div>
      </Card>
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {mode === 'create' ? 'Create package' : 'Save package'}
        </Button>
        <Link to={cancelTo} className={buttonClass('secondary')}>
          Cancel
        </Link>
      </div>
    </Form>
  );
}

/** A detection tree as nested lists: "ANY of" / "ALL of" and each rule in words. */
export function DetectionView({ line }: { line: DetectionLine }) {
  if (line.kind === 'rule') return <span className="font-mono text-xs text-zinc-800">{line.text}</span>;
  return (
    <div data-testid="detection-group">
      <span className="text-[11px] font-semibold tracking-wide text-zinc-500">{line.combinator === 'all' ? 'ALL of' : 'ANY of'}</span>
      <ul className="mt-0.5 space-y-0.5 border-l border-zinc-200 pl-3">
        {line.children.map((c, i) => (
          <li key={i} data-testid={c.kind === 'rule' ? 'detection-rule' : undefined}>
            <DetectionView line={c} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** What was read from an uploaded installer (MSI properties, a .deb's control file…). */
export function ArtifactMetadata({ metadata }: { metadata: Record<string, unknown> }) {
  const rows = metadataSummary(metadata);
  const warnings = Array.isArray(metadata.warnings) ? metadata.warnings.filter((w): w is string => typeof w === 'string') : [];
  if (rows.length === 0 && warnings.length === 0) return <p className="text-xs text-zinc-500">Nothing was read from the file.</p>;
  return (
    <div className="space-y-1" data-testid="artifact-metadata">
      {rows.length ? (
        <dl className="grid grid-cols-[max-content_1fr] gap-x-3 gap-y-0.5 text-xs">
          {rows.map(([k, v]) => (
            <div key={k} className="contents">
              <dt className="text-zinc-500">{k}</dt>
              <dd className="font-mono break-all text-zinc-800" data-testid={`metadata-${k.toLowerCase().replace(/ /g, '-')}`}>
                {v}
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
      {warnings.map((w, i) => (
        <p key={i} className="text-xs text-amber-700">
          {w}
        </p>
      ))}
    </div>
  );
}

/** A package's icon (through /software/:id/icon), or nothing when it has none. */
export function PackageIcon({ pkg, size = 20 }: { pkg: { id: string; hasIcon: boolean; updatedAt: string }; size?: number }) {
  if (!pkg.hasIcon) return null;
  return (
    <img
      src={`/software/${pkg.id}/icon?v=${encodeURIComponent(pkg.updatedAt)}`}
      alt=""
      width={size}
      height={size}
      data-testid="package-icon"
      className="inline-block shrink-0 rounded-sm object-contain"
    />
  );
}
