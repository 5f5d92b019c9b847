// The single writer of a site's log: appends entries, writes the tiles and entry bundles they
// change in C2SP tlog-tiles layout, and signs a new checkpoint. Follows the LogStore durability
// contract: every tile and bundle is put (durable) before commit() moves the checkpoint, so a
// crash at any point leaves the previous checkpoint with everything it commits to, and the next
// open() resumes from it. Leftovers of a crashed append lie beyond the checkpoint; the next
// append overwrites them, which the contract allows because no checkpoint covers them yet.
import { EmbassyError } from '../errors.ts';
import { bytesEqual, utf8 } from '../format/bytes.ts';
import { formatCheckpoint, openCheckpoint, type Checkpoint } from '../log/checkpoint.ts';
import { TreeEdge, type TileContent } from '../log/edge.ts';
import { hashLeaf } from '../log/merkle.ts';
import { signNote, type NoteSigner, type NoteVerifier } from '../log/note.ts';
import {
  TILE_WIDTH,
  formatEntryBundle,
  formatEntryBundlePath,
  formatTileHashes,
  formatTilePath,
  parseEntryBundle,
  parseTileHashes,
} from '../log/tile.ts';
import { CHECKPOINT_PATH, type LogStore } from '../store/log-store.ts';

/** The largest entry an entry bundle can frame (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 0xffff;
const WIDTH = BigInt(TILE_WIDTH);
const PUT_CONCURRENCY = 16;

export interface LogIdentity {
  origin: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
}

export interface AppendResult {
  /** Index of the first appended entry. */
  firstIndex: bigint;
  checkpoint: Checkpoint;
  /** The signed checkpoint note, as stored. */
  note: string;
}

/** What LogWriter and LogCopy share: the right edge of a tiled log and its storage. */
export interface LogState {
  edge: TreeEdge;
  /** Entries of the rightmost incomplete entry bundle. */
  bundle: Uint8Array[];
  current: { checkpoint: Checkpoint; note: string };
}

/**
 * Reads the state of an existing log: checks the checkpoint signature, reloads the right edge
 * from the partial tiles and the last partial bundle, and checks both against the root.
 * Undefined when the store has no checkpoint yet.
 */
export async function loadLogState(store: LogStore, origin: string, verifier: NoteVerifier): Promise<LogState | undefined> {
  await store.recover();
  const raw = await store.get(CHECKPOINT_PATH);
  if (raw === undefined) return undefined;
  const note = new TextDecoder().decode(raw);
  const { checkpoint } = openCheckpoint(note, verifier, [], { origin });
  const size = checkpoint.size;

  const tiles: TileContent[] = [];
  for (const coord of TreeEdge.partialTileCoords(size)) {
    const path = formatTilePath(coord);
    const bytes = await store.get(path);
    if (bytes === undefined) {
      throw new EmbassyError('log.corrupt', `log ${origin}: missing ${path} (size ${size})`);
    }
    tiles.push({ coord, hashes: parseTileHashes(bytes, coord.width) });
  }
  const edge = TreeEdge.fromPartialTiles(size, tiles);
  if (!bytesEqual(edge.root(), checkpoint.root)) {
    throw new EmbassyError('log.corrupt', `log ${origin}: right-edge tiles do not hash to the checkpoint root`);
  }

  let bundle: Uint8Array[] = [];
  const width = Number(size % WIDTH);
  if (width > 0) {
    const path = formatEntryBundlePath(size / WIDTH, width);
    const bytes = await store.get(path);
    if (bytes === undefined) throw new EmbassyError('log.corrupt', `log ${origin}: missing ${path}`);
    bundle = parseEntryBundle(bytes, width);
    const level0 = tiles.find((t) => t.coord.level === 0)!;
    bundle.forEach((e, i) => {
      if (!bytesEqual(hashLeaf(e), level0.hashes[i]!)) {
        throw new EmbassyError('log.corrupt', `log ${origin}: ${path} entry ${i} does not match its tile`);
      }
    });
  }
  return { edge, bundle, current: { checkpoint, note } };
}

/** The append step of a tiled log, without deciding who signs the checkpoint. */
export abstract class TiledAppender {
  private edge: TreeEdge;
  private bundle: Uint8Array[];
  private current: { checkpoint: Checkpoint; note: string };
  private broken = false;

  protected constructor(
    protected readonly store: LogStore,
    protected readonly origin: string,
    state: LogState,
  ) {
    this.edge = state.edge;
    this.bundle = state.bundle;
    this.current = state.current;
  }

  get checkpoint(): Checkpoint {
    return this.current.checkpoint;
  }

