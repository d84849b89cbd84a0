import type { SectionCollectors } from '../types.ts';
import { collectDirectory } from './directory.ts';
import { collectHardware } from './hardware.ts';
import { collectPerformance } from './performance.ts';
import { collectSecurity } from './security.ts';
import { collectServices } from './services.ts';
import { collectSoftware } from './software.ts';
import { collectSystem } from './system.ts';

export const linuxCollectors: SectionCollectors = {
  system: collectSystem,
  hardware: collectHardware,
  directory: collectDirectory,
  software: collectSoftware,
  services: collectServices,
  security: collectSecurity,
  performance: collectPerformance,
};
