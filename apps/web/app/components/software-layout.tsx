/** The Software section's layout: the catalog, the depot's artifacts and its download sources side by side. */
import { isAdmin, useOptionalUser } from '~/lib/user';
import { SectionLayout } from './section-layout';

export function SoftwareLayout() {
  const user = useOptionalUser();
  const sections = [
    { to: '/software', label: 'Catalog' },
    { to: '/depot', label: 'Depot', end: true },
    { to: '/depot/sources', label: 'Sources' },
    // Admin-only, reading included (the API refuses everyone else).
    ...(isAdmin(user?.role) ? [{ to: '/depot/signing-keys', label: 'Signing keys' }] : []),
  ];
  return <SectionLayout title="Software" sections={sections} />;
}
