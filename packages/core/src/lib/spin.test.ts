import { describe, expect, it } from 'vitest';
import { SpinJudge } from './spin.js';

/** Runs `cycles` exchanges: each waits `wait(polling)` us for its frame, then works until the next receive so that the cycle lasts `cycle(polling)` us. */
function run(judge: SpinJudge, cycles: number, wait: (polling: boolean) => number, cycle: (polling: boolean) => number, clock = { ms: 0 }): boolean[] {
  const modes: boolean[] = [];
  for (let i = 0; i < cycles; i++) {
    judge.waitStarted(clock.ms);
    const polling = judge.polling;
    modes.push(polling);
    judge.frameArrived(clock.ms + wait(polling) / 1000);
    clock.ms += cycle(polling) / 1000;
  }
  return modes;
}

describe('SpinJudge', () => {
  it('keeps spinning when it shortens the cycles', () => {
    const judge = new SpinJudge(64);
    const modes = run(judge, 2000, (p) => (p ? 5 : 20), (p) => (p ? 15 : 30));
    expect(modes.slice(1000).filter(Boolean).length).toBeGreaterThan(900);
  });

  it('parks when spinning shortens the waits but lengthens the cycles (a spinner preempted later, at work)', () => {
    const judge = new SpinJudge(64);
    const modes = run(judge, 2000, (p) => (p ? 5 : 20), (p) => (p ? 60 : 30));
    expect(modes.slice(1000).filter(Boolean).length).toBeLessThan(100);
  });

  it('parks when the replies take longer than the window (the spins miss)', () => {
    const judge = new SpinJudge(64);
    const modes = run(judge, 2000, () => 3000, () => 3100);
    expect(modes.slice(1000).filter(Boolean).length).toBeLessThan(100);
  });

  it('looks again now and then, and spins again once it pays again', () => {
    const judge = new SpinJudge(64);
    const clock = { ms: 0 };
    run(judge, 2000, (p) => (p ? 5 : 20), (p) => (p ? 60 : 30), clock);
    const modes = run(judge, 4000, (p) => (p ? 5 : 20), (p) => (p ? 15 : 30), clock);
    expect(modes.slice(2000).filter(Boolean).length).toBeGreaterThan(1800);
  });
});
