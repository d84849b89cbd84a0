/** Group badges, the read-only rule view, tag chips and the group form shared by the group pages. */
import { Form, Link, useNavigation } from '@remix-run/react';
import { ruleLines, type RuleCatalog, type RuleLine, type StoredRule } from '~/lib/rule-tree';
import { RuleBuilder, type RuleError } from './rule-builder';
import { Alert, Badge, Button, Card, Field, Input, Textarea, buttonClass, cx } from './ui';

export function GroupKindBadge({ kind }: { kind: 'static' | 'dynamic' }) {
  return (
    <Badge tone={kind === 'dynamic' ? 'blue' : 'neutral'} data-testid="group-kind" data-status={kind}>
      {kind === 'dynamic' ? 'Dynamic' : 'Static'}
    </Badge>
  );
}

export function BuiltInBadge() {
  return (
    <span
      className="rounded px-1.5 py-0.5 text-[11px] font-medium text-zinc-500 ring-1 ring-zinc-200 ring-inset"
      data-testid="group-built-in"
    >
      Built-in
    </span>
  );
}

function Line({ line, root = false }: { line: RuleLine; root?: boolean }) {
  if (line.kind === 'condition') return <span className="text-zinc-800">{line.text}</span>;
  return (
    <div className={cx(!root && 'mt-1 rounded border-l-2 border-zinc-200 pl-3')}>
      <p className="text-xs font-semibold tracking-wide text-zinc-500">
        {line.negate ? <span className="mr-1 rounded bg-amber-100 px-1 text-amber-900">NOT</span> : null}
        {line.combinator === 'all' ? 'ALL of' : 'ANY of'}
      </p>
      <ul className="mt-0.5 space-y-0.5">
        {line.children.map((child, i) => (
          <li
            key={i}
            className={
              child.kind === 'condition'
                ? "relative pl-3 text-[13px] before:absolute before:left-0 before:text-zinc-400 before:content-['•']"
                : undefined
            }
          >
            <Line line={child} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A rule as readable, nested text. */
export function RuleView({ rule, catalog }: { rule: StoredRule; catalog: Pick<RuleCatalog, 'fields' | 'groups'> }) {
  const line = ruleLines(rule, catalog);
  return (
    <div data-testid="rule-view" className="text-[13px]">
      {line.kind === 'condition' ? <p>{line.text}</p> : <Line line={line} root />}
    </div>
  );
}

export function TagChips({ tags, max = 4 }: { tags: string[]; max?: number }) {
  if (tags.length === 0) return <span className="text-zinc-400">—</span>;
  const shown = tags.slice(0, max);
  return (
    <span className="inline-flex flex-wrap items-center gap-1" title={tags.join(', ')}>
      {shown.map((t) => (
        <span
          key={t}
          data-testid="tag-chip"
          className="rounded bg-zinc-100 px-1.5 py-px text-[11px] font-medium whitespace-nowrap text-zinc-700 ring-1 ring-zinc-200 ring-inset"
        >
          {t}
        </span>
      ))}
      {tags.length > shown.length ? <span className="text-[11px] text-zinc-400">+{tags.length - shown.length}</span> : null}
    </span>
  );
}

export type GroupFormData = {
  formError?: string;
  fieldErrors?: Record<string, string>;
  /** Errors in the rule, for the builder, with the rule text they belong to. */
  ruleErrors?: { rule: string; errors: RuleError[] };
};

/** Name, description and (dynamic groups) the rule builder; posts to the route's own action. */
export function GroupForm({
  kind,
  catalog,
  defaults,
  result,
  submitLabel,
  cancelTo,
}: {
  kind: 'static' | 'dynamic';
  catalog: RuleCatalog | null;
  defaults: { name: string; description: string; rule: StoredRule | null };
  result: GroupFormData | undefined;
  submitLabel: string;
  cancelTo: string;
}) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';
  const errors = result?.fieldErrors ?? {};
  return (
    <Form method="post" className="space-y-4" noValidate>
      {result?.formError ? <Alert title="The group was not saved">{result.formError}</Alert> : null}
      <Card title="Group">
        <div className="grid gap-3 p-4 md:grid-cols-[minmax(0,320px)_minmax(0,1fr)]">
          <Field label="Name" error={errors.name}>
            {(p) => <Input {...p} name="name" defaultValue={defaults.name} required maxLength={200} autoComplete="off" />}
          </Field>
          <Field label="Description" error={errors.description} hint="Optional">
            {(p) => (
              <Textarea
                {...p}
                name="description"
                defaultValue={defaults.description}
                rows={1}
                maxLength={2000}
                className="font-sans text-[13px]"
              />
            )}
          </Field>
        </div>
      </Card>
      {kind === 'dynamic' && catalog ? (
        <Card title="Membership rule">
          <div className="p-4">
            {errors.rule && !result?.ruleErrors ? (
              <div className="mb-3">
                <Alert>{errors.rule}</Alert>
              </div>
            ) : null}
            <RuleBuilder catalog={catalog} initialRule={defaults.rule} serverErrors={result?.ruleErrors ?? null} />
          </div>
        </Card>
      ) : null}
      <div className="flex items-center gap-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {submitLabel}
        </Button>
        <Link to={cancelTo} className={buttonClass('ghost')}>
          Cancel
        </Link>
      </div>
    </Form>
  );
}
