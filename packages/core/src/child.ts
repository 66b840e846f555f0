// The bootstrap a Process or Thread runs: reads its init, then imports the user's entry.
import { isMainThread, workerData } from 'node:worker_threads';
import { runChild } from './lib/child-runtime.js';

void runChild(isMainThread, workerData);
