export { InventoryService, type InventoryServiceDeps, type IngestResult } from './ingest.ts';
export { diffSection, softwareChanges, type InventoryChange, type InventoryEventKind } from './history.ts';
