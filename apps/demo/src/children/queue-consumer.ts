import type { Queue } from '@ipc/queue';
import type { SharedArray } from '@ipc/shm';

type Item = { from: number; seq: number; text: string } | null;

export async function main(queue: Queue<Item>, taken: SharedArray<'u32'>, index: number): Promise<void> {
  const last = new Map<number, number>();
  for (;;) {
    const item = await queue.get({ timeout: 60_000 });
    if (item === null) return;
    if ((last.get(item.from) ?? -1) >= item.seq) throw new Error(`out of order: ${item.from}/${item.seq}`);
    last.set(item.from, item.seq);
    taken.add(index, 1);
  }
}
