// Default tree shape for new datasets. Chosen by benchmark (docs/benchmarks.md): small leaves make
// scattered updates cheap, large leaves compress better; the values here balance the two for
// person-sized records (~0.5 KiB).
import type { TreeShape } from './datasets.ts';

export const DEFAULT_TREE_SHAPE: TreeShape = {
  leafTarget: 32,
  fanout: 32,
  chunkThreshold: 65536,
  chunkMin: 16384,
  chunkAvg: 65536,
  chunkMax: 262144,
};
