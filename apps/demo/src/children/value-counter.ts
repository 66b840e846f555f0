import type { SharedArray, Value } from '@ipc/shm';

export function main(counter: Value<'i32'>, perWorker: SharedArray<'u32'>, index: number, times: number): void {
  for (let i = 0; i < times; i++) {
    counter.add(1);
    perWorker.add(index, 1);
  }
}
