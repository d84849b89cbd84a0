/** Retire, rotate the secret of, or delete a device (device page). Retire: operators; the others: admins. */
import { useFetcher } from '@remix-run/react';
import { useState } from 'react';
import type { Role } from '@opsconductor/contracts/api';
import type { LifecycleResult } from '~/lib/device-lifecycle.server';
import { Alert, AbsoluteTime, Button, Card, Code, CopyButton, Input } from './ui';

type DeviceRef = { id: string; hostname: string; retiredAt: string | null };

function Failure({ result }: { result: LifecycleResult | undefined }) {
  return result && !result.ok ? (
    <p className="text-xs text-red-700" role="alert">
      {result.error}
    </p>
  ) : null;
}

function Retire() {
  const fetcher = useFetcher<LifecycleResult>();
  return (
    <fetcher.Form method="post" className="space-y-2">
      <p className="text-xs text-zinc-600">
        Stops managing it: its agent is refused from now on, it leaves every group and gets no new runs; unfinished runs on it fail.
        Inventory, history and runs stay.
      </p>
      <Button type="submit" name="intent" value="retire" size="sm" variant="danger" disabled={fetcher.state !== 'idle'}>
        Retire device
      </Button>
      <Failure result={fetcher.data} />
    </fetcher.Form>
  );
}

function RotateSecret() {
  const fetcher = useFetcher<LifecycleResult>();
  const secret = fetcher.data?.ok ? fetcher.data.deviceSecret : undefined;
  return (
    <fetcher.Form method="post" className="space-y-2">
      <p className="text-xs text-zinc-600">A new secret for the agent; the current one stops working at once and the agent stops.</p>
      {secret ? (
        <div className="space-y-2" data-testid="new-device-secret">
          <Alert tone="warning" title="Shown only now">
            Copy it to the device. It is never sent to the agent over the network.
          </Alert>
          <div className="flex items-start gap-2">
            <code className="min-w-0 flex-1 rounded bg-zinc-100 px-1.5 py-1 font-mono text-[12px] break-all text-zinc-800">{secret}</code>
            <CopyButton text={secret} />
          </div>
          <p className="text-xs text-zinc-600">
            On the device: stop the agent, run <Code>opsconductor-agent rekey</Code> and paste the secret (or set{' '}
            <Code>OPSCONDUCTOR_DEVICE_SECRET</Code>), then start the agent again.
          </p>
        </div>
      ) : (
        <Button type="submit" name="intent" value="rotate-secret" size="sm" disabled={fetcher.state !== 'idle'}>
          Rotate secret
        </Button>
      )}
      <Failure result={fetcher.data} />
    </fetcher.Form>
  );
}

function Delete({ device }: { device: DeviceRef }) {
  const fetcher = useFetcher<LifecycleResult>();
  const [typed, setTyped] = useState('');
  return (
    <fetcher.Form method="post" className="space-y-2">
      <p className="text-xs text-zinc-600">
        Deletes the device with its inventory, history and group memberships. Runs keep its hostname. This cannot be undone.
      </p>
      <Input
        name="confirm"
        value={typed}
        onChange={(e) => setTyped(e.currentTarget.value)}
        placeholder={device.hostname}
        aria-label={`Type ${device.hostname} to confirm`}
        autoComplete="off"
        className="h-7! text-xs!"
      />
      <Button
        type="submit"
        name="intent"
        value="delete"
        size="sm"
        variant="danger"
        disabled={typed !== device.hostname || fetcher.state !== 'idle'}
      >
        Delete device
      </Button>
      <Failure result={fetcher.data} />
    </fetcher.Form>
  );
}

export function DeviceLifecycleCard({ device, role }: { device: DeviceRef; role: Role | undefined }) {
  const admin = role === 'admin';
  const operator = admin || role === 'operator';
  if (!operator) return null;
  return (
    <Card title="Lifecycle">
      <div className="space-y-4 p-3" data-testid="device-lifecycle">
        {device.retiredAt ? (
          <p className="text-xs text-zinc-600">
            Retired <AbsoluteTime iso={device.retiredAt} />. Its agent is no longer accepted.
          </p>
        ) : (
          <>
            <Retire />
            {admin ? <RotateSecret /> : null}
          </>
        )}
        {admin ? <Delete device={device} /> : null}
      </div>
    </Card>
  );
}
