// Child process for the pack store's kill -9 tests. Mode `write`: puts objects 0..count-1,
// flushing every `every` puts and printing "flushed <n>" once a flush has resolved. Mode `gc`:
// sweeps the store with the isLive of pack-fault-plan.ts. Either way it SIGKILLs itself at the
// `occurrence`-th time the store reaches `step`, and exits 0 if it never does.
import { writeSync } from 'node:fs';
import { PackObjectStore, type PackStep } from '../../src/store/pack-store.ts';
import { isLiveInPlan, planObject, TARGET_PACK_SIZE } from './pack-fault-plan.ts';

const [dir, mode, step, occurrence, count, every] = process.argv.slice(2);
let seen = 0;
const store = await PackObjectStore.open(dir!, {
  targetPackSize: TARGET_PACK_SIZE,
  fault: (s: PackStep) => {
    if (s === step && ++seen === Number(occurrence)) process.kill(process.pid, 'SIGKILL');
  },
});
if (mode === 'write') {
  for (let i = 0; i < Number(count); i++) {
    const o = planObject(i);
    await store.put(o.id, o.bytes);
    if ((i + 1) % Number(every) === 0) {
      await store.flush();
      writeSync(1, `flushed ${i + 1}\n`);
    }
  }
  await store.flush();
  writeSync(1, `flushed ${count}\n`);
} else {
  await store.collectGarbage(isLiveInPlan);
}
await store.close();
