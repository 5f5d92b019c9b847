// Default tree shape for new datasets: the tree module's defaults (docs/benchmarks.md has the
// measurements behind them; a dataset fixes its shape at declaration, in its dataset statement).
import {
  DEFAULT_CHUNK_AVG,
  DEFAULT_CHUNK_MAX,
  DEFAULT_CHUNK_MIN,
  DEFAULT_CHUNK_THRESHOLD,
  DEFAULT_FANOUT,
  DEFAULT_LEAF_TARGET,
} from '../tree/params.ts';
import type { TreeShape } from './datasets.ts';

export const DEFAULT_TREE_SHAPE: TreeShape = {
  leafTarget: DEFAULT_LEAF_TARGET,
  fanout: DEFAULT_FANOUT,
  chunkThreshold: DEFAULT_CHUNK_THRESHOLD,
  chunkMin: DEFAULT_CHUNK_MIN,
  chunkAvg: DEFAULT_CHUNK_AVG,
  chunkMax: DEFAULT_CHUNK_MAX,
};
