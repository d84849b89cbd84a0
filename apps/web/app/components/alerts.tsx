/** Badges and tables of the alerting pages. */
import { deliveryTone, severityLabel, severityTone, stateLabel, stateTone, type AlertSeverity, type AlertState } from '~/lib/alerts';
import { Badge, EmptyState, RelativeTime, AbsoluteTime, Table, Td, Th } from './ui';

export function SeverityBadge({ severity }: { severity: AlertSeverity }) {
  return (
    <Badge tone={severityTone[severity] ?? 'neutral'} data-testid="alert-severity" data-status={severity}>
      {severityLabel[severity] ?? severity}
    </Badge>
  );
}

export function AlertStateBadge({ state }: { state: AlertState }) {
  return (
    <Badge tone={stateTone[state] ?? 'neutral'} pulse={state === 'open'} data-testid="alert-state" data-status={state}>
      {stateLabel[state] ?? state}
    </Badge>
  );
}

export function DeliveryStatusBadge({ status }: { status: string }) {
  return (
    <Badge tone={deliveryTone[status] ?? 'neutral'} data-testid="delivery-status" data-status={status}>
      {status}
    </Badge>
  );
}

export type DeliveryRow = {
  id: string;
  channelId: string;
  kind: string;
  level: number;
  attempt: number;
  status: string;
  responseCode: number | null;
  detail: string | null;
  durationMs: number;
  occurredAt: string;
};

/** The delivery attempts of an alert or a channel; `channelName` names the channel column (omitted on a channel's page). */
export function DeliveriesTable({
  items: given,
  channelName,
}: {
  /** The generated type allows null entries (the schema is shared with a channel's nullable last delivery). */
  items: ReadonlyArray<DeliveryRow | null>;
  channelName?: (id: string) => string;
}) {
  const items = given.filter((d) => d !== null);
  if (items.length === 0) return <EmptyState title="No deliveries yet" />;
  return (
    <Table>
      <thead>
        <tr>
          {channelName ? <Th>Channel</Th> : null}
          <Th>Kind</Th>
          <Th>Level</Th>
          <Th>Attempt</Th>
          <Th>Status</Th>
          <Th>Response</Th>
          <Th>Detail</Th>
          <Th>Time</Th>
        </tr>
      </thead>
      <tbody>
        {items.map((d) => (
          <tr key={d.id} data-testid="delivery-row" data-kind={d.kind} data-status={d.status} className="align-top hover:bg-zinc-50">
            {channelName ? <Td className="text-zinc-900">{channelName(d.channelId)}</Td> : null}
            <Td className="text-zinc-600">{d.kind}</Td>
            <Td className="tabular-nums">{d.level}</Td>
            <Td className="tabular-nums">{d.attempt}</Td>
            <Td>
              <DeliveryStatusBadge status={d.status} />
            </Td>
            <Td className="font-mono text-xs">
              <span data-testid="delivery-code">{d.responseCode ?? '—'}</span>
            </Td>
            <Td className="max-w-md text-xs break-words text-zinc-600">{d.detail ?? '—'}</Td>
            <Td className="text-zinc-500">
              <span className="flex flex-col leading-tight">
                <RelativeTime iso={d.occurredAt} />
                <AbsoluteTime iso={d.occurredAt} className="text-[11px] text-zinc-400" />
              </span>
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
