import { fork } from 'node:child_process';
import { Worker, MessageChannel } from 'node:worker_threads';
import { Process } from '@ipc/core';
import { connectionConformance } from '@ipc/core/testing';
import { Pipe, channelConnection, portConnection, portPair } from '../src/index.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const MAX = 2 * 1024 * 1024;

connectionConformance('pipe in one process', async () => {
  const [a, b] = await Pipe({ maxMessageBytes: MAX });
  return { a, b };
}, { maxMessageBytes: MAX });

connectionConformance('pipe parent/child (ends passed to a relaying child)', async () => {
  const [a, up] = await Pipe({ maxMessageBytes: MAX });
  const [down, b] = await Pipe({ maxMessageBytes: MAX });
  const child = new Process(fixture('relay.mjs'), { args: [up, down] }).start();
  return {
    a,
    b,
    cleanup: async () => {
      await child[Symbol.asyncDispose]();
    },
  };
}, { maxMessageBytes: MAX });

connectionConformance('pipe child/child (bytes flow between two children)', async () => {
  const [a, up1] = await Pipe({ maxMessageBytes: MAX });
  const [mid1, mid2] = await Pipe({ maxMessageBytes: MAX });
  const [down2, b] = await Pipe({ maxMessageBytes: MAX });
  const c1 = new Process(fixture('relay.mjs'), { args: [up1, mid1] }).start();
  const c2 = new Process(fixture('relay.mjs'), { args: [mid2, down2] }).start();
  return {
    a,
    b,
    cleanup: async () => {
      await Promise.all([c1[Symbol.asyncDispose](), c2[Symbol.asyncDispose]()]);
    },
  };
}, { maxMessageBytes: MAX });

/** Two named connections over one fork channel, relayed into each other by the child. */
function forkChannelPair(serialization?: 'advanced') {
  const child = fork(fixture('channel-relay.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });
  const a = channelConnection(child, { name: 'a', serialization, maxMessageBytes: MAX });
  const b = channelConnection(child, { name: 'b', serialization, maxMessageBytes: MAX });
  return {
    a,
    b,
    cleanup: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    },
  };
}

connectionConformance('fork channel (process.send / child.send)', async () => forkChannelPair('advanced'), { maxMessageBytes: MAX });

connectionConformance('fork channel with json serialization', async () => forkChannelPair(), { maxMessageBytes: MAX });

connectionConformance('MessagePort in one thread', async () => {
  const [a, b] = portPair({ maxMessageBytes: MAX });
  return { a, b };
}, { maxMessageBytes: MAX });

connectionConformance('MessagePort through a relaying worker', async () => {
  const one = new MessageChannel();
  const two = new MessageChannel();
  const worker = new Worker(fixture('port-relay.mjs'), {
    workerData: { a: one.port2, b: two.port1 },
    transferList: [one.port2, two.port1],
  });
  const a = portConnection(one.port1, { maxMessageBytes: MAX });
  const b = portConnection(two.port2, { maxMessageBytes: MAX });
  return {
    a,
    b,
    cleanup: async () => {
      await worker.terminate();
    },
  };
}, { maxMessageBytes: MAX });
