import type { Queue } from '@ipc/queue';

export async function main(queue: Queue<{ from: number; seq: number; text: string }>, from: number, count: number): Promise<void> {
  for (let seq = 0; seq < count; seq++) await queue.put({ from, seq, text: `item ${seq}` });
}
