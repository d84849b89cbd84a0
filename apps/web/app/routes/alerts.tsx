/** Alerting layout: the alerts (everyone), their rules and escalation policies (everyone reads), channels (admins). */
import { isAdmin, useOptionalUser } from '~/lib/user';
import { SectionLayout } from '~/components/section-layout';

export default function Alerting() {
  const user = useOptionalUser();
  const sections = [
    { to: '/alerts', label: 'Alerts', end: true },
    { to: '/alerts/rules', label: 'Rules' },
    { to: '/alerts/policies', label: 'Escalation policies' },
    // Channels hold secrets: admin-only, reading included (the API refuses everyone else).
    ...(isAdmin(user?.role) ? [{ to: '/alerts/channels', label: 'Channels' }] : []),
  ];
  return <SectionLayout title="Alerting" sections={sections} />;
}
