/**
 * Puts a command's artifacts into its work directory under their file names (a version may have several:
 * the installer first, then the files it expects next to it). The names come from a signed manifest, but
 * they still become paths on the device: only plain base names are accepted.
 */
import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactManifest } from '@opsconductor/contracts/software';

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
/** Characters Windows refuses in names (and `/` everywhere); refused on every platform so a package behaves the same on all. */
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f\u007f]/;

export class ArtifactNameError extends Error {
  override name = 'ArtifactNameError';
}

/** `name` when it is safe as a file name in a directory of the agent's choosing, on Windows and POSIX alike; else throws. */
export function safeArtifactFileName(name: string): string {
  if (name.length === 0 || name.length > 255) throw new ArtifactNameError('an artifact file name must have 1 to 255 characters');
  if (FORBIDDEN.test(name))
    throw new ArtifactNameError(
      `the artifact file name ${JSON.stringify(name)} contains a path separator or a character files may not have`,
    );
  if (name === '.' || name === '..') throw new ArtifactNameError(`the artifact file name ${JSON.stringify(name)} is not a file name`);
  // Windows drops trailing dots and spaces, so "a.exe." would land on "a.exe".
  if (/[. ]$/.test(name)) throw new ArtifactNameError(`the artifact file name ${JSON.stringify(name)} ends in a dot or space`);
  if (WINDOWS_RESERVED.test(name))
    throw new ArtifactNameError(`the artifact file name ${JSON.stringify(name)} is a reserved device name on Windows`);
  return name;
}

export interface StagedArtifact {
  manifest: ArtifactManifest;
  /** The cached artifact (FetchedArtifact.path). */
  path: string;
}

/**
 * Hard-links (or, where that fails — another volume, a filesystem without links — copies) each cached
 * artifact into `dir` under its manifest's file name, creating `dir`. Returns the staged paths in the
 * given order: the first is `{installer}`. All names are checked before anything is written; two artifacts
 * may not share a name (compared case-insensitively, as Windows does).
 *
 * A hard link shares the cache's file: the installer must not write to it (the cache notices a changed
 * size or mtime and re-verifies, but a write that keeps both would go unseen until the next download).
 */
export async function stageArtifacts(artifacts: readonly StagedArtifact[], dir: string): Promise<string[]> {
  const names = artifacts.map((artifact) => safeArtifactFileName(artifact.manifest.fileName));
  const seen = new Set<string>();
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) throw new ArtifactNameError(`two artifacts are named ${JSON.stringify(name)}`);
    seen.add(key);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const staged: string[] = [];
  for (const [i, artifact] of artifacts.entries()) {
    const target = path.join(dir, names[i]!);
    await rm(target, { force: true });
    try {
      await link(artifact.path, target);
    } catch {
      await copyFile(artifact.path, target);
    }
    staged.push(target);
  }
  return staged;
}
