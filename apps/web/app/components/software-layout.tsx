/** The Software section's layout: the catalog, the depot's artifacts and its download sources side by side. */
import { SectionLayout } from './section-layout';

const sections = [
  { to: '/software', label: 'Catalog' },
  { to: '/depot', label: 'Depot', end: true },
  { to: '/depot/sources', label: 'Sources' },
];

export function SoftwareLayout() {
  return <SectionLayout title="Software" sections={sections} />;
}
