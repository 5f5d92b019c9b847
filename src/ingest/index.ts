// Ingest (DESIGN.md §4): source files and change files → records and changes in key order.
// The one entry point other modules import from; the files behind it are free to move.
export { NdjsonReading, readSource, sourceFormatOf, type ReadSourceOptions, type SourceFormat } from './source.ts';
export { readChanges, readChangesInFileOrder, type ReadChangesOptions } from './changes.ts';
export { sortRecords, sortChanges, DEFAULT_SORT_MEMORY_BYTES, type SortOptions, type SortRecordsOptions, type SourceChange } from './sort.ts';
export { DEFAULT_MAX_RECORD_BYTES, sourceChangedError, type SourceRecord, type PositionUnit } from './record.ts';
export { compileKeySpec, extractKey, COMPOSITE_KEY_SEPARATOR, type KeySpec } from './key.ts';
