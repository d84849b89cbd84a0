import type { CpuArchitecture, InstallerType, PackagePlatform } from '@opsconductor/contracts/constants';

export type PackageFormat = 'msi' | 'deb' | 'rpm' | 'msix' | 'exe' | 'ps1' | 'sh' | 'archive' | 'unknown';

/** What an uploaded installer says about itself, to prefill the depot's package form. Every string is storable text. */
export interface PackageMetadata {
  format: PackageFormat;
  installerType?: InstallerType;
  name?: string;
  version?: string;
  vendor?: string;
  description?: string;
  /** MSI, '{GUID}' upper-case */
  productCode?: string;
  upgradeCode?: string;
  /** deb Package / rpm Name */
  packageName?: string;
  architecture?: CpuArchitecture;
  platform?: PackagePlatform;
  dependencies?: string[];
  warnings: string[];
}
