// POST /objects: batch fetch of encrypted objects for mirrors. Request body: concatenated
// 32-byte object ids (application/octet-stream, 1..MAX_OBJECTS_PER_REQUEST). Response, streamed
// in request order: for each id, id ‖ uint32be length ‖ bytes, with length 0xFFFFFFFF and no
// bytes for an object this site does not hold. Objects are ciphertext: no key is involved, and
// the client re-checks every object against its id.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { EmbassyError } from '../errors.ts';
import type { ObjectId } from '../tree/types.ts';

export const OBJECT_ID_SIZE = 32;
export const MAX_OBJECTS_PER_REQUEST = 4096;
export const MISSING_OBJECT_LENGTH = 0xffffffff;

export interface ObjectReader {
  get(id: ObjectId): Promise<Uint8Array | undefined>;
  /** Optional batch read (PackObjectStore.getMany): undefined for absent or damaged objects. */
  getMany?(ids: readonly ObjectId[], onDamaged?: (id: ObjectId, e: unknown) => void): Promise<(Uint8Array | undefined)[]>;
}

/** Ids read per batch, and the size at which frames are handed to the socket. */
const READ_BATCH = 256;
const WRITE_CHUNK = 1024 * 1024;

/**
 * `served` counts what is sent (objects and bytes). An object this site holds but cannot read
 * intact (damaged on disk) is answered as missing, so the mirror asks another peer instead of
 * losing the whole batch.
 */
export function registerObjectRoutes(app: FastifyInstance, objects: ObjectReader, served?: (objects: number, bytes: number) => void): void {
  app.post('/objects', async (request, reply) => {
    const body = request.body;
    if (!(body instanceof Uint8Array)) {
      throw new EmbassyError('input.malformed', 'objects: expected an application/octet-stream body of object ids');
    }
    if (body.length === 0 || body.length % OBJECT_ID_SIZE !== 0) {
      throw new EmbassyError('input.malformed', `objects: body of ${body.length} bytes is not a non-empty list of 32-byte ids`);
    }
    const count = body.length / OBJECT_ID_SIZE;
    if (count > MAX_OBJECTS_PER_REQUEST) {
      throw new EmbassyError('input.too-large', `objects: ${count} ids is over ${MAX_OBJECTS_PER_REQUEST} per request`);
    }
    const ids = Array.from({ length: count }, (_, i) => new Uint8Array(body.subarray(i * OBJECT_ID_SIZE, (i + 1) * OBJECT_ID_SIZE)));
    const damaged = (id: ObjectId, e: unknown): void => {
      request.log.warn({ object: Buffer.from(id).toString('hex'), error: (e as Error).message }, 'objects: stored object unreadable, answered as missing');
    };
    const read = async (batch: ObjectId[]): Promise<(Uint8Array | undefined)[]> => {
      if (objects.getMany) return objects.getMany(batch, damaged);
      return Promise.all(
        batch.map((id) =>
          objects.get(id).catch((e: unknown) => {
            damaged(id, e);
            return undefined;
          }),
        ),
      );
    };
    // Frames are gathered into chunks of about 1 MiB: a few large socket writes, not two per object.
    async function* frames(): AsyncGenerator<Buffer> {
      let parts: Buffer[] = [];
      let size = 0;
      for (let b = 0; b < ids.length; b += READ_BATCH) {
        const batch = ids.slice(b, b + READ_BATCH);
        const got = await read(batch);
        for (let i = 0; i < batch.length; i++) {
          const bytes = got[i];
          const header = Buffer.alloc(OBJECT_ID_SIZE + 4);
          header.set(batch[i]!, 0);
          header.writeUInt32BE(bytes === undefined ? MISSING_OBJECT_LENGTH : bytes.length, OBJECT_ID_SIZE);
          parts.push(header);
          size += header.length;
          if (bytes !== undefined) {
            served?.(1, bytes.length);
            if (bytes.length > 0) parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
            size += bytes.length;
          }
          if (size >= WRITE_CHUNK) {
            yield Buffer.concat(parts, size);
            parts = [];
            size = 0;
          }
        }
      }
      if (size > 0) yield Buffer.concat(parts, size);
    }
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'no-store')
      .send(Readable.from(frames(), { objectMode: false }));
  });
}
