/** Small, dependency-free UI primitives: neutral palette, compact and data-dense. */
import { Link, useSearchParams } from '@remix-run/react';
import {
  forwardRef,
  useEffect,
  useId,
  useState,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from 'react';
import { absoluteTime, relativeTime } from '~/lib/format';

export function cx(...classes: Array<string | false | null | undefined>): string {
  return classes.filter(Boolean).join(' ');
}

// ---- buttons ----------------------------------------------------------------------------------

type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';
const buttonVariants: Record<ButtonVariant, string> = {
  primary: 'bg-zinc-900 text-white hover:bg-zinc-700 disabled:bg-zinc-400 shadow-sm',
  secondary: 'bg-white text-zinc-800 ring-1 ring-inset ring-zinc-300 hover:bg-zinc-50 shadow-xs disabled:text-zinc-400',
  danger: 'bg-white text-red-700 ring-1 ring-inset ring-red-200 hover:bg-red-50 disabled:text-red-300',
  ghost: 'text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900',
};

export function buttonClass(variant: ButtonVariant = 'secondary', size: 'sm' | 'md' = 'md'): string {
  return cx(
    'inline-flex items-center justify-center gap-1.5 rounded-md font-medium whitespace-nowrap transition-colors',
    'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900 disabled:cursor-not-allowed',
    size === 'sm' ? 'h-7 px-2.5 text-xs' : 'h-8 px-3 text-[13px]',
    buttonVariants[variant],
  );
}

export function Button({
  variant = 'secondary',
  size = 'md',
  className,
  type = 'button',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; size?: 'sm' | 'md' }) {
  return <button type={type} className={cx(buttonClass(variant, size), className)} {...props} />;
}

// ---- form controls ------------------------------------------------------------------------------

const controlClass =
  'block rounded-md border-0 bg-white px-2.5 text-[13px] text-zinc-900 shadow-xs ring-1 ring-inset ring-zinc-300 placeholder:text-zinc-400 focus:ring-2 focus:ring-inset focus:ring-zinc-900 focus:outline-none disabled:bg-zinc-50 disabled:text-zinc-500 aria-invalid:ring-red-400';

/** Full width unless the caller sets a width (Tailwind can't let a later class override an earlier one). */
const width = (className: string | undefined) => (/(^|\s)w-/.test(className ?? '') ? undefined : 'w-full');

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement>>(function Input({ className, ...props }, ref) {
  return <input ref={ref} className={cx(controlClass, width(className), 'h-8', className)} {...props} />;
});

export function Select({ className, ...props }: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select className={cx(controlClass, width(className), 'h-8 pr-8', className)} {...props} />;
}

export function Textarea({ className, ...props }: TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <textarea className={cx(controlClass, width(className), 'py-2 font-mono text-xs leading-5', className)} {...props} />;
}

/**
 * A labelled control with its error message. The label is a real <label for>, so tests and
 * screen readers find the control by its label text.
 */
export function Field({
  label,
  error,
  hint,
  className,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  className?: string;
  children: (props: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className={cx('space-y-1', className)}>
      <label htmlFor={id} className="block text-xs font-medium text-zinc-700">
        {label}
      </label>
      {children({ id, ...(error ? { 'aria-invalid': true as const } : {}), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {error ? (
        <p id={`${id}-error`} className="text-xs text-red-600">
          {error}
        </p>
      ) : hint ? (
        <p id={`${id}-hint`} className="text-xs text-zinc-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

// ---- layout -------------------------------------------------------------------------------------

export function PageHeader({
  title,
  description,
  actions,
  children,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <div className="mb-5 flex flex-wrap items-start justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-lg font-semibold tracking-tight text-zinc-900">{title}</h1>
        {description ? <p className="mt-0.5 text-[13px] text-zinc-500">{description}</p> : null}
        {children}
      </div>
      {actions ? <div className="flex items-center gap-2">{actions}</div> : null}
    </div>
  );
}

export function Card({
  title,
  actions,
  className,
  children,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  return (
    <section className={cx('rounded-lg border border-zinc-200 bg-white shadow-xs', className)}>
      {title ? (
        <header className="flex items-center justify-between gap-2 border-b border-zinc-200 px-4 py-2.5">
          <h2 className="text-[13px] font-semibold text-zinc-900">{title}</h2>
          {actions}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function Alert({
  tone = 'error',
  title,
  children,
}: {
  tone?: 'error' | 'info' | 'success' | 'warning';
  title?: ReactNode;
  children?: ReactNode;
}) {
  const tones = {
    error: 'border-red-200 bg-red-50 text-red-800',
    info: 'border-zinc-200 bg-zinc-50 text-zinc-700',
    success: 'border-emerald-200 bg-emerald-50 text-emerald-800',
    warning: 'border-amber-200 bg-amber-50 text-amber-800',
  } as const;
  return (
    <div role={tone === 'error' ? 'alert' : 'status'} className={cx('rounded-md border px-3 py-2 text-[13px]', tones[tone])}>
      {title ? <p className="font-medium">{title}</p> : null}
      {children ? <div className={title ? 'mt-0.5' : undefined}>{children}</div> : null}
    </div>
  );
}

export function EmptyState({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="px-6 py-14 text-center">
      <p className="text-[13px] font-medium text-zinc-900">{title}</p>
      {children ? <div className="mt-1 text-[13px] text-zinc-500">{children}</div> : null}
    </div>
  );
}

// ---- tables -------------------------------------------------------------------------------------

export function Table({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <div className={cx('overflow-x-auto', className)}>
      <table className="w-full border-collapse text-left text-[13px]">{children}</table>
    </div>
  );
}

export function Th({
  children,
  className,
  ...rest
}: {
  children?: ReactNode;
  className?: string;
  'aria-sort'?: 'ascending' | 'descending' | 'none';
}) {
  return (
    <th
      {...rest}
      scope="col"
      className={cx(
        'sticky top-0 border-b border-zinc-200 bg-zinc-50/80 px-3 py-2 text-xs font-medium whitespace-nowrap text-zinc-500',
        className,
      )}
    >
      {children}
    </th>
  );
}

export function Td({ children, className, colSpan }: { children?: ReactNode; className?: string; colSpan?: number }) {
  return (
    <td colSpan={colSpan} className={cx('border-b border-zinc-100 px-3 py-2 align-middle text-zinc-700', className)}>
      {children}
    </td>
  );
}

// ---- badges ---------------------------------------------------------------------------------------

export type Tone = 'green' | 'red' | 'amber' | 'blue' | 'gray' | 'neutral';
const badgeTones: Record<Tone, { badge: string; dot: string }> = {
  green: { badge: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20', dot: 'bg-emerald-500' },
  red: { badge: 'bg-red-50 text-red-700 ring-red-600/20', dot: 'bg-red-500' },
  amber: { badge: 'bg-amber-50 text-amber-800 ring-amber-600/25', dot: 'bg-amber-500' },
  blue: { badge: 'bg-blue-50 text-blue-700 ring-blue-600/20', dot: 'bg-blue-500' },
  gray: { badge: 'bg-zinc-100 text-zinc-600 ring-zinc-500/20', dot: 'bg-zinc-400' },
  neutral: { badge: 'bg-white text-zinc-600 ring-zinc-300', dot: 'bg-zinc-300' },
};

export function Badge({
  tone,
  pulse,
  children,
  ...rest
}: { tone: Tone; pulse?: boolean; children: ReactNode } & { 'data-testid'?: string; 'data-status'?: string; title?: string }) {
  const t = badgeTones[tone];
  return (
    <span
      className={cx(
        'inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset',
        t.badge,
      )}
      {...rest}
    >
      <span className={cx('size-1.5 rounded-full', t.dot, pulse && 'animate-pulse')} aria-hidden />
      {children}
    </span>
  );
}

// ---- time -----------------------------------------------------------------------------------------

let hydrated = false;

/**
 * False during server render and hydration, true afterwards. Time zone and "now" differ between
 * server and browser, so times render in UTC first and switch to local time once hydrated.
 */
export function useHydrated(): boolean {
  const [isHydrated, setHydrated] = useState(hydrated);
  useEffect(() => {
    hydrated = true;
    setHydrated(true);
  }, []);
  return isHydrated;
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** "5 min ago", with the exact time in the tooltip; ticks every 30 s. */
export function RelativeTime({ iso, className }: { iso: string | null | undefined; className?: string }) {
  const isHydrated = useHydrated();
  const now = useNow(30_000);
  if (!iso) return <span className={cx('text-zinc-400', className)}>never</span>;
  return (
    <time dateTime={iso} title={absoluteTime(iso, isHydrated)} className={cx('whitespace-nowrap', className)} suppressHydrationWarning>
      {relativeTime(iso, now)}
    </time>
  );
}

export function AbsoluteTime({ iso, className }: { iso: string | null | undefined; className?: string }) {
  const isHydrated = useHydrated();
  if (!iso) return <span className={cx('text-zinc-400', className)}>—</span>;
  return (
    <time dateTime={iso} className={cx('whitespace-nowrap tabular-nums', className)}>
      {absoluteTime(iso, isHydrated)}
    </time>
  );
}

// ---- pagination -------------------------------------------------------------------------------------

export function Pagination({
  page,
  pageSize,
  total,
  noun = 'item',
  param = 'page',
}: {
  page: number;
  pageSize: number;
  total: number;
  noun?: string;
  /** The search parameter holding the page (two paginated lists on one page need two). */
  param?: string;
}) {
  const [params] = useSearchParams();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const hrefFor = (p: number) => {
    const next = new URLSearchParams(params);
    if (p <= 1) next.delete(param);
    else next.set(param, String(p));
    const s = next.toString();
    return s ? `?${s}` : '?';
  };
  const from = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const to = Math.min(total, page * pageSize);
  const linkClass = (disabled: boolean) => cx(buttonClass('secondary', 'sm'), disabled && 'pointer-events-none opacity-50');
  return (
    <nav aria-label="Pagination" className="flex items-center justify-between gap-3 px-3 py-2 text-xs text-zinc-500">
      <span className="tabular-nums">
        {total === 0
          ? `No ${noun}s`
          : from > total
            ? `No ${noun}s on this page (${total.toLocaleString('en-US')} in total)`
            : `${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`}
      </span>
      <span className="flex items-center gap-2">
        <span className="tabular-nums">
          Page {page} of {pages}
        </span>
        <Link to={hrefFor(page - 1)} aria-disabled={page <= 1} className={linkClass(page <= 1)} prefetch="intent">
          Previous
        </Link>
        <Link to={hrefFor(page + 1)} aria-disabled={page >= pages} className={linkClass(page >= pages)} prefetch="intent">
          Next
        </Link>
      </span>
    </nav>
  );
}

// ---- misc ---------------------------------------------------------------------------------------------

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <Button
      size="sm"
      variant="ghost"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setCopied(true));
      }}
    >
      {copied ? 'Copied' : label}
    </Button>
  );
}

export function Code({ children }: { children: ReactNode }) {
  return <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-[12px] text-zinc-800">{children}</code>;
}

/** "Parent / Child / current" trail above a page header; every element but the last links somewhere. */
export function Breadcrumb({
  trail,
  current,
  mono = false,
}: {
  trail: { to: string; label: ReactNode }[];
  current: ReactNode;
  mono?: boolean;
}) {
  return (
    <nav className="mb-2 text-xs text-zinc-500">
      {trail.map((item) => (
        <span key={item.to}>
          <Link to={item.to} className="hover:text-zinc-900">
            {item.label}
          </Link>{' '}
          /{' '}
        </span>
      ))}
      <span className={mono ? 'font-mono text-zinc-700' : 'text-zinc-700'}>{current}</span>
    </nav>
  );
}
