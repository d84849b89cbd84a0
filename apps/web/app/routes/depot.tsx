/** /depot/*: the depot's artifacts and sources, in the Software section. */
import { SoftwareLayout } from '~/components/software-layout';

export default SoftwareLayout;
