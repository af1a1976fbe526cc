import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { StateCache } from '../../src/server';
import { startTestServer } from '../helpers';
import { TestRedis } from '../stores/servers';
import { needs } from '../tools';

/*
 * bullmq, unchanged: a Queue adds jobs, a Worker processes them (a job that
 * fails and is retried, a delayed job, progress), and QueueEvents follows
 * them over the events stream (XREAD BLOCK). Its Lua scripts use cjson,
 * cmsgpack, hashes, sorted sets, lists and streams; the Worker waits with
 * BZPOPMIN. The same scenario runs against redis-server 7.0 first (the
 * control: the test itself is right) and then against state-cache.
 */

async function scenario(port: number): Promise<void> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `q${Date.now()}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const attempts = new Map<string, number>();
  const worker = new Worker(name, async (job: Job) => {
    attempts.set(job.name, (attempts.get(job.name) ?? 0) + 1);
    if (job.name === 'flaky' && job.attemptsMade < 2) throw new Error(`failure ${job.attemptsMade + 1}`);
    if (job.name === 'doomed') throw new Error('doomed to fail');
    if (job.name === 'progress') {
      await job.updateProgress(50);
      await job.updateProgress(100);
    }
    return { doubled: (job.data as { n: number }).n * 2, at: Date.now() };
  }, { connection, concurrency: 2 });
  try {
    await events.waitUntilReady();
    await worker.waitUntilReady();
    const progress: unknown[] = [];
    events.on('progress', ({ data }) => progress.push(data));
    const failedEvents: string[] = [];
    events.on('failed', ({ failedReason }) => failedEvents.push(failedReason));

    // A plain job: completed with its return value, seen by QueueEvents.
    const plain = await queue.add('plain', { n: 21 });
    const plainResult = await plain.waitUntilFinished(events, 10_000) as { doubled: number };
    expect(plainResult.doubled).toBe(42);

    // A job that fails twice, with retries (backoff 100 ms, which goes through the delayed set).
    const flaky = await queue.add('flaky', { n: 1 }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    await flaky.waitUntilFinished(events, 10_000);
    expect(attempts.get('flaky')).toBe(3);
    const flakyDone = (await Job.fromId(queue, flaky.id!))!;
    expect(flakyDone.attemptsMade).toBe(3);
    expect(flakyDone.stacktrace).toHaveLength(2);
    expect(await flakyDone.getState()).toBe('completed');

    // A job that fails every time: failed after its attempts, with its reason.
    let doomedId: string | undefined;
    const doomedFailed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no failed event')), 10_000);
      worker.on('failed', (job) => {
        if (job !== undefined && job.id === doomedId && job.attemptsMade === 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const doomed = await queue.add('doomed', { n: 0 }, { attempts: 2 });
    doomedId = doomed.id;
    await doomedFailed;
    expect(attempts.get('doomed')).toBe(2);
    expect((await Job.fromId(queue, doomed.id!))!.failedReason).toBe('doomed to fail');
    expect(await (await Job.fromId(queue, doomed.id!))!.getState()).toBe('failed');

    // A delayed job: not before its delay.
    const t0 = Date.now();
    const delayed = await queue.add('delayed', { n: 5 }, { delay: 700 });
    expect(await delayed.getState()).toBe('delayed');
    const delayedResult = await delayed.waitUntilFinished(events, 10_000) as { doubled: number; at: number };
    expect(delayedResult.doubled).toBe(10);
    expect(delayedResult.at - t0).toBeGreaterThanOrEqual(650);

    // Progress reported by the job reaches QueueEvents.
    const withProgress = await queue.add('progress', { n: 2 });
    await withProgress.waitUntilFinished(events, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(progress).toEqual([50, 100]);

    const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active');
    expect(counts).toEqual({ completed: 4, failed: 1, delayed: 0, wait: 0, active: 0 });
    expect(failedEvents.length).toBeGreaterThanOrEqual(1);
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

const redis = needs('redis-server');

redis.describe('bullmq Queue, Worker and QueueEvents', () => {
  let ref: TestRedis;
  let cache: StateCache;
  beforeAll(async () => {
    // bullmq wants noeviction (it warns otherwise), as its docs say of any Redis.
    ref = await TestRedis.start(['--maxmemory-policy', 'noeviction']);
    cache = await startTestServer({ memory: { eviction: 'noeviction' } });
  }, 30_000);
  afterAll(async () => {
    await cache?.close();
    await ref?.stop();
  });

  test('against redis-server 7.0 (the control)', async () => {
    await scenario(ref.port);
  }, 60_000);

  test('against state-cache', async () => {
    await scenario(cache.respPort);
  }, 60_000);
});
