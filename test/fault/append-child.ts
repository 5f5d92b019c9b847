// Child process for the kill -9 tests: appends `count` entries starting at `first` to the log in
// `dir`, and SIGKILLs itself at the `occurrence`-th time the store reaches `step` on a path of
// `kind` (tile | entries | checkpoint). Exits 0 if the point was never reached.
import { FsLogStore, type FsLogStep } from '../../src/store/fs-log-store.ts';
import { LogWriter } from '../../src/sitelog/writer.ts';
import { entry, testIdentity } from '../support/log-identity.ts';

const [dir, step, kind, occurrence, first, count] = process.argv.slice(2);
let seen = 0;
const store = new FsLogStore(dir!, {
  fault: (s: FsLogStep, path: string) => {
    const k = path === 'checkpoint' ? 'checkpoint' : path.startsWith('tile/entries/') ? 'entries' : 'tile';
    if (s === step && k === kind && ++seen === Number(occurrence)) process.kill(process.pid, 'SIGKILL');
  },
});
const writer = await LogWriter.open(store, testIdentity());
await writer.append(Array.from({ length: Number(count) }, (_, i) => entry(Number(first) + i, i % 7)));
