import type { CpuArchitecture, InstallerType, PackagePlatform } from '@opsconductor/contracts/constants';

/** The exe installer frameworks whose silent arguments packages/software knows (createPackageVersionBody's `installerFramework`). */
export type InstallerFramework = 'inno' | 'nsis' | 'burn' | 'installshield';

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
  /** MSI SummaryInformation's revision number: this build's package code, '{GUID}' upper-case */
  packageCode?: string;
  /** MSI SummaryInformation's page count: the Windows Installer version it needs ×100 (200 = 2.0, 500 = 5.0) */
  minimumInstallerVersion?: number;
  /** MSI SummaryInformation's word count, bit 1: the files are compressed (in cabinets) */
  compressed?: boolean;
  /** MSI SummaryInformation's word count, bit 3 clear: installing needs elevated privileges (a per-machine package) */
  elevationRequired?: boolean;
  /** LCIDs: an MSI's Template languages; a PE's first version-resource language */
  languages?: number[];
  /** PE: the version resource's fixed FileVersion, a.b.c.d */
  fileVersion?: string;
  /** PE: the version resource's OriginalFilename */
  originalFileName?: string;
  /** PE: the version resource's LegalCopyright */
  copyright?: string;
  /** PE: 'pe32' (32-bit image) or 'pe32+' (64-bit image) */
  peFormat?: 'pe32' | 'pe32+';
  /** PE: the installer framework whose markers the file carries (picks the silent arguments) */
  installerFramework?: InstallerFramework;
  /** deb Package / rpm Name */
  packageName?: string;
  architecture?: CpuArchitecture;
  platform?: PackagePlatform;
  dependencies?: string[];
  warnings: string[];
}
