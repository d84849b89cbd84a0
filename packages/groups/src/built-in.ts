/** The predefined dynamic groups (all Windows, all Linux, …): created on start, their rules kept current. */
import { Prisma, type Database } from '@opsconductor/db';
import { builtInGroups } from '@opsconductor/rules';
import type { GroupMembership } from './membership.ts';

export async function ensureBuiltInGroups(db: Database, membership: GroupMembership): Promise<void> {
  const { prisma } = db;
  for (const def of builtInGroups) {
    const existing = await prisma.deviceGroup.findUnique({ where: { builtInKey: def.key } });
    if (existing && JSON.stringify(existing.rule) === JSON.stringify(def.rule)) continue;
    let id: string;
    if (existing) {
      id = (
        await prisma.deviceGroup.update({ where: { id: existing.id }, data: { rule: def.rule as object, description: def.description } })
      ).id;
    } else {
      // A user group may already use the name.
      const taken = await prisma.deviceGroup.findUnique({ where: { name: def.name } });
      try {
        id = (
          await prisma.deviceGroup.create({
            data: {
              builtInKey: def.key,
              name: taken ? `${def.name} (built-in)` : def.name,
              description: def.description,
              kind: 'dynamic',
              rule: def.rule as object,
            },
          })
        ).id;
      } catch (err) {
        // Another process created it at the same moment (or took the name): it exists, or the next start retries.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') continue;
        throw err;
      }
    }
    await membership.groupChanged(id, 'built-in group updated');
  }
}
