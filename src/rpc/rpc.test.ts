import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, inProcessRunner, PortRunner, type FromCallee, type Transfer } from './index';
import { nodeWorkerPort } from './node-port';
import type { TestApi } from './fixtures/api';
import { testHandlers } from './fixtures/handlers';

const IMMEDIATE = ['ping', 'bytes', 'crash'] as const;
const until = async (cond: () => boolean) => { while (!cond()) await new Promise((r) => setTimeout(r, 2)); };

describe('rpc over the in-process runner', () => {
  const runner = inProcessRunner<TestApi>(testHandlers(), { immediate: IMMEDIATE, name: 'the test callee' });

  it('delivers progress events, then the result', async () => {
    const events: number[] = [];
    const r = await runner.call('count', { n: 4, ms: 1 }, (e) => events.push(e.done)).done;
    expect(r).toEqual({ counted: 4, cancelled: false, stopped: false });
    expect(events).toEqual([1, 2, 3, 4]);
  });

  it('rejects with the handler\'s message', async () => {
    await expect(runner.call('fail', { message: 'no such film' }).done).rejects.toThrow('no such film');
  });

  it('pauses, resumes and cancels a running call through control messages', async () => {
    let done = 0;
    const job = runner.call('count', { n: 1000, ms: 1 }, (e) => { done = e.done; });
    await until(() => done >= 2);
    job.control('pause');
    await new Promise((r) => setTimeout(r, 30));
    const atPause = done;
    await new Promise((r) => setTimeout(r, 40));
    // At most the unit in hand finishes after the pause.
    expect(done - atPause).toBeLessThanOrEqual(1);
    job.control('resume');
    await until(() => done > atPause + 2);
    job.control('cancel');
    const r = await job.done;
    expect(r.cancelled).toBe(true);
    expect(r.counted).toBeLessThan(1000);
  });

  it('stop ends a call with its work kept', async () => {
    let done = 0;
    const job = runner.call('count', { n: 1000, ms: 1 }, (e) => { done = e.done; });
    await until(() => done >= 3);
    job.control('stop');
    const r = await job.done;
    expect(r).toMatchObject({ stopped: true, cancelled: false });
    expect(r.counted).toBeGreaterThanOrEqual(3);
  });

  it('answers immediate methods while a long call runs; other calls queue behind it', async () => {
    const order: string[] = [];
    let done = 0;
    const long = runner.call('count', { n: 20, ms: 2 }, (e) => { done = e.done; });
    const queued = runner.call('count', { n: 1, ms: 0 });
    void long.done.then(() => order.push('long'));
    void queued.done.then(() => order.push('queued'));
    const pong = await runner.call('ping', { text: 'hi' }).done;
    order.push('ping');
    expect(pong).toEqual({ pong: 'hi' });
    expect(done).toBeLessThan(20);
    await queued.done;
    expect(order).toEqual(['ping', 'long', 'queued']);
  });

  it('control of a finished call is a no-op', async () => {
    const job = runner.call('ping', { text: 'x' });
    await job.done;
    expect(() => job.control('cancel')).not.toThrow();
  });

  it('a terminated runner rejects its pending and later calls with the reason', async () => {
    const r = inProcessRunner<TestApi>(testHandlers(), { immediate: IMMEDIATE, name: 'the test callee' });
    const job = r.call('count', { n: 1000, ms: 1 });
    r.terminate();
    await expect(job.done).rejects.toThrow('the test callee stopped: terminated');
    await expect(r.call('ping', { text: 'late' }).done).rejects.toThrow('the test callee stopped: terminated');
  });
});

describe('the dispatcher', () => {
  it('passes result transfers to its post function, answers controls with nothing, and names unknown methods', async () => {
    const posted: { msg: FromCallee; transfer?: Transfer[] }[] = [];
    const d = new Dispatcher<TestApi>(testHandlers(), (msg, transfer) => posted.push({ msg, transfer }));
    d.receive({ type: 'call', id: 1, method: 'bytes', params: { size: 16 } });
    d.receive({ type: 'control', target: 99, action: 'cancel' });
    d.receive({ type: 'call', id: 2, method: 'nope', params: {} });
    await until(() => posted.length >= 2);
    const result = posted.find((p) => p.msg.id === 1)!;
    expect(result.msg.type).toBe('result');
    expect(result.transfer).toHaveLength(1);
    expect(result.transfer![0]).toBe((result.msg as { value: { data: Uint8Array } }).value.data.buffer);
    expect(posted.find((p) => p.msg.id === 2)!.msg).toEqual({ type: 'error', id: 2, message: 'unknown method "nope"' });
    expect(posted).toHaveLength(2);
  });
});

describe('rpc over a worker thread', () => {
  const workers: PortRunner<TestApi>[] = [];
  const start = () => {
    const w = new PortRunner<TestApi>(nodeWorkerPort(new Worker(new URL('./fixtures/worker.mjs', import.meta.url))), { name: 'the test worker' });
    workers.push(w);
    return w;
  };
  afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.close())); });

  it('calls, progress, transfers and control work across the thread', async () => {
    const w = start();
    expect(await w.call('ping', { text: 'thread' }).done).toEqual({ pong: 'thread' });
    const { data } = await w.call('bytes', { size: 1000 }).done;
    expect(data).toBeInstanceOf(Uint8Array);
    expect(data.length).toBe(1000);
    expect(data[257]).toBe(1);
    // A buffer sent to the worker moves there.
    const sent = new Uint8Array(64);
    await w.call('ping', { text: 'moved' }, undefined, [sent.buffer]).done;
    expect(sent.byteLength).toBe(0);
    let done = 0;
    const job = w.call('count', { n: 1000, ms: 1 }, (e) => { done = e.done; });
    await until(() => done >= 2);
    expect((await w.call('ping', { text: 'meanwhile' }).done).pong).toBe('meanwhile');
    job.control('cancel');
    expect((await job.done).cancelled).toBe(true);
  });

  it('a worker that exits rejects every pending call with the exit code', async () => {
    const w = start();
    const stopped: string[] = [];
    w.onStopped = (why) => stopped.push(why);
    await w.call('ping', { text: 'up' }).done;
    const long = w.call('count', { n: 100_000, ms: 1 });
    const crash = w.call('crash', { how: 'exit', code: 7 });
    await expect(long.done).rejects.toThrow('the test worker stopped: exit code 7');
    await expect(crash.done).rejects.toThrow('the test worker stopped: exit code 7');
    await expect(w.call('ping', { text: 'after' }).done).rejects.toThrow('the test worker stopped: exit code 7');
    expect(stopped).toEqual(['the test worker stopped: exit code 7']);
    expect(w.inFlight).toBe(0);
  });

  it('a worker that throws an uncaught error rejects pending calls with its message', async () => {
    const w = start();
    const long = w.call('count', { n: 100_000, ms: 1 });
    void w.call('crash', { how: 'throw' }).done.catch(() => {});
    await expect(long.done).rejects.toThrow('the test worker stopped: the test worker blew up');
    expect(w.stopped).toBe('the test worker stopped: the test worker blew up');
  });
});
