/** Agentless layout: targets (everyone) and their credentials (admins) beside each other. */
import { isAdmin, useOptionalUser } from '~/lib/user';
import { SectionLayout } from '~/components/section-layout';

export default function Agentless() {
  const user = useOptionalUser();
  const sections = [
    { to: '/agentless/targets', label: 'Targets' },
    // Credentials are admin-only, reading included (the API refuses everyone else).
    ...(isAdmin(user?.role) ? [{ to: '/agentless/credentials', label: 'Credentials' }] : []),
  ];
  return <SectionLayout title="Agentless" sections={sections} />;
}
