/** /software/*: the package catalog, in the Software section. */
import { SoftwareLayout } from '~/components/software-layout';

export default SoftwareLayout;