  get note(): string {
    return this.current.note;
  }

  /**
   * The append step with the checkpoint note made by `noteFor` from the new checkpoint: the
   * writer signs it; a copy of another site's log (LogCopy) checks that the note it was given
   * names exactly the tree the entries make, and throws from `noteFor` otherwise.
   */
  protected async extend(entries: readonly Uint8Array[], noteFor: (checkpoint: Checkpoint) => string, commitEmpty = false): Promise<AppendResult> {
    if (this.broken) throw new EmbassyError('log.corrupt', `log ${this.origin}: writer failed earlier; reopen it`);
    entries.forEach((e, i) => {
      if (e.length > MAX_ENTRY_SIZE) {
        throw new EmbassyError('input.too-large', `log entry ${i}: ${e.length} bytes, at most ${MAX_ENTRY_SIZE}`);
      }
    });
    const firstIndex = this.edge.size;
    if (entries.length === 0 && !commitEmpty) return { firstIndex, ...this.current };

    // Compute on copies; the writer's state moves only after the commit succeeded.
    const edge = this.edge.clone();
    let bundle = this.bundle.slice();
    const writes = new Map<string, Uint8Array>();
    const fullTile = (t: TileContent): void => {
      writes.set(formatTilePath(t.coord), formatTileHashes(t.hashes));
    };
    for (const entry of entries) {
      const before = edge.size;
      edge.append(hashLeaf(entry)).forEach(fullTile);
      bundle.push(entry);
      if (bundle.length === TILE_WIDTH) {
        writes.set(formatEntryBundlePath(before / WIDTH, TILE_WIDTH), formatEntryBundle(bundle));
        bundle = [];
      }
    }
    if (bundle.length > 0) {
      writes.set(formatEntryBundlePath(edge.size / WIDTH, bundle.length), formatEntryBundle(bundle));
    }
    // Partial tiles that this append changed: those whose contents now differ from before.
    const oldPartials = new Set(TreeEdge.partialTileCoords(firstIndex).map((c) => formatTilePath(c)));
    for (const t of edge.partialTiles()) {
      const path = formatTilePath(t.coord);
      if (!oldPartials.has(path)) writes.set(path, formatTileHashes(t.hashes));
    }

    const checkpoint: Checkpoint = { origin: this.origin, size: edge.size, root: edge.root(), extensions: [] };
    const note = noteFor(checkpoint);
    try {
      await putAll(this.store, writes);
      await this.store.commit(utf8.encode(note));
    } catch (e) {
      this.broken = true;
      throw e;
    }
    this.edge = edge;
    this.bundle = bundle;
    this.current = { checkpoint, note };
    return { firstIndex, checkpoint, note };
  }
}

export class LogWriter extends TiledAppender {
  private constructor(
    store: LogStore,
    private readonly id: LogIdentity,
    state: LogState,
  ) {
    super(store, id.origin, state);
  }

  /** Creates the empty log (size 0) in an empty store. */
  static async create(store: LogStore, id: LogIdentity): Promise<LogWriter> {
    if ((await store.get(CHECKPOINT_PATH)) !== undefined) {
      throw new EmbassyError('site.exists', `log ${id.origin}: a checkpoint already exists`);
    }
    const edge = TreeEdge.empty();
    const checkpoint: Checkpoint = { origin: id.origin, size: 0n, root: edge.root(), extensions: [] };
    const note = signNote(formatCheckpoint(checkpoint), [id.signer]);
    await store.commit(utf8.encode(note));
    return new LogWriter(store, id, { edge, bundle: [], current: { checkpoint, note } });
  }

  /** Opens an existing log for appending (see loadLogState for what is checked). */
  static async open(store: LogStore, id: LogIdentity): Promise<LogWriter> {
    const state = await loadLogState(store, id.origin, id.verifier);
    if (state === undefined) {
      throw new EmbassyError('site.missing', `log ${id.origin}: no checkpoint`, {
        hint: 'create the site with `embassy init`',
      });
    }
    return new LogWriter(store, id, state);
  }

  /**
   * Appends entries atomically: either all of them are committed under a new checkpoint, or
   * (on any error) none is and the previous checkpoint stays. After a failure this writer must
   * be reopened, because storage may hold uncommitted leftovers.
   */
  append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    return this.extend(entries, (checkpoint) => signNote(formatCheckpoint(checkpoint), [this.id.signer]));
  }
}

async function putAll(store: LogStore, writes: Map<string, Uint8Array>): Promise<void> {
  const queue = [...writes];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) await store.put(next[0], next[1]);
  };
  await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, queue.length) }, worker));
}

