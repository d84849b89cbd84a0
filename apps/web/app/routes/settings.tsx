/** Settings layout (admin): a sub-navigation beside the settings pages. */
import { SectionLayout } from '~/components/section-layout';

const sections = [{ to: '/settings/custom-fields', label: 'Custom fields' }];

export default function Settings() {
  return <SectionLayout title="Settings" sections={sections} />;
}
