/**
 * /agentless/targets — machines without an agent, reached over SSH or WinRM: protocol, address, credential, the pinned
 * host key, the last connection and error. Everyone reads it; admins add, edit and remove (a target decides where a
 * credential's secret is sent).
 */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { hostPort } from '~/lib/agentless';
import { pluralize } from '~/lib/format';
import { canRunCommands, isAdmin, useOptionalUser } from '~/lib/user';
import { ConfirmAction, ConnectionState, HostKey, ProtocolBadge } from '~/components/agentless';
import { Alert, Badge, Card, EmptyState, PageHeader, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Agentless targets · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const { items } = await api.get('/agentless-targets');
  return { items };
}

export default function AgentlessTargets() {
  const { items } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const admin = isAdmin(user?.role);
  const canRun = canRunCommands(user?.role);
  const [sp] = useSearchParams();
  const created = sp.get('created');
  const removed = sp.get('removed');
  return (
    <>
      <PageHeader
        title="Agentless targets"
        description={`${pluralize(items.length, 'target')} · machines without an agent, reached over SSH or WinRM; shell, script and file copy steps run on them`}
        actions={
          admin ? (
            <Link to="/agentless/targets/new" className={buttonClass('primary')}>
              Add target
            </Link>
          ) : null
        }
      />
      {created ? (
        <div className="mb-4">
          <Alert tone="success">
            Added the target. It is a device now: run jobs on it, put it in groups, tag it.
            {items.some((t) => t.id === created && t.ssh && !t.ssh.hostKey) ? ' Its first connection pins the host key it sees.' : ''}
          </Alert>
        </div>
      ) : null}
      {removed !== null ? (
        <div className="mb-4">
          <Alert tone="success">
            Removed {removed ? `“${removed}”` : 'the target'}: its device is retired, its runs stay in the history.
          </Alert>
        </div>
      ) : null}
      <Card>
        {items.length === 0 ? (
          <EmptyState title="No agentless targets">
            {admin ? 'Add a machine reached over SSH or WinRM; first add the credential it logs in with.' : 'Admins add them.'}
          </EmptyState>
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Protocol</Th>
                <Th>Address</Th>
                <Th>Credential</Th>
                <Th>Host key / TLS</Th>
                <Th>Connection</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr
                  key={t.id}
                  data-testid="agentless-target-row"
                  data-target-id={t.id}
                  className={created === t.id ? 'bg-emerald-50/50' : 'hover:bg-zinc-50'}
                >
                  <Td>
                    <Link to={`/devices/${t.id}`} className="font-medium text-zinc-900 hover:underline" data-testid="target-name">
                      {t.name}
                    </Link>
                    <p className="text-xs text-zinc-500">{t.osFamily}</p>
                  </Td>
                  <Td>
                    <ProtocolBadge protocol={t.protocol} />
                  </Td>
                  <Td>
                    <span className="font-mono text-xs" data-testid="target-address">
                      {hostPort(t.host, t.port)}
                    </span>
                    {t.winrm ? <p className="font-mono text-[11px] text-zinc-500">{t.winrm.endpoint}</p> : null}
                  </Td>
                  <Td>
                    <span data-testid="target-credential">
                      {admin ? (
                        <Link to={`/agentless/credentials/${t.credential.id}`} className="text-zinc-800 hover:underline">
                          {t.credential.name}
                        </Link>
                      ) : (
                        <span className="text-zinc-800">{t.credential.name}</span>
                      )}
                      <span className="text-xs text-zinc-500"> · {t.credential.username}</span>
                    </span>
                  </Td>
                  <Td>
                    {t.ssh ? (
                      <HostKey fingerprint={t.ssh.hostKey} />
                    ) : t.winrm ? (
                      <span className="flex flex-wrap gap-1" data-testid="target-tls">
                        {t.winrm.https ? (
                          t.winrm.verifyTls ? (
                            <Badge tone="green">TLS verified</Badge>
                          ) : (
                            <Badge tone="amber" title="Certificate verification is off">
                              TLS not verified
                            </Badge>
                          )
                        ) : (
                          <Badge tone={t.winrm.auth === 'basic' ? 'red' : 'amber'} title="Plain HTTP">
                            HTTP
                          </Badge>
                        )}
                        <Badge tone="neutral">{t.winrm.auth === 'basic' ? 'Basic' : 'NTLM'}</Badge>
                      </span>
                    ) : null}
                  </Td>
                  <Td>
                    <ConnectionState lastConnectedAt={t.lastConnectedAt} lastError={t.lastError} lastErrorAt={t.lastErrorAt} />
                  </Td>
                  <Td className="text-right">
                    <span className="inline-flex items-center gap-1">
                      {canRun ? (
                        <Link
                          to={`/devices/${t.id}`}
                          className={buttonClass('ghost', 'sm')}
                          title="The device page runs a command on it; a saved job runs on it from the job's Run page"
                        >
                          Run command
                        </Link>
                      ) : null}
                      {admin ? (
                        <>
                          <Link
                            to={`/agentless/targets/${t.id}/edit`}
                            className={buttonClass('secondary', 'sm')}
                            aria-label={`Edit ${t.name}`}
                          >
                            Edit
                          </Link>
                          <ConfirmAction
                            intent="remove"
                            action={`/agentless/targets/${t.id}/edit`}
                            label="Remove"
                            confirmLabel="Confirm remove"
                            question={`Remove “${t.name}”? Its device is retired.`}
                            size="sm"
                          />
                        </>
                      ) : null}
                    </span>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
